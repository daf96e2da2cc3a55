"""module_utils/_apt_key.py: the apt_key module's logic as plain functions (fetch and file ops injected)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _apt_key as ak
from ansible_collections.dockprov.docker.plugins.module_utils import _openpgp as pgp
from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps

KEYS = Path(__file__).resolve().parents[3] / "fixtures" / "keys"
FPRS = json.loads((KEYS / "fingerprints.json").read_text())
RSA = FPRS["rsa-test"]["primary"]
ED = FPRS["ed25519-test"]["primary"]
OTHER = FPRS["other-rsa-test"]["primary"]


def asc(name: str) -> str:
    return (KEYS / f"{name}.asc").read_text()


def gpg(name: str) -> bytes:
    return (KEYS / f"{name}.gpg").read_bytes()


class Recorder(FileOps):
    """FileOps that records what the logic asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def write(self, path, data, mode=None):
        self.calls.append(("write", path))
        super().write(path, data, mode)

    def backup(self, path):
        self.calls.append(("backup", path))
        return super().backup(path)

    def remove(self, path):
        self.calls.append(("remove", path))
        super().remove(path)


def params(root: Path, **kwargs) -> dict:
    base = {
        "dest": "/etc/apt/keyrings/docker.asc",
        "urls": list(ak.DEFAULT_URLS),
        "content": None,
        "fingerprints": [RSA],
        "format": "auto",
        "force": False,
        "legacy_cleanup": True,
        "legacy_paths": list(ak.DEFAULT_LEGACY_PATHS),
        "backup": True,
        "root": str(root),
    }
    base.update(kwargs)
    return base


def test_accepted_fingerprints_and_format():
    assert ak.accepted_fingerprints([" 0x" + RSA.lower()]) == [RSA]
    with pytest.raises(ValueError, match="at least one"):
        ak.accepted_fingerprints([])
    with pytest.raises(ValueError, match="0EBFCD88"):
        ak.accepted_fingerprints(["0EBFCD88"])
    assert ak.key_format("auto", "/etc/apt/keyrings/docker.gpg") == "binary"
    assert ak.key_format("auto", "/etc/apt/keyrings/docker.asc") == "armored"
    assert ak.key_format("binary", "/x.asc") == "binary"


def test_check_key():
    assert ak.check_key(gpg("rsa-test"), [RSA])[2] is None
    primaries, _, err = ak.check_key(gpg("rsa-test") + gpg("other-rsa-test"), [RSA])
    assert primaries == [RSA, OTHER] and OTHER in err


def test_render_key_keeps_armored_text_and_enarmors_binary():
    binary = pgp.dearmor(asc("rsa-test"))
    assert ak.render_key(binary, asc("rsa-test").encode(), "armored") == asc("rsa-test").encode()
    assert ak.render_key(binary, binary, "armored").startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert ak.render_key(binary, asc("rsa-test").encode(), "binary") == binary


def test_download_key_skips_bad_answers_and_records_them():
    answers = {"https://a/gpg": (None, "HTTP 404: Not Found"), "https://b/gpg": (b"<html>", None),
               "https://c/gpg": (asc("rsa-test").encode(), None)}
    tried: list = []
    got = ak.download_key(list(answers), lambda url: answers[url], tried)
    assert got is not None and got[2] == "https://c/gpg"
    assert [(t["url"], t["ok"]) for t in tried] == [("https://a/gpg", False), ("https://b/gpg", False),
                                                    ("https://c/gpg", True)]
    assert ak.download_key(["https://a/gpg"], lambda url: answers[url], []) is None


def test_read_existing(tmp_path):
    key = tmp_path / "docker.asc"
    assert ak.read_existing(str(key), "/k", [RSA], "armored").data is None
    key.write_text(asc("rsa-test"))
    assert ak.read_existing(str(key), "/k", [RSA], "armored").ok is True
    assert ak.read_existing(str(key), "/k", [RSA], "binary").ok is False  # wrong format: rewritten
    key.write_text("garbage")
    found = ak.read_existing(str(key), "/k", [RSA], "armored")
    assert found.data == b"garbage" and found.binary is None and found.error
    with pytest.raises(ak.AptKeyError, match="not a regular file"):
        ak.read_existing(str(tmp_path), "/k", [RSA], "armored")


