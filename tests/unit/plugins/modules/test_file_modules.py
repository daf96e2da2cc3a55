"""daemon_json, init_ulimit and wsl_conf run in-process through AnsibleModule: one backup scheme for all.

A rewrite leaves exactly one Ansible-style backup (<file>.<pid>.<YYYY-MM-DD@HH:MM:SS>~) with the old bytes; check
mode writes nothing; daemon_json's state=restore puts back what the last write replaced.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import module_harness as h
import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
BACKUP = re.compile(r"\.[0-9]+\.[0-9]{4}-[0-9]{2}-[0-9]{2}@[0-9]{2}:[0-9]{2}:[0-9]{2}~$")

daemon_json = h.load("daemon_json")
init_ulimit = h.load("init_ulimit")
wsl_conf = h.load("wsl_conf")


def backups(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name) and BACKUP.search(p.name))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def init_script(tmp_path: Path) -> Path:
    path = tmp_path / "docker"
    path.write_text((FIXTURES / "init.d" / "docker-ce-25").read_text())
    path.chmod(0o755)
    return path


CASES = {
    "daemon_json": lambda p: {"path": str(p), "settings": {"debug": True}, "validate": "builtin"},
    "init_ulimit": lambda p: {"path": str(p)},
    "wsl_conf": lambda p: {"path": str(p)},
}


def _target(name: str, tmp_path: Path, init_script: Path) -> Path:
    if name == "init_ulimit":
        return init_script
    path = tmp_path / ("daemon.json" if name == "daemon_json" else "wsl.conf")
    path.write_text('{"log-driver": "json-file"}\n' if name == "daemon_json" else "[automount]\nenabled = true\n")
    path.chmod(0o640)
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewrite_leaves_one_backup_with_the_old_bytes(monkeypatch, tmp_path, init_script, name):
    module = h.load(name)
    path = _target(name, tmp_path, init_script)
    old = path.read_bytes()
    mode = stat.S_IMODE(path.stat().st_mode)
    failed, res = h.run(monkeypatch, module, CASES[name](path))
    assert not failed, res
    assert res["changed"] and path.read_bytes() != old
    assert backups(path) == [Path(res["backup_file"])]
    assert Path(res["backup_file"]).read_bytes() == old
    assert stat.S_IMODE(Path(res["backup_file"]).stat().st_mode) == mode
    assert stat.S_IMODE(path.stat().st_mode) == mode  # the file keeps its mode
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    failed, res = h.run(monkeypatch, module, CASES[name](path))  # idempotent: no second backup
    assert not failed and not res["changed"] and res["backup_file"] is None
    assert len(backups(path)) == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_mode_writes_nothing(monkeypatch, tmp_path, init_script, name):
    path = _target(name, tmp_path, init_script)
    before = tree(tmp_path)
    failed, res = h.run(monkeypatch, h.load(name), CASES[name](path), check_mode=True, diff=True)
    assert not failed and res["changed"] and res["backup_file"] is None
    assert res["diff"]["before"] == path.read_text() and res["diff"]["after"] != res["diff"]["before"]
    assert tree(tmp_path) == before


@pytest.mark.parametrize("name", sorted(CASES))
def test_backup_false(monkeypatch, tmp_path, init_script, name):
    path = _target(name, tmp_path, init_script)
    failed, res = h.run(monkeypatch, h.load(name), {**CASES[name](path), "backup": False})
    assert not failed and res["changed"] and res["backup_file"] is None and backups(path) == []


def test_diff_only_in_diff_mode(monkeypatch, tmp_path):
    path = tmp_path / "wsl.conf"
    failed, res = h.run(monkeypatch, wsl_conf, {"path": str(path)})
    assert not failed and "diff" not in res


def test_daemon_json_restore_through_the_module(monkeypatch, tmp_path):
    """What roles/docker_daemon/tasks/rollback.yml does after a failed restart: `state: restore`, nothing else."""
    path = tmp_path / "daemon.json"
    path.write_text('{"log-driver": "json-file"}\n')
    failed, res = h.run(monkeypatch, daemon_json, {"path": str(path), "settings": {"data-root": "/nope"},
                                                    "validate": "builtin"})
    assert not failed and res["action"] == "restart"
    failed, res = h.run(monkeypatch, daemon_json, {"path": str(path), "state": "restore"})
    assert not failed and res["changed"] and res["changed_keys"] == ["data-root"]
    assert json.loads(path.read_text()) == {"log-driver": "json-file"}
    assert res["backup_file"] == str(backups(path)[0])
    failed, res = h.run(monkeypatch, daemon_json, {"path": str(path), "state": "restore"})
    assert not failed and not res["changed"]


def test_daemon_json_restore_removes_a_created_file(monkeypatch, tmp_path):
    path = tmp_path / "docker" / "daemon.json"
    failed, res = h.run(monkeypatch, daemon_json, {"path": str(path), "settings": {"debug": True},
                                                    "validate": "builtin"})
    assert not failed and res["backup_file"].endswith(".absent~")
    failed, res = h.run(monkeypatch, daemon_json, {"path": str(path), "state": "restore"})
    assert not failed and res["changed"] and not path.exists()


def test_daemon_json_unparseable_file_is_reported_never_overwritten(monkeypatch, tmp_path):
    path = tmp_path / "daemon.json"
    raw = b'{"debug": true,,}\n'
    path.write_bytes(raw)
    failed, res = h.run(monkeypatch, daemon_json, {"path": str(path), "settings": {"debug": False}})
    assert failed and res["msg"].startswith(f"{path}:1:") and res["path"] == str(path)
    assert path.read_bytes() == raw and sorted(p.name for p in tmp_path.iterdir()) == ["daemon.json"]


def test_daemon_json_nothing_to_restore_fails(monkeypatch, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{}\n")
    failed, res = h.run(monkeypatch, daemon_json, {"path": str(path), "state": "restore"})
    assert failed and "nothing to restore" in res["msg"] and path.read_text() == "{}\n"


def test_init_ulimit_missing_ok(monkeypatch, tmp_path):
    failed, res = h.run(monkeypatch, init_ulimit, {"path": str(tmp_path / "docker"), "missing_ok": True})
    assert not failed and res["skipped"] and not res["changed"]
    failed, res = h.run(monkeypatch, init_ulimit, {"path": str(tmp_path / "docker")})
    assert failed and "does not exist" in res["msg"]
