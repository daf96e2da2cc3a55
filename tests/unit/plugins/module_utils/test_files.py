"""The file operations every dockprov module uses: atomic writes, and one backup scheme."""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _files as files


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


# --------------------------------------------------------------------------- the backup scheme

STAMP = 1_767_225_600.0  # some second; names are in local time, as AnsibleModule.backup_local's


def test_backup_name_is_ansibles(tmp_path):
    name = files.backup_name("/etc/docker/daemon.json", 4711, STAMP)
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(STAMP))
    assert name == f"/etc/docker/daemon.json.4711.{stamp}~"
    assert files.backup_name("/x", 1, STAMP, absent=True) == f"/x.1.{stamp}.absent~"


def test_fileops_backup_copies_bytes_mode_and_times(tmp_path):
    target = tmp_path / "sources.list"
    target.write_bytes(b"deb http://deb.debian.org/debian bookworm main\n")
    os.chmod(target, 0o640)
    os.utime(target, (1_600_000_000, 1_600_000_000))
    ops = files.FileOps(clock=lambda: STAMP)
    backup = Path(ops.backup(str(target)))
    assert backup.name == Path(files.backup_name(str(target), os.getpid(), STAMP)).name
    assert backup.read_bytes() == target.read_bytes()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert backup.stat().st_mtime == 1_600_000_000
    assert ops.backup(str(tmp_path / "missing")) is None


def test_fileops_never_overwrites_a_backup(tmp_path):
    target = tmp_path / "f"
    ops = files.FileOps(clock=lambda: STAMP)  # the same second every time
    target.write_text("one")
    first = ops.backup(str(target))
    target.write_text("two")
    second = ops.backup(str(target))
    assert first != second
    assert [Path(b.path).read_text() for b in files.find_backups(str(target))] == ["one", "two"]


def test_find_backups_orders_by_time_and_ignores_other_names(tmp_path):
    target = tmp_path / "daemon.json"
    names = [
        files.backup_name(str(target), 99, STAMP + 60),
        files.backup_name(str(target), 12, STAMP),
        files.backup_name(str(target), 7, STAMP + 3600, absent=True),
    ]
    for name in names:
        Path(name).write_text("x")
    for other in ("daemon.json", "daemon.json~", "daemon.json.dockprov-previous", "daemon.json.bak",
                  "daemon.json.1.2026-01-01@00:00:00", "other.json.1.2026-01-01@00:00:00~",
                  "daemon.json.x.2026-01-01@00:00:00~"):
        (tmp_path / other).write_text("x")
    found = files.find_backups(str(target))
    assert [b.path for b in found] == [names[1], names[0], names[2]]
    assert [(b.pid, b.absent) for b in found] == [(12, False), (99, False), (7, True)]
    assert files.find_backups(str(tmp_path / "nowhere" / "daemon.json")) == []


def test_find_backups_in_one_second_by_ctime(tmp_path):
    target = tmp_path / "f"
    later = files.backup_name(str(target), 1, STAMP)
    earlier = files.backup_name(str(target), 2, STAMP)
    Path(earlier).write_text("earlier")
    time.sleep(0.01)
    Path(later).write_text("later")
    assert [Path(b.path).read_text() for b in files.find_backups(str(target))] == ["earlier", "later"]


def test_mark_absent(tmp_path):
    target = tmp_path / "daemon.json"
    marker = files.FileOps(clock=lambda: STAMP).mark_absent(str(target))
    assert marker.endswith(".absent~") and Path(marker).read_bytes() == b""
    assert not target.exists()
    assert [b.absent for b in files.find_backups(str(target))] == [True]


# --------------------------------------------------------------------------- through a real AnsibleModule


@pytest.fixture
def module():
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({}):
        yield basic.AnsibleModule(argument_spec={}, supports_check_mode=True)


def test_module_fileops_write_keeps_mode_and_sets_new_files_to_0644(tmp_path, module):
    ops = files.ModuleFileOps(module)
    target = tmp_path / "wsl.conf"
    target.write_text("old")
    os.chmod(target, 0o600)
    ops.write(str(target), "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    ops.write(str(target), b"forced", mode=0o644)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    fresh = tmp_path / "fresh"
    ops.write(str(fresh), b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "wsl.conf"]


def test_module_fileops_backup_is_backup_local(tmp_path, module):
    target = tmp_path / "docker"
    target.write_text("#!/bin/sh\n")
    os.chmod(target, 0o755)
    backup = files.ModuleFileOps(module).backup(str(target))
    assert re.fullmatch(rf"docker\.{os.getpid()}\.\d{{4}}-\d\d-\d\d@\d\d:\d\d:\d\d~", Path(backup).name)
    assert Path(backup).read_text() == "#!/bin/sh\n" and stat.S_IMODE(Path(backup).stat().st_mode) == 0o755
    assert [b.path for b in files.find_backups(str(target))] == [backup]
    assert files.ModuleFileOps(module).backup(str(tmp_path / "missing")) is None


def test_module_fileops_failed_move_leaves_old_file_and_no_temp(tmp_path, module, monkeypatch):
    target = tmp_path / "daemon.json"
    target.write_text("old")

    def refuse(src, dest, *args, **kwargs):
        raise Exception(f"Could not replace {dest!r} with {src!r}.")  # what atomic_move raises in 2.19

    monkeypatch.setattr(module, "atomic_move", refuse)
    with pytest.raises(files.FileOpsError, match="cannot replace"):
        files.ModuleFileOps(module).write(str(target), "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["daemon.json"]