def test_legacy_plan_never_touches_dest(tmp_path):
    tgd = tmp_path / "etc/apt/trusted.gpg.d"
    tgd.mkdir(parents=True)
    (tgd / "docker.gpg").write_bytes(gpg("rsa-test"))
    (tgd / "mine.gpg").write_bytes(gpg("rsa-test"))
    actions = ak.legacy_plan(str(tmp_path), ["/etc/apt/trusted.gpg.d"], "/etc/apt/trusted.gpg.d/mine.gpg", {RSA})
    assert [(a.path, a.action) for a in actions] == [("/etc/apt/trusted.gpg.d/docker.gpg", "delete")]


def test_run_without_network_and_the_file_operations_it_asks_for(tmp_path):
    trusted = tmp_path / "etc/apt/trusted.gpg"
    trusted.parent.mkdir(parents=True)
    trusted.write_bytes(gpg("other-rsa-test") + gpg("rsa-test"))
    ops = Recorder()
    result = ak.run(params(tmp_path, content=asc("rsa-test")), files=ops)
    real_dest = str(tmp_path / "etc/apt/keyrings/docker.asc")
    assert ops.calls == [("write", real_dest), ("backup", str(trusted)), ("write", str(trusted))]
    assert result["changed"] and result["source"] == "content" and result["backup_file"] is None
    assert result["removed_legacy"] == [f"/etc/apt/trusted.gpg: {RSA}"]
    assert result["backups"]["/etc/apt/trusted.gpg"].startswith("/etc/apt/trusted.gpg.")
    assert "warnings" not in result


def test_run_check_mode_asks_for_nothing(tmp_path):
    trusted = tmp_path / "etc/apt/trusted.gpg"
    trusted.parent.mkdir(parents=True)
    trusted.write_bytes(gpg("rsa-test"))
    ops = Recorder()
    result = ak.run(params(tmp_path, content=asc("rsa-test")), check_mode=True, files=ops)
    assert ops.calls == [] and result["changed"] and result["removed_legacy"] == ["/etc/apt/trusted.gpg"]
    assert result["backups"] == {} and result["backup_file"] is None


def test_run_needs_a_fetch_to_download(tmp_path):
    with pytest.raises(ak.AptKeyError, match="no fetch"):
        ak.run(params(tmp_path))


def test_run_failure_carries_the_partial_result(tmp_path):
    def fetch(url):
        return asc("ed25519-test").encode(), None

    with pytest.raises(ak.AptKeyError) as info:
        ak.run(params(tmp_path), fetch=fetch)
    assert ED in str(info.value) and info.value.result["found"] == [ED]
    assert info.value.result["tried"] == [{"url": ak.DEFAULT_URLS[0], "ok": True, "error": None}]
    assert not (tmp_path / "etc").exists()


def test_unreadable_legacy_files_are_reported_and_left_alone(tmp_path):
    tgd = tmp_path / "etc/apt/trusted.gpg.d"
    tgd.mkdir(parents=True)
    keybox = b"\x00\x00\x00\x20\x01\x02\x00\x00KBXf" + b"\x00" * 20  # a GnuPG keybox, not a keyring
    (tgd / "odd.gpg").write_bytes(keybox)
    (tmp_path / "etc/apt/trusted.gpg").write_bytes(b"\x01not a packet")
    before = {p: p.read_bytes() for p in (tgd / "odd.gpg", tmp_path / "etc/apt/trusted.gpg")}
    result = ak.run(params(tmp_path, content=asc("rsa-test")))
    assert result["removed_legacy"] == []
    assert len(result["warnings"]) == 2
    assert any("/etc/apt/trusted.gpg.d/odd.gpg is not OpenPGP data" in w and "keybox" in w
               for w in result["warnings"])
    assert any(w.startswith("/etc/apt/trusted.gpg is not OpenPGP data") for w in result["warnings"])
    assert {p: p.read_bytes() for p in before} == before
