"""dockprov.lab.aptrepo: a download.docker.com-style repository, built and signed for real (no docker)."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Packages, Release

from dockprov.lab import aptrepo

DISTRO, CODENAME, ARCH = "debian", "bookworm", "amd64"


@pytest.fixture
def repo(tmp_path: Path, make_deb, signing_key) -> Path:
    root = tmp_path / "repo"
    pool = aptrepo.pool_dir(root, DISTRO, CODENAME, ARCH)
    pool.mkdir(parents=True)
    for version in ("5:20.10.24-1~debian.12~bookworm", "5:26.1.5-1~debian.12~bookworm"):
        upstream = version.split(":")[1]
        deb = make_deb(f"docker-ce_{upstream}_{ARCH}.deb", "docker-ce", version, {"usr/bin/dockerd": version})
        deb.rename(pool / deb.name)
    aptrepo.build_dist(root, DISTRO, CODENAME, ARCH)
    aptrepo.sign_dist(root, DISTRO, CODENAME, signing_key.gnupghome, signing_key.fingerprint)
    aptrepo.write_key(root, DISTRO, signing_key.armored)
    aptrepo.link_china_layout(root)
    return root


def _gpgv(keyring: Path, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["gpgv", "--keyring", str(keyring), *map(str, files)], capture_output=True, text=True)


def test_layout(repo: Path):
    dist = repo / "linux/debian/dists/bookworm"
    assert aptrepo.dist_dir(repo, DISTRO, CODENAME) == dist
    for name in ("InRelease", "Release", "Release.gpg"):
        assert (dist / name).is_file(), name
    for channel in ("stable", "test"):
        assert (dist / channel / "binary-amd64/Packages").is_file()
        assert (dist / channel / "binary-amd64/Packages.gz").is_file()
    pool = dist / "pool/stable/amd64"
    assert sorted(p.name for p in pool.iterdir()) == [
        "docker-ce_20.10.24-1~debian.12~bookworm_amd64.deb", "docker-ce_26.1.5-1~debian.12~bookworm_amd64.deb"]
    assert (repo / "linux/debian/gpg").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_china_layout_resolves_to_the_same_files(repo: Path):
    for rel in ("linux/debian/dists/bookworm/InRelease", "linux/debian/gpg",
                "linux/debian/dists/bookworm/pool/stable/amd64/docker-ce_26.1.5-1~debian.12~bookworm_amd64.deb"):
        china = repo / "docker-ce" / rel
        assert china.is_file()
        assert china.resolve() == (repo / rel).resolve()
        assert china.read_bytes() == (repo / rel).read_bytes()
    # linking twice is harmless
    aptrepo.link_china_layout(repo)
    assert (repo / "docker-ce").readlink() == Path(".")


def test_packages_indexes(repo: Path):
    dist = repo / "linux/debian/dists/bookworm"
    stable = (dist / "stable/binary-amd64/Packages").read_text()
    assert (dist / "test/binary-amd64/Packages").read_text() == stable
    assert gzip.decompress((dist / "stable/binary-amd64/Packages.gz").read_bytes()).decode() == stable
    paras = list(Packages.iter_paragraphs(stable, use_apt_pkg=False))
    assert sorted(p["Version"] for p in paras) == ["5:20.10.24-1~debian.12~bookworm", "5:26.1.5-1~debian.12~bookworm"]
    for para in paras:
        # Filename is relative to linux/<distro>/, as on download.docker.com
        assert para["Filename"].startswith("dists/bookworm/pool/stable/amd64/docker-ce_")
        deb = repo / "linux/debian" / para["Filename"]
        assert hashlib.sha256(deb.read_bytes()).hexdigest() == para["SHA256"]


def test_release_fields(repo: Path):
    dist = repo / "linux/debian/dists/bookworm"
    release = Release((dist / "Release").read_text())
    assert release["Origin"] == "Docker"
    assert release["Label"] == "Docker CE"
    assert release["Suite"] == release["Codename"] == "bookworm"
    assert release["Components"] == "stable test"
    assert release["Architectures"] == "amd64"
    listed = {e["name"]: e for e in release["SHA256"]}
    assert set(listed) == {f"{c}/binary-amd64/{f}" for c in ("stable", "test") for f in ("Packages", "Packages.gz")}
    for name, entry in listed.items():
        data = (dist / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert int(entry["size"]) == len(data)


def test_release_does_not_list_itself_after_a_rebuild(repo: Path):
    aptrepo.build_dist(repo, DISTRO, CODENAME, ARCH)
    names = {e["name"] for e in Release((repo / "linux/debian/dists/bookworm/Release").read_text())["SHA256"]}
    assert not names & {"Release", "InRelease", "Release.gpg"}


def test_signatures_verify(repo: Path, signing_key):
    dist = repo / "linux/debian/dists/bookworm"
    proc = _gpgv(signing_key.keyring, dist / "InRelease")
    assert proc.returncode == 0, proc.stderr
    assert "Good signature" in proc.stderr
    proc = _gpgv(signing_key.keyring, dist / "Release.gpg", dist / "Release")
    assert proc.returncode == 0, proc.stderr
    # InRelease carries exactly the Release text
    assert "\n" + (dist / "Release").read_text().splitlines()[0] + "\n" in (dist / "InRelease").read_text()


def test_tampered_inrelease_is_rejected(repo: Path, signing_key, tmp_path: Path):
    inrelease = (repo / "linux/debian/dists/bookworm/InRelease").read_bytes()
    at = inrelease.index(b"Origin: Docker") + len(b"Origin: D")
    tampered = inrelease[:at] + b"X" + inrelease[at + 1:]
    assert len(tampered) == len(inrelease) and tampered != inrelease
    path = tmp_path / "InRelease"
    path.write_bytes(tampered)
    proc = _gpgv(signing_key.keyring, path)
    assert proc.returncode != 0
    assert "BAD signature" in proc.stderr


def test_tampered_release_is_rejected_by_release_gpg(repo: Path, signing_key):
    dist = repo / "linux/debian/dists/bookworm"
    release = dist / "Release"
    release.write_text(release.read_text().replace("Label: Docker CE", "Label: Docker EE"))
    proc = _gpgv(signing_key.keyring, dist / "Release.gpg", release)
    assert proc.returncode != 0
    assert "BAD signature" in proc.stderr


def test_other_key_does_not_verify(repo: Path):
    other = Path(__file__).resolve().parent.parent / "fixtures/keys/other-rsa-test.gpg"
    proc = _gpgv(other, repo / "linux/debian/dists/bookworm/InRelease")
    assert proc.returncode != 0
    assert "No public key" in proc.stderr or "public key not found" in proc.stderr


def test_release_options():
    opts = aptrepo.release_options("noble", "arm64")
    assert "-oAPT::FTPArchive::Release::Origin=Docker" in opts
    assert "-oAPT::FTPArchive::Release::Codename=noble" in opts
    assert "-oAPT::FTPArchive::Release::Architectures=arm64" in opts
    assert "-oAPT::FTPArchive::Release::Components=stable test" in opts
