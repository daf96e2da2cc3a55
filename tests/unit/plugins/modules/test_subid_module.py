"""plugins/modules/subid.py run in-process on temp subuid/subgid files (users looked up in a fake passwd)."""

from __future__ import annotations

import os
import pwd
import stat

import module_harness as h

mod = h.load("subid")
USERS = {"alice": 1000, "bob": 1001, "root": 0}


def _fake_getpwnam(name):
    if name not in USERS:
        raise KeyError(name)
    return pwd.struct_passwd((name, "x", USERS[name], USERS[name], "", f"/home/{name}", "/bin/sh"))


def _files(tmp_path, uid="alice:100000:65536\n", gid="alice:100000:65536\n"):
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text(uid)
    subgid.write_text(gid)
    subuid.chmod(0o644)
    subgid.chmod(0o600)  # a mode of the admin's choosing is kept
    return subuid, subgid


def _run(monkeypatch, tmp_path, users, **kwargs):
    monkeypatch.setattr(mod.pwd, "getpwnam", _fake_getpwnam)
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    return h.run(monkeypatch, mod, {"users": users, "subuid_path": str(subuid), "subgid_path": str(subgid)},
                 **kwargs)


def test_allocates_writes_keeps_modes_and_is_idempotent(monkeypatch, tmp_path):
    subuid, subgid = _files(tmp_path)
    failed, result = _run(monkeypatch, tmp_path, [{"name": "alice"}, {"name": "bob"}], diff=True)
    assert not failed and result["changed"]
    assert result["ranges"]["bob"] == {"subuid": {"start": 165536, "count": 65536},
                                       "subgid": {"start": 165536, "count": 65536}}
    assert subuid.read_text() == subgid.read_text() == "alice:100000:65536\nbob:165536:65536\n"
    assert stat.S_IMODE(os.stat(subgid).st_mode) == 0o600
    assert [d["before_header"] for d in result["diff"]] == [str(subuid), str(subgid)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subgid", "subuid"]  # no temp file left
    failed, again = _run(monkeypatch, tmp_path, [{"name": "alice"}, {"name": "bob"}])
    assert not failed and not again["changed"]


def test_check_mode_reports_and_writes_nothing(monkeypatch, tmp_path):
    subuid, _ = _files(tmp_path)
    failed, result = _run(monkeypatch, tmp_path, [{"name": "bob", "start": 300000}], check_mode=True)
    assert not failed and result["changed"]
    assert result["ranges"]["bob"]["subuid"] == {"start": 300000, "count": 65536}
    assert subuid.read_text() == "alice:100000:65536\n"


def test_overlap_fails_and_writes_nothing(monkeypatch, tmp_path):
    subuid, subgid = _files(tmp_path, uid="alice:100000:65536\nmallory:150000:65536\n")
    failed, result = _run(monkeypatch, tmp_path, [{"name": "bob"}])
    assert failed
    assert "line 2 (mallory:150000:65536, ids 150000-215535) overlaps line 1 (alice:100000:65536" in result["msg"]
    assert subgid.read_text() == "alice:100000:65536\n"


def test_missing_user_and_root_are_refused(monkeypatch, tmp_path):
    _files(tmp_path)
    failed, result = _run(monkeypatch, tmp_path, [{"name": "nobody-here"}])
    assert failed and "'nobody-here' does not exist" in result["msg"]
    failed, result = _run(monkeypatch, tmp_path, [{"name": "root"}])
    assert failed and "is root" in result["msg"]


def test_missing_files_are_created_0644(monkeypatch, tmp_path):
    failed, result = _run(monkeypatch, tmp_path, [{"name": "alice"}])
    assert not failed and result["changed"]
    assert (tmp_path / "subuid").read_text() == "alice:100000:65536\n"
    assert stat.S_IMODE(os.stat(tmp_path / "subuid").st_mode) == 0o644
