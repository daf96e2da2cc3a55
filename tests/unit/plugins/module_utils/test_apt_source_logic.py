"""module_utils/_apt_source.py: the apt_source module's logic as plain functions (probe and file ops injected)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _apt_source as src
from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps

OFFICIAL_NOBLE = "https://download.docker.com/linux/ubuntu/dists/noble/InRelease"


def params(root: Path, **kwargs) -> dict:
    base = {
        "mirrors": ["official"],
        "layout": "docker",
        "suite": None,
        "distro": "ubuntu",
        "codename": "noble",
        "arch": "amd64",
        "channel": "stable",
        "signed_by": src.DEFAULT_SIGNED_BY,
        "dest": src.DEFAULT_DEST,
        "probe": True,
        "legacy_cleanup": True,
        "legacy_names": [],
        "legacy_markers": [],
        "backup": True,
        "root": str(root),
    }
    base.update(kwargs)
    return base


def probe_ok(*urls: str):
    seen: list[str] = []

    def probe(url: str):
        seen.append(url)
        return None if url in urls else "Name or service not known"

    probe.seen = seen  # type: ignore[attr-defined]
    return probe


def test_repo_from_params(tmp_path):
    repo = src.repo_from_params(params(tmp_path, mirrors=["official", "https://m.example/dc/"], arch=None),
                                machine="aarch64")
    assert repo.bases == ["https://download.docker.com", "https://m.example/dc"] and repo.arch == "arm64"
    assert repo.url(repo.bases[1]) == "https://m.example/dc/linux/ubuntu"
    flat = src.repo_from_params(params(tmp_path, layout="flat", suite="stable/deb/amd64/",
                                       mirrors=["https://nvidia.github.io/libnvidia-container"]))
    assert flat.url(flat.bases[0]) == "https://nvidia.github.io/libnvidia-container/stable/deb/amd64"
    for bad, message in (({"mirrors": []}, "at least one"), ({"codename": "no ble"}, "invalid codename"),
                         ({"mirrors": ["nope"]}, "unknown mirror"), ({"arch": None}, "set arch explicitly")):
        with pytest.raises(ValueError, match=message):
            src.repo_from_params(params(tmp_path, **bad), machine="pdp11")


def test_pick_mirror_message_names_presets(tmp_path):
    repo = src.repo_from_params(params(tmp_path))
    base, attempts, error = src.pick_mirror(repo, probe_ok())
    assert base is None and len(attempts) == 1
    assert "no mirror serves ubuntu noble" in error and "azure-china" in error
    assert src.pick_mirror(repo, None)[0] == "https://download.docker.com"  # no probe: the first one


def test_write_source_reports_and_backs_up(tmp_path):
    files = FileOps()
    dest = "/etc/apt/sources.list.d/docker.sources"
    assert src.write_source(str(tmp_path), dest, "a\n", True, True, files) == (True, None, None)
    assert not (tmp_path / "etc").exists()
    assert src.write_source(str(tmp_path), dest, "a\n", False, True, files) == (True, None, None)
    changed, before, backup = src.write_source(str(tmp_path), dest, "b\n", False, True, files)
    assert changed and before == "a\n" and backup.startswith(dest + ".") and backup.endswith("~")
    assert (tmp_path / backup.lstrip("/")).read_text() == "a\n"
    assert src.write_source(str(tmp_path), dest, "b\n", False, True, files) == (False, "b\n", None)
    (tmp_path / dest.lstrip("/")).chmod(0o600)
    assert src.write_source(str(tmp_path), dest, "b\n", False, True, files) == (True, "b\n", None)


def test_legacy_markers_flat_are_only_the_repository_own(tmp_path):
    repo = src.repo_from_params(params(tmp_path, layout="flat", suite="stable/deb/amd64/",
                                       mirrors=["https://nvidia.github.io/libnvidia-container"]))
    markers, names, builtin = src.legacy_markers(repo, {"legacy_names": ["nvidia-docker.list"],
                                                        "legacy_markers": ["nvidia.github.io/nvidia-docker"]})
    assert markers == ["https://nvidia.github.io/libnvidia-container", "nvidia.github.io/nvidia-docker"]
    assert names == ["nvidia-docker.list"] and builtin == ()
    docker = src.repo_from_params(params(tmp_path))
    markers, names, builtin = src.legacy_markers(docker, {})
    assert "https://download.docker.com/linux/debian" in markers and "docker.list" in names and builtin


def test_run_result_and_warning(tmp_path):
    result = src.run(params(tmp_path), probe=probe_ok(OFFICIAL_NOBLE))
    assert result["changed"] and result["repo_url"] == "https://download.docker.com/linux/ubuntu"
    assert result["tried"] == [{"mirror": "https://download.docker.com", "ok": True, "error": None,
                                "url": OFFICIAL_NOBLE}]
    assert result["warnings"] == [f"signed_by {src.DEFAULT_SIGNED_BY} does not exist yet; apt will reject the "
                                  "repository until it does"]
    assert result["backup_file"] is None and result["backups"] == {}
    assert (tmp_path / src.DEFAULT_DEST.lstrip("/")).read_text() == result["content"]


def test_run_probe_false_ignores_the_probe(tmp_path):
    probe = probe_ok()
    result = src.run(params(tmp_path, probe=False), probe=probe)
    assert result["mirror"] == "https://download.docker.com" and probe.seen == []


def test_run_failure_carries_tried(tmp_path):
    with pytest.raises(src.AptSourceError) as info:
        src.run(params(tmp_path, mirrors=["official", "ustc"]), probe=probe_ok())
    assert [t["ok"] for t in info.value.result["tried"]] == [False, False]
    assert not (tmp_path / "etc").exists()


def test_clean_legacy_without_backup_removes_only(tmp_path):
    sld = tmp_path / "etc/apt/sources.list.d"
    sld.mkdir(parents=True)
    (sld / "docker.list").write_text("deb https://download.docker.com/linux/ubuntu noble stable\n")
    repo = src.repo_from_params(params(tmp_path))
    done = src.clean_legacy(str(tmp_path), src.DEFAULT_DEST, repo, {}, False, False, FileOps())
    assert done == {"removed_legacy": ["/etc/apt/sources.list.d/docker.list"], "backups": {}, "disabled_lines": []}
    assert list(sld.iterdir()) == []


def test_sources_list_that_is_not_utf8_is_reported_and_left_alone(tmp_path):
    sources_list = tmp_path / "etc/apt/sources.list"
    sources_list.parent.mkdir(parents=True)
    raw = b"# Fran\xe7ois' mirror\ndeb https://download.docker.com/linux/ubuntu noble stable\n"
    sources_list.write_bytes(raw)
    result = src.run(params(tmp_path, probe=False))
    assert sources_list.read_bytes() == raw and result["disabled_lines"] == []
    assert any(w.startswith("/etc/apt/sources.list is not UTF-8 text") for w in result["warnings"])
