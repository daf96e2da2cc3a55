"""dockprov.lab.debian: the Debian archive's trust chain (InRelease -> Packages -> .deb), offline."""

from __future__ import annotations

import hashlib
import lzma
import os
import subprocess
from pathlib import Path

import pytest

from dockprov.lab import debian
from dockprov.lab.debian import Archive, ArchiveError

PACKAGES = """\
Package: docker.io
Version: 20.10.24+dfsg1-1+b3
Architecture: amd64
Filename: pool/main/d/docker.io/docker.io_20.10.24+dfsg1-1+b3_amd64.deb
Size: 100
SHA256: 1111111111111111111111111111111111111111111111111111111111111111
Description: Linux container runtime

Package: runc
Version: 1.1.5+ds1-1+deb12u1
Architecture: amd64
Filename: pool/main/r/runc/runc_1.1.5+ds1-1+deb12u1_amd64.deb
Size: 200
SHA256: 2222222222222222222222222222222222222222222222222222222222222222
Description: Open Container Project - runtime
"""

RELEASE = """\
Origin: Debian
Label: Debian
Suite: stable
Codename: bookworm
Architectures: amd64
Components: main
SHA256:
 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa     1234 main/binary-amd64/Packages
 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb      567 main/binary-amd64/Packages.xz
"""


def clearsign(signing_key, text: str) -> bytes:
    env = {**os.environ, "GNUPGHOME": str(signing_key.gnupghome)}
    return subprocess.run(
        ["gpg", "--batch", "--local-user", signing_key.fingerprint, "--clearsign"],
        input=text.encode(), env=env, check=True, capture_output=True,
    ).stdout


# --- parsing ---------------------------------------------------------------------------------------------
def test_parse_packages():
    refs = debian.parse_packages(PACKAGES, "bookworm")
    assert set(refs) == {"docker.io", "runc"}
    ref = refs["docker.io"]
    assert ref == debian.PackageRef("docker.io", "20.10.24+dfsg1-1+b3",
                                    "pool/main/d/docker.io/docker.io_20.10.24+dfsg1-1+b3_amd64.deb", "1" * 64,
                                    "bookworm")
    assert refs["runc"].sha256 == "2" * 64 and refs["runc"].suite == "bookworm"
    assert debian.parse_packages("", "trixie") == {}


def test_index_sha256():
    assert debian.index_sha256(RELEASE.encode(), "main/binary-amd64/Packages.xz") == "b" * 64
    assert debian.index_sha256(RELEASE.encode(), "main/binary-amd64/Packages") == "a" * 64
    with pytest.raises(ArchiveError, match="not listed"):
        debian.index_sha256(RELEASE.encode(), "contrib/binary-amd64/Packages.xz")
    with pytest.raises(ArchiveError):
        debian.index_sha256(b"Origin: Debian\n", "main/binary-amd64/Packages.xz")


def test_archive_url(tmp_path: Path):
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
    )
    assert debian.archive_url(sources) == "http://mirror.example/debian"
    assert debian.archive_url(tmp_path / "missing") == debian.DEFAULT_ARCHIVE


# --- signatures ------------------------------------------------------------------------------------------
def test_verify_inrelease_returns_signed_text(signing_key):
    signed = clearsign(signing_key, RELEASE)
    assert debian.verify_inrelease(signed, keyring=signing_key.keyring).decode() == RELEASE


def test_verify_inrelease_rejects_tampered_text(signing_key):
    signed = clearsign(signing_key, RELEASE)
    tampered = signed.replace(b"Codename: bookworm", b"Codename: bookwurm")
    assert tampered != signed
    with pytest.raises(ArchiveError, match=r"(?s)signature check failed.*BAD signature"):
        debian.verify_inrelease(tampered, keyring=signing_key.keyring)


def test_verify_inrelease_rejects_tampered_hash(signing_key):
    signed = clearsign(signing_key, RELEASE)
    tampered = signed.replace(b"b" * 64, b"c" * 64)
    with pytest.raises(ArchiveError, match="BAD signature"):
        debian.verify_inrelease(tampered, keyring=signing_key.keyring)


def test_verify_inrelease_rejects_other_key_and_unsigned(signing_key):
    other = Path(__file__).resolve().parent.parent / "fixtures/keys/other-rsa-test.gpg"
    with pytest.raises(ArchiveError):
        debian.verify_inrelease(clearsign(signing_key, RELEASE), keyring=other)
    with pytest.raises(ArchiveError):
        debian.verify_inrelease(RELEASE.encode(), keyring=signing_key.keyring)


# --- the whole chain, with _download served from memory -------------------------------------------------
@pytest.fixture
def fake_archive(signing_key, monkeypatch, tmp_path: Path):
    deb = b"!<arch>\nnot really a deb\n"
    packages = PACKAGES.replace("1" * 64, hashlib.sha256(deb).hexdigest())
    packages_xz = lzma.compress(packages.encode())
    release = RELEASE.replace("b" * 64, hashlib.sha256(packages_xz).hexdigest())
    url = "http://archive.invalid/debian"
    served = {
        f"{url}/dists/bookworm/InRelease": clearsign(signing_key, release),
        f"{url}/dists/bookworm/main/binary-amd64/Packages.xz": packages_xz,
        f"{url}/pool/main/d/docker.io/docker.io_20.10.24+dfsg1-1+b3_amd64.deb": deb,
    }
    real_verify = debian.verify_inrelease
    monkeypatch.setattr(debian, "verify_inrelease",
                        lambda data, _keyring: real_verify(data, keyring=signing_key.keyring))

    def download(u: str, timeout: int = 120) -> bytes:
        if u not in served:
            raise ArchiveError(f"cannot download {u}")
        return served[u]

    monkeypatch.setattr(debian, "_download", download)
    return served, Archive(tmp_path / "cache", url=url + "/"), deb


def test_archive_fetch_checks_the_chain(fake_archive, tmp_path: Path):
    _served, archive, deb = fake_archive
    ref, path = archive.fetch("bookworm", "docker.io")
    assert ref.version == "20.10.24+dfsg1-1+b3"
    assert path.read_bytes() == deb
    assert path.parent == tmp_path / "cache" / ref.sha256[:16]
    with pytest.raises(ArchiveError, match="not in Debian bookworm"):
        archive.fetch("bookworm", "docker-ce")


def test_archive_rejects_tampered_packages_index(fake_archive):
    served, archive, _deb = fake_archive
    key = next(k for k in served if k.endswith("Packages.xz"))
    served[key] = lzma.compress(PACKAGES.replace("runc", "runx").encode())
    with pytest.raises(ArchiveError, match="SHA256 mismatch"):
        archive.index("bookworm")


def test_archive_rejects_tampered_deb(fake_archive):
    served, archive, _deb = fake_archive
    key = next(k for k in served if k.endswith(".deb"))
    served[key] += b"x"
    with pytest.raises(ArchiveError, match="SHA256 mismatch"):
        archive.fetch("bookworm", "docker.io")


def test_archive_rejects_tampered_inrelease(fake_archive):
    served, archive, _deb = fake_archive
    key = next(k for k in served if k.endswith("InRelease"))
    served[key] = served[key].replace(b"Suite: stable", b"Suite: stabel")
    with pytest.raises(ArchiveError, match="signature check failed"):
        archive.index("bookworm")
