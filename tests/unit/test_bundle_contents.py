"""dockprov bundle: which packages a bundle carries, how its tree is packed, how a changed file is found."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from dockprov import bundle
from dockprov.aptindex import Deb, Index, parse_packages

DOCKER_PACKAGES = """\
Package: docker-ce
Version: 5:20.10.24-1~debian.12~bookworm
Pre-Depends: init-system-helpers (>= 1.54~)
Depends: containerd.io (>= 1.6), docker-ce-cli, iptables, libc6 (>= 2.34)
Filename: dists/bookworm/pool/stable/amd64/docker-ce_20.10.24.deb
Size: 10
SHA256: 01

Package: docker-ce
Version: 5:26.1.5-1~debian.12~bookworm
Depends: containerd.io (>= 1.6), docker-ce-cli, iptables | nftables, libc6 (>= 2.34)
Filename: dists/bookworm/pool/stable/amd64/docker-ce_26.1.5-1.deb
Size: 10
SHA256: 02

Package: docker-ce
Version: 5:26.1.5-2~debian.12~bookworm
Depends: containerd.io (>= 1.6), docker-ce-cli, iptables | nftables, libc6 (>= 2.34)
Filename: dists/bookworm/pool/stable/amd64/docker-ce_26.1.5-2.deb
Size: 10
SHA256: 03

Package: docker-ce-cli
Version: 5:26.1.5-1~debian.12~bookworm
Filename: dists/bookworm/pool/stable/amd64/docker-ce-cli_26.1.5.deb
Size: 10
SHA256: 04

Package: docker-ce-cli
Version: 5:20.10.24-1~debian.12~bookworm
Filename: dists/bookworm/pool/stable/amd64/docker-ce-cli_20.10.24.deb
Size: 10
SHA256: 05

Package: containerd.io
Version: 1.6.20-1
Depends: libseccomp2 (>= 2.5)
Filename: dists/bookworm/pool/stable/amd64/containerd.io_1.6.20.deb
Size: 10
SHA256: 06

Package: containerd.io
Version: 1.7.24-1
Depends: libseccomp2 (>= 2.5)
Filename: dists/bookworm/pool/stable/amd64/containerd.io_1.7.24.deb
Size: 10
SHA256: 07
"""

DISTRO_PACKAGES = """\
Package: iptables
Version: 1.8.9-2
Depends: libip4tc2 (= 1.8.9-2), libc6 (>= 2.34), netbase
Priority: optional
Filename: pool/main/i/iptables/iptables_1.8.9-2_amd64.deb
Size: 10
SHA256: 11

Package: libip4tc2
Version: 1.8.9-2
Depends: libc6 (>= 2.34)
Priority: optional
Filename: pool/main/i/iptables/libip4tc2_1.8.9-2_amd64.deb
Size: 10
SHA256: 12

Package: libc6
Version: 2.36-9
Priority: required
Filename: pool/main/g/glibc/libc6_2.36-9_amd64.deb
Size: 10
SHA256: 13

Package: netbase
Version: 6.4
Priority: important
Filename: pool/main/n/netbase/netbase_6.4_all.deb
Size: 10
SHA256: 14

Package: init-system-helpers
Version: 1.65
Essential: yes
Priority: required
Filename: pool/main/i/init-system-helpers/init-system-helpers_1.65_all.deb
Size: 10
SHA256: 15

Package: libseccomp2
Version: 2.5.4-1
Priority: optional
Filename: pool/main/libs/libseccomp/libseccomp2_2.5.4-1_amd64.deb
Size: 10
SHA256: 16

Package: python3-apt
Version: 2.6.0
Depends: python3 (<< 3.12), libapt-pkg6.0
Priority: optional
Filename: pool/main/p/python-apt/python3-apt_2.6.0_amd64.deb
Size: 10
SHA256: 17

Package: libapt-pkg6.0
Version: 2.6.1
Priority: important
Filename: pool/main/a/apt/libapt-pkg6.0_2.6.1_amd64.deb
Size: 10
SHA256: 18

Package: python3
Version: 3.11.2-1
Provides: python3-supported-min (= 3.11)
Priority: optional
Filename: pool/main/p/python3-defaults/python3_3.11.2-1_amd64.deb
Size: 10
SHA256: 19

Package: mawk
Version: 1.3.4
Provides: awk
Priority: required
Filename: pool/main/m/mawk/mawk_1.3.4_amd64.deb
Size: 10
SHA256: 20

