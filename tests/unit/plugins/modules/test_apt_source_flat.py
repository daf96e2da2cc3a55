"""docker_apt_source / dockprov_apt with layout=flat: NVIDIA's libnvidia-container repository form."""

from __future__ import annotations

import module_harness as h
import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _apt as apt

mod = h.load("apt_source")

NV = "https://nvidia.github.io/libnvidia-container"
USTC = "https://mirrors.ustc.edu.cn/libnvidia-container"
SUITE = "stable/deb/amd64/"
DEST = "etc/apt/sources.list.d/nvidia-container-toolkit.sources"
KEY = "/etc/apt/keyrings/nvidia-container-toolkit.asc"
LEGACY_NAMES = ["nvidia-docker.list", "nvidia-container-toolkit.list"]
LEGACY_MARKERS = ["nvidia.github.io/nvidia-docker", "nvidia.github.io/libnvidia-container"]


@pytest.fixture
def fetch(monkeypatch):
    fake = h.FakeFetch({})
    monkeypatch.setattr(mod, "fetch_url", fake)
    return fake


def run(monkeypatch, root, check_mode=False, **args):
    args.setdefault("layout", "flat")
    args.setdefault("suite", SUITE)
    args.setdefault("arch", "amd64")
    args.setdefault("signed_by", KEY)
    args.setdefault("dest", "/" + DEST)
    args.setdefault("legacy_names", LEGACY_NAMES)
    args.setdefault("legacy_markers", LEGACY_MARKERS)
    args["root"] = str(root)
    return h.run(monkeypatch, mod, args, check_mode=check_mode)


def test_render_flat_has_no_components():
    assert apt.render_deb822(NV, SUITE, "", "amd64", KEY) == (
        "# Managed by dockprov\nTypes: deb\nURIs: https://nvidia.github.io/libnvidia-container\n"
        "Suites: stable/deb/amd64/\nArchitectures: amd64\nSigned-By: /etc/apt/keyrings/nvidia-container-toolkit.asc\n"
    )


def test_flat_repo_url():
    assert apt.flat_repo_url(NV + "/", SUITE) == f"{NV}/stable/deb/amd64"
    assert apt.flat_repo_url(NV, "/") == NV


def test_flat_release_urls_and_suite_check():
    assert apt.flat_release_urls(NV + "/", SUITE) == [
        f"{NV}/stable/deb/amd64/InRelease", f"{NV}/stable/deb/amd64/Release"]
    assert apt.flat_release_urls(NV, "/") == [f"{NV}/InRelease", f"{NV}/Release"]
    assert apt.check_flat_suite(" stable/deb/arm64/ ") == "stable/deb/arm64/"
    for bad in ("stable/deb/amd64", "/etc/", "a b/", "../x/", ""):
        with pytest.raises(ValueError):
            apt.check_flat_suite(bad)


def test_resolve_mirror_without_presets_takes_urls_only():
    assert apt.resolve_mirror(NV + "/", {}) == NV
    with pytest.raises(ValueError, match="http"):
        apt.resolve_mirror("official", {})
    assert apt.resolve_mirror("official") == "https://download.docker.com"  # Docker's default unchanged


def test_choose_mirror_with_flat_urls():
    seen = []

    def probe(url):
        seen.append(url)
        return None if url.startswith(USTC) else "timed out"

    base, attempts = apt.choose_mirror([NV, USTC], "", "", probe, lambda b: apt.flat_release_urls(b, SUITE))
    assert base == USTC and [a.ok for a in attempts] == [False, True]
    assert seen == [f"{NV}/{SUITE}InRelease", f"{USTC}/{SUITE}InRelease"]


def test_find_legacy_sources_with_other_names_ignores_docker():
    files = {
        "/etc/apt/sources.list.d/docker.list": "deb https://download.docker.com/linux/debian bookworm stable\n",
        "/etc/apt/sources.list.d/docker.sources": "URIs: https://download.docker.com/linux/debian\n",
        "/etc/apt/sources.list.d/nvidia-docker.list": "deb https://nvidia.github.io/nvidia-docker/ubuntu18.04/amd64/\n",
        "/etc/apt/sources.list.d/other.list": f"deb [signed-by=/x.gpg] {NV}/stable/deb/$(ARCH) /\n",
    }
    found = apt.find_legacy_sources(files, LEGACY_MARKERS, names=LEGACY_NAMES, builtin_markers=())
    assert found == ["/etc/apt/sources.list.d/nvidia-docker.list", "/etc/apt/sources.list.d/other.list"]
    # Docker's defaults are what they were
    assert apt.find_legacy_sources(files) == ["/etc/apt/sources.list.d/docker.list",
                                              "/etc/apt/sources.list.d/docker.sources"]


