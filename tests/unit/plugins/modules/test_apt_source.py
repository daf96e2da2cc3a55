"""plugins/modules/apt_source.py run in-process against temp trees (probes faked)."""

from __future__ import annotations

import stat

import module_harness as h
import pytest

mod = h.load("apt_source")

DEST = "etc/apt/sources.list.d/docker.sources"
OFFICIAL_NOBLE = "https://download.docker.com/linux/ubuntu/dists/noble/InRelease"
USTC_NOBLE = "https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu/dists/noble/InRelease"


@pytest.fixture
def fetch(monkeypatch):
    fake = h.FakeFetch({})
    monkeypatch.setattr(mod, "fetch_url", fake)
    return fake


def run(monkeypatch, root, check_mode=False, diff=False, **args):
    args.setdefault("distro", "ubuntu")
    args.setdefault("codename", "noble")
    args.setdefault("arch", "amd64")
    args["root"] = str(root)
    return h.run(monkeypatch, mod, args, check_mode=check_mode, diff=diff)


def files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_falls_back_to_second_mirror_and_writes_deb822(monkeypatch, tmp_path, fetch):
    fetch.answers = {USTC_NOBLE: b"signed release"}
    failed, res = run(monkeypatch, tmp_path, mirrors=["official", "ustc", "aliyun"], diff=True)
    assert not failed, res
    assert res["changed"] and res["mirror"] == "https://mirrors.ustc.edu.cn/docker-ce"
    assert res["repo_url"] == "https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu"
    assert [t["ok"] for t in res["tried"]] == [False, True]
    assert "Name or service not known" in res["tried"][0]["error"]
    # unreachable host: its Release URL is not tried after InRelease failed without an HTTP answer
    assert fetch.calls == [OFFICIAL_NOBLE, USTC_NOBLE]
    dest = tmp_path / DEST
    assert dest.read_text() == (
        "# Managed by dockprov\nTypes: deb\nURIs: https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu\n"
        "Suites: noble\nComponents: stable\nArchitectures: amd64\nSigned-By: /etc/apt/keyrings/docker.asc\n"
    )
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert res["diff"]["before"] == "" and res["diff"]["after"] == dest.read_text()


def test_idempotent_but_still_probes(monkeypatch, tmp_path, fetch):
    fetch.answers = {OFFICIAL_NOBLE: b"x"}
    assert not run(monkeypatch, tmp_path, mirrors=["official"])[0]
    failed, res = run(monkeypatch, tmp_path, mirrors=["official"])
    assert not failed and not res["changed"]
    assert fetch.calls == [OFFICIAL_NOBLE, OFFICIAL_NOBLE]


def test_no_mirror_serves_codename(monkeypatch, tmp_path, fetch):
    fetch.answers = {
        "https://download.docker.com/linux/ubuntu/dists/nosuch/InRelease": (404, "HTTP Error 404: Not Found"),
        "https://download.docker.com/linux/ubuntu/dists/nosuch/Release": (404, "HTTP Error 404: Not Found"),
    }
    failed, res = run(monkeypatch, tmp_path, mirrors=["official", "tuna"], codename="nosuch")
    assert failed
    assert "https://download.docker.com: " in res["msg"] and "HTTP 404" in res["msg"]
    assert "/dists/nosuch/Release: HTTP 404" in res["msg"]  # a 404 on InRelease still tries Release
    assert "https://mirrors.tuna.tsinghua.edu.cn/docker-ce: " in res["msg"]
    assert len(res["tried"]) == 2 and not any(t["ok"] for t in res["tried"])
    assert files(tmp_path) == {}


def test_probe_false_uses_first_mirror_without_network(monkeypatch, tmp_path, fetch):
    failed, res = run(
        monkeypatch,
        tmp_path,
        mirrors=["https://artifacts.example.internal/dc/"],
        probe=False,
        distro="debian",
        codename="bookworm",
        arch="arm64",
        channel="test",
        signed_by="/etc/apt/keyrings/docker.gpg",
    )
    assert not failed and fetch.calls == []
    text = (tmp_path / DEST).read_text()
    assert "URIs: https://artifacts.example.internal/dc/linux/debian\n" in text
    assert "Suites: bookworm\nComponents: test\nArchitectures: arm64\nSigned-By: /etc/apt/keyrings/docker.gpg\n" in text


def test_bad_mirror_name_fails(monkeypatch, tmp_path, fetch):
    failed, res = run(monkeypatch, tmp_path, mirrors=["official", "mirrors.example.com"])
    assert failed and "'mirrors.example.com'" in res["msg"] and "ustc" in res["msg"]
    assert fetch.calls == []


