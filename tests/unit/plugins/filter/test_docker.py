"""plugins/filter/docker.py: key_urls, resolve_version, upstream_version, daemon_json_merge, upgrade_kind."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.dockprov.docker.plugins.filter import docker as f

MADISON = """\
 docker-ce | 5:27.5.1-1~debian.12~bookworm | https://download.docker.com/linux/debian bookworm/stable amd64 Packages
 docker-ce | 5:26.1.5-1~debian.12~bookworm | https://download.docker.com/linux/debian bookworm/stable amd64 Packages
 docker-ce | 5:26.1.4-1~debian.12~bookworm | https://download.docker.com/linux/debian bookworm/stable amd64 Packages
"""


def test_filters_are_registered():
    assert sorted(f.FilterModule().filters()) == [
        "daemon_json_merge", "key_urls", "resolve_version", "upgrade_kind", "upstream_version"]


def test_key_urls():
    assert f.key_urls(["official", "ustc", "https://m.example/dc/"], "ubuntu") == [
        "https://download.docker.com/linux/ubuntu/gpg",
        "https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu/gpg",
        "https://m.example/dc/linux/ubuntu/gpg",
    ]
    with pytest.raises(AnsibleFilterError, match="docker_repo_mirrors: unknown mirror 'nope'"):
        f.key_urls(["nope"], "debian")
    with pytest.raises(AnsibleFilterError, match="unsupported distro 'fedora'"):
        f.key_urls(["official"], "fedora")


def test_resolve_version():
    assert f.resolve_version(MADISON, "docker-ce", "26.1.5") == "5:26.1.5-1~debian.12~bookworm"
    assert f.resolve_version(MADISON, "docker-ce", "5:26.1.4-1~debian.12~bookworm") == "5:26.1.4-1~debian.12~bookworm"
    with pytest.raises(AnsibleFilterError, match=r"docker_engine_version: docker-ce '25.0.0' is not in the repository"):
        f.resolve_version(MADISON, "docker-ce", "25.0.0")
    with pytest.raises(AnsibleFilterError, match="is the repo configured"):
        f.resolve_version("", "docker-ce", "26.1.5")


def test_upstream_version():
    assert f.upstream_version("5:26.1.5-1~debian.12~bookworm") == "26.1.5"
    assert f.upstream_version("20.10.24+dfsg1-1+b3") == "20.10.24"
    with pytest.raises(AnsibleFilterError):
        f.upstream_version("unknown")


@pytest.mark.parametrize("version", [
    "5:26.1.5-1~debian.12~bookworm", "5:26.1.5-2~debian.12~bookworm", "5:20.10.24~3-0~ubuntu-jammy",
    "20.10.24+dfsg1-1+b3", "26.1.5", "1:2.3.4", "5:27.0.0~rc.1-1~debian.12~bookworm"])
def test_upstream_version_is_the_module_utils_parser(version):
    from ansible_collections.dockprov.docker.plugins.module_utils._engine_upgrade import upstream

    assert f.upstream_version(version) == upstream(version) is not None


@pytest.mark.parametrize("bad", ["unknown", "", None, "v26.1.5", "x:26.1.5", ":26.1.5"])
def test_upstream_version_names_a_bad_value(bad):
    from ansible_collections.dockprov.docker.plugins.module_utils._engine_upgrade import upstream

    assert upstream(bad) is None
    with pytest.raises(AnsibleFilterError, match=f"not a Docker package version: {bad!r}"):
        f.upstream_version(bad)


def test_daemon_json_merge_is_the_modules_merge():
    from ansible_collections.dockprov.docker.plugins.filter.docker import daemon_json_merge

    current = {"registry-mirrors": ["http://a"], "log-driver": "json-file", "runtimes": {"x": {"path": "x"}}}
    assert daemon_json_merge(current, {"registry-mirrors": ["http://a"], "log-driver": None}) == current
    assert daemon_json_merge(current, {"registry-mirrors": ["http://b"]}, ["registry-mirrors"])["registry-mirrors"] \
        == ["http://a", "http://b"]
    assert "runtimes" not in daemon_json_merge(current, {}, [], ["runtimes"])
    assert daemon_json_merge(None, {"a": 1}) is None  # missing file: the module decides
    assert daemon_json_merge(current, {"dns": ["1.1.1.1"]}, [], ["dns"]) is None  # conflict: the module says why


def test_upgrade_kind():
    kind = f.FilterModule().filters()["upgrade_kind"]
    assert kind("5:26.1.5-1~debian.12~bookworm", "5:26.1.5-2~debian.12~bookworm") == "patch"
    assert kind("5:20.10.24-1~debian.12~bookworm", "5:26.1.5-1~debian.12~bookworm") == "major"
    assert kind("5:26.1.5-1~debian.12~bookworm", "5:26.1.5-1~debian.12~bookworm") == "none"
    assert kind(None, "5:26.1.5-1~debian.12~bookworm") == "install"
    with pytest.raises(AnsibleFilterError, match="upgrade_kind: not a Docker package version: 'latest'"):
        kind("5:26.1.5-1~debian.12~bookworm", "latest")
