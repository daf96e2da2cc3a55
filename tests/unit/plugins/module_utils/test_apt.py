"""dockprov_apt: mirror presets, deb822 rendering, legacy source detection, atomic writes."""

from __future__ import annotations

import stat

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _apt as apt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("official", "https://download.docker.com"),
        ("aliyun", "https://mirrors.aliyun.com/docker-ce"),
        ("ustc", "https://mirrors.ustc.edu.cn/docker-ce"),
        ("tuna", "https://mirrors.tuna.tsinghua.edu.cn/docker-ce"),
        ("azure-china", "https://mirror.azure.cn/docker-ce"),
        ("https://artifacts.example.internal/docker-ce/", "https://artifacts.example.internal/docker-ce"),
        ("http://10.0.0.5:8080/docker", "http://10.0.0.5:8080/docker"),
    ],
)
def test_resolve_mirror(value, expected):
    assert apt.resolve_mirror(value) == expected


@pytest.mark.parametrize("value", ["USTC", "ftp://mirror.example/docker-ce", "mirrors.ustc.edu.cn", "", "https://"])
def test_resolve_mirror_rejects(value):
    with pytest.raises(ValueError) as info:
        apt.resolve_mirror(value)
    assert repr(value) in str(info.value)
    assert "official" in str(info.value) and "azure-china" in str(info.value)


def test_repo_and_release_urls():
    repo = apt.repo_url("https://mirrors.ustc.edu.cn/docker-ce/", "ubuntu")
    assert repo == "https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu"
    assert apt.release_urls(repo, "noble") == [
        "https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu/dists/noble/InRelease",
        "https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu/dists/noble/Release",
    ]
    with pytest.raises(ValueError, match="centos"):
        apt.repo_url("https://download.docker.com", "centos")


@pytest.mark.parametrize(
    ("machine", "arch"),
    [
        ("x86_64", "amd64"),
        ("aarch64", "arm64"),
        ("armv7l", "armhf"),
        ("armv6l", "armel"),
        ("ppc64le", "ppc64el"),
        ("s390x", "s390x"),
        ("i686", "i386"),
        ("i386", "i386"),
        ("riscv64", "riscv64"),
    ],
)
def test_dpkg_arch(machine, arch):
    assert apt.dpkg_arch(machine) == arch


def test_dpkg_arch_unknown():
    with pytest.raises(ValueError, match="mips64"):
        apt.dpkg_arch("mips64")


def test_render_deb822_exact():
    text = apt.render_deb822(
        ["https://download.docker.com/linux/ubuntu"], ["noble"], ["stable"], ["amd64"], "/etc/apt/keyrings/docker.asc"
    )
    assert text == (
        "# Managed by dockprov\n"
        "Types: deb\n"
        "URIs: https://download.docker.com/linux/ubuntu\n"
        "Suites: noble\n"
        "Components: stable\n"
        "Architectures: amd64\n"
        "Signed-By: /etc/apt/keyrings/docker.asc\n"
    )


def test_render_deb822_strings_and_disabled():
    text = apt.render_deb822("u", "s", "stable test", "amd64 arm64", "/k.asc", enabled=False)
    assert "Components: stable test\n" in text and "Architectures: amd64 arm64\n" in text
    assert text.endswith("Enabled: no\n")


def test_choose_mirror_falls_back_and_records_errors():
    answers = {
        "https://mirrors.ustc.edu.cn/docker-ce/linux/debian/dists/bookworm/Release": None,
    }
    calls = []

    def probe(url):
        calls.append(url)
        return answers.get(url, "HTTP 404: Not Found")

    bases = ["https://download.docker.com", "https://mirrors.ustc.edu.cn/docker-ce", "https://never.example"]
    base, attempts = apt.choose_mirror(bases, "debian", "bookworm", probe)
    assert base == "https://mirrors.ustc.edu.cn/docker-ce"
    assert [a.ok for a in attempts] == [False, True]
    assert "InRelease: HTTP 404" in attempts[0].error and "/Release: HTTP 404" in attempts[0].error
    assert attempts[1].url.endswith("/dists/bookworm/Release")
    assert not any("never.example" in c for c in calls)


