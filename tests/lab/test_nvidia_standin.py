"""dockprov.lab.nvidia: the LAB STAND-IN toolkit packages and their flat repo, built and signed for real."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Packages, Release

from dockprov.lab import nvidia

ARCH = "amd64"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, signing_key) -> Path:
    root = tmp_path_factory.mktemp("mirror")
    nvidia.build_repo(root, ARCH, signing_key.gnupghome, signing_key.fingerprint, signing_key.armored)
    return root


@pytest.fixture(scope="module")
def unpacked(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The newest version of all four packages extracted into one tree."""
    tree = tmp_path_factory.mktemp("installed")
    for deb in sorted(nvidia.arch_dir(repo, ARCH).glob(f"*_{nvidia.VERSIONS[-1]}_{ARCH}.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    return tree


def test_layout_is_nvidias_flat_repo(repo: Path):
    base = repo / "libnvidia-container"
    arch_dir = base / "stable/deb/amd64"
    assert nvidia.arch_dir(repo, ARCH) == arch_dir
    for name in ("InRelease", "Release", "Release.gpg", "Packages", "Packages.gz"):
        assert (arch_dir / name).is_file(), name
    assert (base / "gpgkey").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "stable/deb/$(ARCH) /" in (base / "stable/deb/nvidia-container-toolkit.list").read_text()
    debs = sorted(p.name for p in arch_dir.glob("*.deb"))
    assert debs == sorted(f"{name}_{v}_{ARCH}.deb" for name in nvidia.PACKAGES for v in nvidia.VERSIONS)


def test_packages_index_real_names_two_versions_marked_standin(repo: Path):
    entries = list(Packages.iter_paragraphs(nvidia.packages_index(nvidia.arch_dir(repo, ARCH)), use_apt_pkg=False))
    assert sorted((e["Package"], e["Version"]) for e in entries) == sorted(
        (name, v) for name in nvidia.PACKAGES for v in nvidia.VERSIONS)
    for e in entries:
        assert e["Filename"].startswith("./") and e["Architecture"] == ARCH
        assert "LAB STAND-IN" in e["Description"]
    toolkit = {e["Version"]: e for e in entries if e["Package"] == "nvidia-container-toolkit"}
    # one pin works for all four: each package names the others at its own exact version
    assert toolkit["1.17.8-1~lab1"]["Depends"] == (
        "nvidia-container-toolkit-base (= 1.17.8-1~lab1), libnvidia-container-tools (= 1.17.8-1~lab1)")


def test_release_signed_and_lists_the_index(repo: Path, signing_key):
    arch_dir = nvidia.arch_dir(repo, ARCH)
    for args in (["InRelease"], ["Release.gpg", "Release"]):
        proc = subprocess.run(["gpgv", "--keyring", str(signing_key.keyring), *args], cwd=arch_dir,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    release = Release((arch_dir / "Release").read_text())
    assert "LAB STAND-IN" in release["Label"]
    assert {f["name"] for f in release["SHA256"]} == {"Packages", "Packages.gz"}


def test_nvidia_ctk_runtime_configure_like_the_real_one(unpacked: Path, tmp_path: Path):
    daemon = tmp_path / "daemon.json"
    daemon.write_text('{"registry-mirrors": ["http://registry.lab:5000"]}')
    ctk = unpacked / "usr/bin/nvidia-ctk"
    out = subprocess.run([str(ctk), "runtime", "configure", "--runtime=docker", f"--config={daemon}",
                          "--set-as-default"], capture_output=True, text=True, check=True).stdout
    assert f"Wrote updated config to {daemon}" in out
    assert json.loads(daemon.read_text()) == {
        "default-runtime": "nvidia",
        "registry-mirrors": ["http://registry.lab:5000"],
        "runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}},
    }
    assert daemon.read_text().startswith('{\n    "default-runtime"')  # Go's MarshalIndent: four spaces, sorted


def test_nvidia_ctk_cdi_generate_and_version(unpacked: Path, tmp_path: Path):
    ctk = str(unpacked / "usr/bin/nvidia-ctk")
    spec = tmp_path / "cdi/nvidia.yaml"
    subprocess.run([ctk, "cdi", "generate", f"--output={spec}"], check=True, capture_output=True)
    text = spec.read_text()
    assert "kind: nvidia.com/gpu" in text and "name: all" in text and "LAB STAND-IN" in text
    version = subprocess.run([ctk, "--version"], capture_output=True, text=True, check=True).stdout
    assert "1.17.8" in version and "LAB STAND-IN" in version
    bad = subprocess.run([ctk, "runtime", "configure", "--runtime=containerd"], capture_output=True, text=True)
    assert bad.returncode != 0 and "LAB STAND-IN" in bad.stderr


def test_runtime_hands_over_to_runc(unpacked: Path):
    runtime = unpacked / "usr/bin/nvidia-container-runtime"
    assert "exec \"$runc\" \"$@\"" in runtime.read_text()
    runc = shutil.which("runc") or next((p for p in ("/usr/bin/runc", "/usr/sbin/runc") if Path(p).exists()), None)
    if runc is None:
        pytest.skip("no runc on this machine")
    direct = subprocess.run([runc, "--version"], capture_output=True, text=True)
    via = subprocess.run([str(runtime), "--version"], capture_output=True, text=True)
    assert via.returncode == direct.returncode == 0 and via.stdout == direct.stdout


def test_cli_says_it_is_a_standin(unpacked: Path):
    proc = subprocess.run([str(unpacked / "usr/bin/nvidia-container-cli"), "info"], capture_output=True, text=True)
    assert proc.returncode == 1 and "LAB STAND-IN" in proc.stderr