def test_module_flat_falls_back_writes_and_cleans_only_nvidia(monkeypatch, tmp_path, fetch):
    sld = tmp_path / "etc/apt/sources.list.d"
    sld.mkdir(parents=True)
    docker = "Types: deb\nURIs: https://download.docker.com/linux/debian\nSuites: bookworm\nComponents: stable\n"
    (sld / "docker.sources").write_text(docker)
    (sld / "docker.list").write_text("deb https://download.docker.com/linux/debian bookworm stable\n")
    nvidia_list = "deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] " \
        f"{NV}/stable/deb/$(ARCH) /\n"
    (sld / "nvidia-container-toolkit.list").write_text(nvidia_list)
    (tmp_path / "etc/apt/sources.list").write_text(
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb https://nvidia.github.io/nvidia-docker/debian10/$(ARCH) /\n"
        "deb https://download.docker.com/linux/debian bookworm stable\n"
    )
    fetch.answers = {f"{USTC}/{SUITE}InRelease": b"signed"}
    failed, res = run(monkeypatch, tmp_path, mirrors=[NV, USTC + "/"])
    assert not failed, res
    assert res["changed"] and res["mirror"] == USTC and res["repo_url"] == f"{USTC}/stable/deb/amd64"
    assert fetch.calls == [f"{NV}/{SUITE}InRelease", f"{USTC}/{SUITE}InRelease"]
    assert (tmp_path / DEST).read_text() == (
        f"# Managed by dockprov\nTypes: deb\nURIs: {USTC}/stable/deb/amd64\nSuites: /\nArchitectures: amd64\n"
        f"Signed-By: {KEY}\n"
    )
    # NVIDIA's own one-line file is moved away; Docker's sources are not this repository's business
    assert res["removed_legacy"] == ["/etc/apt/sources.list.d/nvidia-container-toolkit.list", "/etc/apt/sources.list"]
    assert sorted(p.name for p in sld.iterdir() if not p.name.endswith("~")) == [
        "docker.list", "docker.sources", "nvidia-container-toolkit.sources"]
    assert sorted(res["backups"]) == sorted(res["removed_legacy"])
    assert (tmp_path / res["backups"][res["removed_legacy"][0]].lstrip("/")).read_text() == nvidia_list
    assert (sld / "docker.sources").read_text() == docker
    assert (tmp_path / "etc/apt/sources.list").read_text() == (
        "deb http://deb.debian.org/debian bookworm main\n"
        "# disabled by dockprov: deb https://nvidia.github.io/nvidia-docker/debian10/$(ARCH) /\n"
        "deb https://download.docker.com/linux/debian bookworm stable\n"
    )
    failed, res = run(monkeypatch, tmp_path, mirrors=[NV, USTC])
    assert not failed and not res["changed"]


def test_module_flat_check_mode_and_bad_input(monkeypatch, tmp_path, fetch):
    failed, res = run(monkeypatch, tmp_path, check_mode=True, mirrors=[NV], probe=False)
    assert not failed and res["changed"] and not (tmp_path / DEST).exists() and fetch.calls == []
    failed, res = run(monkeypatch, tmp_path, mirrors=["nvidia"], probe=False)
    assert failed and "'nvidia'" in res["msg"]
    failed, res = run(monkeypatch, tmp_path, mirrors=[NV], suite="stable/deb/amd64", probe=False)
    assert failed and "ending in '/'" in res["msg"]
    failed, res = run(monkeypatch, tmp_path, mirrors=[NV], layout="docker", suite=None)
    assert failed and "distro" in res["msg"]


def test_module_flat_no_mirror_answers(monkeypatch, tmp_path, fetch):
    failed, res = run(monkeypatch, tmp_path, mirrors=[NV])
    assert failed and "no mirror serves stable/deb/amd64/" in res["msg"]
    assert not (tmp_path / DEST).exists()