Package: tini
Version: 0.19.0
Depends: awk
Priority: optional
Filename: pool/main/t/tini/tini_0.19.0_amd64.deb
Size: 10
SHA256: 21
"""


def docker_index() -> Index:
    return Index("http://mirror.lab/linux/debian", "dists/bookworm", "stable", "amd64",
                 debs=parse_packages(DOCKER_PACKAGES))


def distro() -> dict[str, Deb]:
    return {deb.name: deb for deb in parse_packages(DISTRO_PACKAGES)}


def names(debs: list[Deb]) -> list[str]:
    return sorted(f"{d.name}={d.version}" for d in debs)


def test_the_newest_of_each_package_without_a_pin() -> None:
    chosen = bundle.choose_docker(docker_index(), bundle.DOCKER_PACKAGES, [])
    assert names(chosen) == ["containerd.io=1.7.24-1", "docker-ce-cli=5:26.1.5-1~debian.12~bookworm",
                             "docker-ce=5:26.1.5-2~debian.12~bookworm"]


def test_every_pinned_engine_version_is_carried() -> None:
    """Both ends of a rolling upgrade; the newest revision of each, and the CLI with the engine."""
    chosen = bundle.choose_docker(docker_index(), bundle.DOCKER_PACKAGES, ["20.10.24", "26.1.5"])
    assert names(chosen) == [
        "containerd.io=1.7.24-1",
        "docker-ce-cli=5:20.10.24-1~debian.12~bookworm", "docker-ce-cli=5:26.1.5-1~debian.12~bookworm",
        "docker-ce=5:20.10.24-1~debian.12~bookworm", "docker-ce=5:26.1.5-2~debian.12~bookworm",
    ]


def test_a_pin_the_repo_lacks_names_what_it_has() -> None:
    with pytest.raises(bundle.BundleError, match=r"no docker-ce 27\.0\.1 \(it has 20\.10\.24, 26\.1\.5\)"):
        bundle.choose_docker(docker_index(), bundle.DOCKER_PACKAGES, ["27.0.1"])


def test_distro_dependencies_leave_out_what_every_host_has() -> None:
    index = docker_index()
    chosen = bundle.choose_docker(index, bundle.DOCKER_PACKAGES, [])
    deps = bundle.resolve_distro(chosen, index.newest(), distro())
    # libc6 (required) and init-system-helpers (essential) are on every host; netbase and libapt-pkg6.0
    # (important) are not on a minimal one, so they come along; python3-apt for Ansible's apt module.
    assert [d.name for d in deps] == ["iptables", "libapt-pkg6.0", "libip4tc2", "libseccomp2", "netbase",
                                      "python3", "python3-apt"]


def test_virtual_packages_resolve_through_provides() -> None:
    tini = [d for d in parse_packages(DISTRO_PACKAGES) if d.name == "tini"]
    # awk is provided by mawk, which is required: nothing to add, and no "needs awk" error
    assert bundle.resolve_distro(tini, {}, distro(), extras=()) == []


def test_an_unsatisfiable_dependency_fails_naming_it() -> None:
    lonely = Deb("docker-ce", "1", "x.deb", "00", 1, (("libnothere1",),))
    with pytest.raises(bundle.BundleError, match="docker-ce 1 needs libnothere1"):
        bundle.resolve_distro([lonely], {}, distro(), extras=())


@pytest.mark.parametrize("text", ["debian/bookworm", "fedora/40/x86_64", "debian//amd64"])
def test_a_bad_target_says_how_to_write_one(text: str) -> None:
    with pytest.raises(bundle.BundleError, match="distro/codename/arch"):
        bundle.Target.parse(text)


def test_the_tar_ends_with_its_marker_and_verify_finds_a_changed_file(tmp_path: Path) -> None:
    tree = tmp_path / "debian-bookworm-amd64"
    (tree / "docker" / "pool").mkdir(parents=True)
    (tree / "docker" / "pool" / "a.deb").write_bytes(b"deb")
    (tree / "distro").mkdir()
    (tree / "distro" / "InRelease").write_text("signed")
    tar_path = tmp_path / "debian-bookworm-amd64.tar"
    marker = bundle._pack(tree, tar_path)
    with tarfile.open(tar_path) as tar:
        members = tar.getnames()
    assert members[-1] == marker and members.count(marker) == 1
    assert "docker/pool/a.deb" in members
    # the marker names the content: another package, another marker, and the old one is not packed again
    (tree / "docker" / "pool" / "a.deb").write_bytes(b"other")
    again = bundle._pack(tree, tmp_path / "again.tar")
    assert again != marker
    with tarfile.open(tmp_path / "again.tar") as tar:
        assert [n for n in tar.getnames() if n.startswith(".dockprov-bundle-")] == [again]

    manifest = {"targets": {"debian-bookworm-amd64": {"tar": tar_path.name, "tar_sha256": bundle._sha256(tar_path)}},
                "images": []}
    (tmp_path / bundle.MANIFEST).write_text(json.dumps(manifest))
    assert bundle.verify(tmp_path) == []
    with tar_path.open("ab") as handle:
        handle.write(b"tampered")
    assert bundle.verify(tmp_path) == ["debian-bookworm-amd64.tar: SHA256 differs from the manifest"]