def test_legacy_sources_removed_after_a_backup_next_to_them(monkeypatch, tmp_path, fetch):
    sld = tmp_path / "etc/apt/sources.list.d"
    sld.mkdir(parents=True)
    old = (
        "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.gpg] "
        "https://download.docker.com/linux/ubuntu noble stable\n"
    )
    (sld / "docker.list").write_text(old)
    (sld / "ustc-docker.list").write_text("deb https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu noble stable\n")
    (sld / "ubuntu.sources").write_text("Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\n")
    sources_list = (
        "deb http://archive.ubuntu.com/ubuntu noble main\n"
        "deb [arch=amd64] https://download.docker.com/linux/ubuntu noble stable\n"
    )
    (tmp_path / "etc/apt/sources.list").write_text(sources_list)
    fetch.answers = {OFFICIAL_NOBLE: b"x"}
    failed, res = run(monkeypatch, tmp_path, mirrors=["official", "ustc"])
    assert not failed, res
    assert res["removed_legacy"] == [
        "/etc/apt/sources.list.d/docker.list",
        "/etc/apt/sources.list.d/ustc-docker.list",
        "/etc/apt/sources.list",
    ]
    # apt reads only *.list and *.sources: the "~" backups beside them are ignored (silently)
    assert sorted(p.name for p in sld.iterdir() if not p.name.endswith("~")) == ["docker.sources", "ubuntu.sources"]
    assert sorted(res["backups"]) == sorted(res["removed_legacy"])
    moved = res["backups"]["/etc/apt/sources.list.d/docker.list"]
    assert moved.startswith("/etc/apt/sources.list.d/docker.list.") and moved.endswith("~")
    assert (tmp_path / moved.lstrip("/")).read_text() == old
    assert (tmp_path / res["backups"]["/etc/apt/sources.list"].lstrip("/")).read_text() == sources_list
    assert len([p for p in sld.iterdir() if p.name.endswith("~")]) == 2
    assert (tmp_path / "etc/apt/sources.list").read_text() == (
        "deb http://archive.ubuntu.com/ubuntu noble main\n"
        "# disabled by dockprov: deb [arch=amd64] https://download.docker.com/linux/ubuntu noble stable\n"
    )
    assert not (tmp_path / "var").exists()  # no more /var/backups/dockprov/apt
    # second run: nothing left to clean, no new backup
    failed, res = run(monkeypatch, tmp_path, mirrors=["official", "ustc"])
    assert not failed and not res["changed"] and res["removed_legacy"] == [] and res["backups"] == {}
    assert len([p for p in sld.iterdir() if p.name.endswith("~")]) == 2


def test_rewritten_source_leaves_one_backup_with_the_old_bytes(monkeypatch, tmp_path, fetch):
    fetch.answers = {OFFICIAL_NOBLE: b"x", USTC_NOBLE: b"x"}
    assert not run(monkeypatch, tmp_path, mirrors=["official"])[0]
    dest = tmp_path / DEST
    before = dest.read_bytes()
    failed, res = run(monkeypatch, tmp_path, mirrors=["ustc"])
    assert not failed and res["changed"]
    backups = [p for p in dest.parent.iterdir() if p.name != "docker.sources"]
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert res["backup_file"] == "/" + str(backups[0].relative_to(tmp_path))


def test_backup_dir_is_deprecated_and_ignored(monkeypatch, tmp_path, fetch, capfd):
    from ansible.module_utils.common import warnings

    sld = tmp_path / "etc/apt/sources.list.d"
    sld.mkdir(parents=True)
    (sld / "docker.list").write_text("deb https://download.docker.com/linux/ubuntu noble stable\n")
    fetch.answers = {OFFICIAL_NOBLE: b"x"}
    failed, res = run(monkeypatch, tmp_path, mirrors=["official"], backup_dir="/var/backups/dockprov/apt")
    assert not failed, res
    # recorded for the result, or shown at once when controller code has set up a display in this process
    shown = capfd.readouterr().err
    assert any("backup_dir" in d["msg"] for d in warnings.get_deprecation_messages()) or (
        "Param 'backup_dir' is deprecated" in shown and "version 1.0.0" in shown
    )
    assert res["backups"]["/etc/apt/sources.list.d/docker.list"].startswith("/etc/apt/sources.list.d/docker.list.")
    assert not (tmp_path / "var").exists()


def test_check_mode_changes_nothing(monkeypatch, tmp_path, fetch):
    sld = tmp_path / "etc/apt/sources.list.d"
    sld.mkdir(parents=True)
    (sld / "docker.list").write_text("deb https://download.docker.com/linux/ubuntu noble stable\n")
    before = files(tmp_path)
    fetch.answers = {OFFICIAL_NOBLE: b"x"}
    failed, res = run(monkeypatch, tmp_path, check_mode=True, mirrors=["official"], diff=True)
    assert not failed and res["changed"]
    assert res["removed_legacy"] == ["/etc/apt/sources.list.d/docker.list"]
    assert res["backups"] == {} and res["backup_file"] is None
    assert "URIs: https://download.docker.com/linux/ubuntu" in res["diff"]["after"]
    assert files(tmp_path) == before


def test_content_change_is_reported_with_diff(monkeypatch, tmp_path, fetch):
    fetch.answers = {OFFICIAL_NOBLE: b"x", USTC_NOBLE: b"x"}
    run(monkeypatch, tmp_path, mirrors=["official"])
    failed, res = run(monkeypatch, tmp_path, mirrors=["ustc"], diff=True)
    assert not failed and res["changed"]
    assert "download.docker.com" in res["diff"]["before"] and "mirrors.ustc.edu.cn" in res["diff"]["after"]
