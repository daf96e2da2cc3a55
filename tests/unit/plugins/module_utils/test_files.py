"""The one atomic writer every dockprov module uses."""

import os
import stat

from ansible_collections.dockprov.docker.plugins.module_utils import _files as files
import pytest


def test_atomic_write_replaces_and_sets_mode(tmp_path):
    target = tmp_path / "file"
    target.write_text("old")
    os.chmod(target, 0o600)
    files.atomic_write(str(target), b"new", mode=0o644)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_atomic_write_keeps_an_existing_mode_unless_forced(tmp_path):
    target = tmp_path / "file"
    target.write_text("old")
    os.chmod(target, 0o600)
    files.atomic_write(str(target), "new text")
    assert target.read_text() == "new text"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    files.atomic_write(str(tmp_path / "fresh"), "x", 0o640)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o640


def test_atomic_write_cleans_up_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "file"
    target.write_text("old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        files.atomic_write(str(target), b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