def test_choose_mirror_unreachable_skips_release_url():
    calls = []

    def probe(url):
        calls.append(url)
        return "Request failed: <urlopen error timed out>"

    base, attempts = apt.choose_mirror(["https://a.example", "https://b.example"], "ubuntu", "noble", probe)
    assert base is None and [a.mirror for a in attempts] == ["https://a.example", "https://b.example"]
    assert all(c.endswith("/InRelease") for c in calls) and len(calls) == 2


def test_choose_mirror_none_served():
    base, attempts = apt.choose_mirror(["https://a.example"], "ubuntu", "nosuch", lambda url: "HTTP 404: Not Found")
    assert base is None and len(attempts) == 1 and not attempts[0].ok


def test_choose_mirror_without_probe_takes_first():
    base, attempts = apt.choose_mirror(["https://a.example", "https://b.example"], "ubuntu", "noble", None)
    assert base == "https://a.example" and len(attempts) == 1


def test_find_legacy_sources():
    d = "/etc/apt/sources.list.d"
    files = {
        f"{d}/docker.list": "# empty but named like the old file\n",
        f"{d}/download_docker_com_linux_ubuntu.list": "",
        f"{d}/archive_uri-https_download_docker_com_linux_ubuntu-jammy.list": (
            "deb [arch=amd64] https://download.docker.com/linux/ubuntu jammy stable\n"
        ),
        f"{d}/ustc.list": (
            "deb [signed-by=/usr/share/keyrings/docker.gpg] "
            "https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu jammy stable\n"
        ),
        f"{d}/internal.sources": (
            "Types: deb\nURIs: https://artifacts.example.internal/dc/linux/ubuntu\nSuites: noble\n"
        ),
        f"{d}/commented.list": "# deb https://download.docker.com/linux/ubuntu jammy stable\n",
        f"{d}/ubuntu.sources": "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: noble\n",
        f"{d}/docker.sources": "Types: deb\nURIs: https://download.docker.com/linux/ubuntu\n",
        f"{d}/docker.list.save": "deb https://download.docker.com/linux/ubuntu jammy stable\n",
        f"{d}/nvidia-container-toolkit.list": (
            "deb [signed-by=/x.gpg] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n"
        ),
    }
    found = apt.find_legacy_sources(
        files, ["https://artifacts.example.internal/dc/linux/ubuntu"], exclude=f"{d}/docker.sources"
    )
    assert found == sorted(
        [
            f"{d}/docker.list",
            f"{d}/download_docker_com_linux_ubuntu.list",
            f"{d}/archive_uri-https_download_docker_com_linux_ubuntu-jammy.list",
            f"{d}/ustc.list",
            f"{d}/internal.sources",
        ]
    )


def test_find_legacy_sources_includes_other_docker_sources_file():
    files = {"/etc/apt/sources.list.d/docker-ce.sources": "URIs: https://download.docker.com/linux/debian\n"}
    assert apt.find_legacy_sources(files, exclude="/etc/apt/sources.list.d/docker.sources") == list(files)


def test_disable_docker_lines():
    text = (
        "deb http://archive.ubuntu.com/ubuntu jammy main\n"
        "deb [arch=amd64] https://download.docker.com/linux/ubuntu jammy stable\n"
        "# deb-src https://download.docker.com/linux/ubuntu jammy stable\n"
    )
    new, disabled = apt.disable_docker_lines(text)
    assert disabled == ["deb [arch=amd64] https://download.docker.com/linux/ubuntu jammy stable"]
    assert new.splitlines() == [
        "deb http://archive.ubuntu.com/ubuntu jammy main",
        "# disabled by dockprov: deb [arch=amd64] https://download.docker.com/linux/ubuntu jammy stable",
        "# deb-src https://download.docker.com/linux/ubuntu jammy stable",
    ]
    assert apt.disable_docker_lines(new) == (new, [])


def test_host_path():
    assert apt.host_path("/", "/etc/apt") == "/etc/apt"
    assert apt.host_path("/tmp/r", "/etc/apt") == "/tmp/r/etc/apt"


def test_ensure_dir(tmp_path):
    path = tmp_path / "a" / "b"
    assert apt.ensure_dir(str(path)) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert apt.ensure_dir(str(path)) is False
