"""Lay out and sign an apt repository the way download.docker.com does.

    linux/<distro>/gpg                                          armored signing key
    linux/<distro>/dists/<codename>/{InRelease,Release,Release.gpg}
    linux/<distro>/dists/<codename>/<channel>/binary-<arch>/Packages(.gz)
    linux/<distro>/dists/<codename>/pool/<channel>/<arch>/*.deb
    docker-ce/linux/...                                         the China mirrors' layout (same tree)
"""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

CHANNELS = ("stable", "test")


def dist_dir(root: Path, distro: str, codename: str) -> Path:
    return root / "linux" / distro / "dists" / codename


def pool_dir(root: Path, distro: str, codename: str, arch: str, channel: str = "stable") -> Path:
    return dist_dir(root, distro, codename) / "pool" / channel / arch


def release_options(codename: str, arch: str) -> list[str]:
    """apt-ftparchive settings that make the Release file look like Docker's."""
    fields = {
        "Origin": "Docker",
        "Label": "Docker CE",
        "Suite": codename,
        "Codename": codename,
        "Architectures": arch,
        "Components": " ".join(CHANNELS),
        "Description": "dockprov lab mirror (stand-in for download.docker.com)",
    }
    return [f"-oAPT::FTPArchive::Release::{key}={value}" for key, value in fields.items()]


def build_dist(root: Path, distro: str, codename: str, arch: str) -> None:
    """Write Packages for every channel and the Release file of one dists/<codename>."""
    base = root / "linux" / distro
    dist = dist_dir(root, distro, codename)
    # The test channel lists the same builds as stable (its Packages point into pool/stable).
    pool = pool_dir(root, distro, codename, arch)
    pool.mkdir(parents=True, exist_ok=True)
    for channel in CHANNELS:
        index_dir = dist / channel / f"binary-{arch}"
        index_dir.mkdir(parents=True, exist_ok=True)
        packages = subprocess.run(
            ["apt-ftparchive", "packages", str(pool.relative_to(base))],
            cwd=base, check=True, capture_output=True, text=True,
        ).stdout
        (index_dir / "Packages").write_text(packages)
        (index_dir / "Packages.gz").write_bytes(gzip.compress(packages.encode(), mtime=0))
    for stale in ("Release", "InRelease", "Release.gpg"):  # never list an old Release in the new one
        (dist / stale).unlink(missing_ok=True)
    release = subprocess.run(
        ["apt-ftparchive", *release_options(codename, arch), "release", "."],
        cwd=dist, check=True, capture_output=True, text=True,
    ).stdout
    (dist / "Release").write_text(release)


def sign_dist(root: Path, distro: str, codename: str, gnupghome: Path, fingerprint: str) -> None:
    dist = dist_dir(root, distro, codename)
    env = {**os.environ, "GNUPGHOME": str(gnupghome)}
    for out, mode in (("InRelease", "--clearsign"), ("Release.gpg", "--detach-sign")):
        target = dist / out
        target.unlink(missing_ok=True)
        subprocess.run(
            ["gpg", "--batch", "--yes", "--local-user", fingerprint, "--armor", mode,
             "--output", str(target), str(dist / "Release")],
            env=env, check=True, capture_output=True,
        )


def write_key(root: Path, distro: str, armored_key: str) -> None:
    (root / "linux" / distro).mkdir(parents=True, exist_ok=True)
    (root / "linux" / distro / "gpg").write_text(armored_key)


def link_china_layout(root: Path) -> None:
    """mirrors.ustc.edu.cn and friends serve the same tree under /docker-ce/."""
    link = root / "docker-ce"
    if not link.is_symlink():
        link.symlink_to(".")


def build_flat(repo: Path, options: list[str]) -> None:
    """Packages(.gz) and Release of a flat repository (``deb <uri> /``): the .debs sit next to the index."""
    packages = subprocess.run(
        ["apt-ftparchive", "packages", "."], cwd=repo, check=True, capture_output=True, text=True,
    ).stdout
    (repo / "Packages").write_text(packages)
    (repo / "Packages.gz").write_bytes(gzip.compress(packages.encode(), mtime=0))
    for stale in ("Release", "InRelease", "Release.gpg"):
        (repo / stale).unlink(missing_ok=True)
    release = subprocess.run(
        ["apt-ftparchive", *options, "release", "."], cwd=repo, check=True, capture_output=True, text=True,
    ).stdout
    (repo / "Release").write_text(release)


def sign_release(directory: Path, gnupghome: Path, fingerprint: str) -> None:
    """InRelease and Release.gpg for the Release file in ``directory``."""
    env = {**os.environ, "GNUPGHOME": str(gnupghome)}
    for out, mode in (("InRelease", "--clearsign"), ("Release.gpg", "--detach-sign")):
        target = directory / out
        target.unlink(missing_ok=True)
        subprocess.run(
            ["gpg", "--batch", "--yes", "--local-user", fingerprint, "--armor", mode,
             "--output", str(target), str(directory / "Release")],
            env=env, check=True, capture_output=True,
        )
