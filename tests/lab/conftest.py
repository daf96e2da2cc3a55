"""Shared fixtures of the lab tests: a throwaway signing key and a builder of tiny .deb files."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockprov.lab import gpgkey

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TEST_KEY_UID = "dockprov lab test <lab-test@dockprov.invalid>"


@dataclass(frozen=True)
class SigningKey:
    gnupghome: Path
    fingerprint: str
    keyring: Path  # binary export of the public key, for gpgv --keyring
    armored: str


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory):
    gnupghome = tmp_path_factory.mktemp("gnupg")
    gnupghome.chmod(0o700)
    fpr = gpgkey.ensure_key(gnupghome, TEST_KEY_UID)
    keyring = gnupghome.parent / "lab-test-key.gpg"
    env = {**os.environ, "GNUPGHOME": str(gnupghome)}
    keyring.write_bytes(
        subprocess.run(["gpg", "--batch", "--export", fpr], env=env, check=True, capture_output=True).stdout
    )
    yield SigningKey(gnupghome, fpr, keyring, gpgkey.export_armored(gnupghome, fpr))
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)


def build_deb(
    out: Path,
    package: str,
    version: str,
    files: dict[str, str],
    *,
    conffiles: tuple[str, ...] = (),
    scripts: dict[str, str] | None = None,
    installed_size: str = "42",
) -> Path:
    """A tiny .deb made with dpkg-deb: `files` maps paths (relative to /) to their text."""
    root = out.with_name(out.name + ".root")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755 if "/bin/" in f"/{rel}" or "init.d" in rel else 0o644)
    debian = root / "DEBIAN"
    debian.mkdir(parents=True, exist_ok=True)
    (debian / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: amd64\n"
        f"Maintainer: Debian Go Packaging Team <team+pkg-go@tracker.debian.org>\n"
        f"Installed-Size: {installed_size}\nDepends: libc6\nDescription: test package {package}\n"
        f" A tiny stand-in for Debian's {package}.\n"
    )
    if conffiles:
        (debian / "conffiles").write_text("".join(f"{c}\n" for c in conffiles))
    # A deliberately stale md5sums: the repack must regenerate it.
    (debian / "md5sums").write_text("00000000000000000000000000000000  usr/bin/stale\n")
    for name, text in (scripts or {}).items():
        (debian / name).write_text(text)
        (debian / name).chmod(0o755)
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(root), str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture
def make_deb(tmp_path: Path):
    """build_deb into this test's tmp_path: make_deb(name, package, version, files, ...)."""
    debs = tmp_path / "debs"
    debs.mkdir()

    def make(name: str, package: str, version: str, files: dict[str, str], **kwargs) -> Path:
        return build_deb(debs / name, package, version, files, **kwargs)

    return make
