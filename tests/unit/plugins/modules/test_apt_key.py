"""plugins/modules/apt_key.py run in-process against temp trees (no network: fetch_url is faked)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import module_harness as h
import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _openpgp as pgp

KEYS = Path(__file__).resolve().parents[3] / "fixtures" / "keys"
FPRS = json.loads((KEYS / "fingerprints.json").read_text())
RSA = FPRS["rsa-test"]["primary"]
ED = FPRS["ed25519-test"]["primary"]
OTHER = FPRS["other-rsa-test"]["primary"]
DEST = "/etc/apt/keyrings/docker.asc"

mod = h.load("apt_key")


def asc(name: str) -> str:
    return (KEYS / f"{name}.asc").read_text()


def gpg(name: str) -> bytes:
    return (KEYS / f"{name}.gpg").read_bytes()


def tree_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def fetch(monkeypatch):
    fake = h.FakeFetch({})
    monkeypatch.setattr(mod, "fetch_url", fake)
    return fake


def run(monkeypatch, root, check_mode=False, diff=False, **args):
    args.setdefault("dest", DEST)
    args["root"] = str(root)
    return h.run(monkeypatch, mod, args, check_mode=check_mode, diff=diff)


def test_content_writes_armored_key_with_mode_and_parent_dir(monkeypatch, tmp_path, fetch):
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[" ".join([RSA[:4], RSA[4:]])])
    assert not failed, res
    dest = tmp_path / DEST.lstrip("/")
    assert res["changed"] and res["source"] == "content" and res["fingerprint"] == RSA
    assert dest.read_text() == asc("rsa-test")
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert stat.S_IMODE(dest.parent.stat().st_mode) == 0o755
    assert fetch.calls == []
    # second run: no change
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed and not res["changed"]


def test_wrong_fingerprint_fails_and_writes_nothing(monkeypatch, tmp_path, fetch):
    legacy = tmp_path / "etc/apt/trusted.gpg.d/docker.gpg"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(gpg("ed25519-test"))
    before = tree_files(tmp_path)
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[pgp.DOCKER_FINGERPRINT, ED])
    assert failed
    assert RSA in res["msg"] and pgp.DOCKER_FINGERPRINT in res["msg"]
    assert tree_files(tmp_path) == before
    assert not (tmp_path / "etc/apt/keyrings").exists()


def test_extra_unaccepted_key_in_bundle_fails(monkeypatch, tmp_path, fetch):
    bundle = pgp.enarmor(gpg("rsa-test") + gpg("other-rsa-test"))
    failed, res = run(monkeypatch, tmp_path, content=bundle, fingerprints=[RSA])
    assert failed and OTHER in res["msg"]
    assert not (tmp_path / DEST.lstrip("/")).exists()


def test_binary_format_for_gpg_dest(monkeypatch, tmp_path, fetch):
    failed, res = run(
        monkeypatch,
        tmp_path,
        dest="/etc/apt/keyrings/docker.gpg",
        content=asc("ed25519-test"),
        fingerprints=[ED],
        diff=True,
    )
    assert not failed, res
    assert (tmp_path / "etc/apt/keyrings/docker.gpg").read_bytes() == gpg("ed25519-test")
    assert res["diff"]["before"] == "" and ED in res["diff"]["after"] and "BEGIN PGP" not in res["diff"]["after"]


def test_urls_fall_back_to_next_and_report_tried(monkeypatch, tmp_path, fetch):
    fetch.answers = {
        "https://a.example/gpg": (404, "HTTP Error 404: Not Found"),
        "https://b.example/gpg": b"<html>captive portal</html>",
        "https://c.example/gpg": asc("rsa-test").encode(),
    }
    failed, res = run(monkeypatch, tmp_path, urls=["https://dead.example/gpg", *fetch.answers], fingerprints=[RSA])
    assert not failed, res
    assert res["source"] == "https://c.example/gpg"
    assert [t["ok"] for t in res["tried"]] == [False, False, False, True]
    assert "404" in res["tried"][1]["error"] and "not an OpenPGP key" in res["tried"][2]["error"]
    assert (tmp_path / DEST.lstrip("/")).read_text() == asc("rsa-test")


def test_all_urls_fail_lists_errors_and_suggests_content(monkeypatch, tmp_path, fetch):
    fetch.answers = {"https://a.example/gpg": (503, "Service Unavailable")}
    failed, res = run(
        monkeypatch, tmp_path, urls=["https://a.example/gpg", "https://b.example/gpg"], fingerprints=[RSA]
    )
    assert failed
    assert "https://a.example/gpg: HTTP 503" in res["msg"] and "https://b.example/gpg" in res["msg"]
    assert "content" in res["msg"]
    assert not (tmp_path / "etc").exists()


def test_existing_accepted_key_means_no_network(monkeypatch, tmp_path, fetch):
    dest = tmp_path / DEST.lstrip("/")
    dest.parent.mkdir(parents=True)
    dest.write_text(asc("rsa-test"))
    os.chmod(dest, 0o644)
    failed, res = run(monkeypatch, tmp_path, urls=["https://a.example/gpg"], fingerprints=[RSA])
    assert not failed and not res["changed"] and res["source"] == "existing"
    assert fetch.calls == []
    # force=true downloads and compares
    fetch.answers = {"https://a.example/gpg": asc("rsa-test").encode()}
    failed, res = run(monkeypatch, tmp_path, urls=["https://a.example/gpg"], fingerprints=[RSA], force=True)
    assert not failed and not res["changed"] and fetch.calls == ["https://a.example/gpg"]


def test_existing_unaccepted_key_is_replaced(monkeypatch, tmp_path, fetch):
    dest = tmp_path / DEST.lstrip("/")
    dest.parent.mkdir(parents=True)
    dest.write_text(asc("other-rsa-test"))
    fetch.answers = {"https://a.example/gpg": asc("rsa-test").encode()}
    failed, res = run(monkeypatch, tmp_path, urls=["https://a.example/gpg"], fingerprints=[RSA], diff=True)
    assert not failed and res["changed"]
    assert dest.read_text() == asc("rsa-test")
    assert res["diff"]["before"] == asc("other-rsa-test")


def test_content_differs_from_existing_accepted_key(monkeypatch, tmp_path, fetch):
    dest = tmp_path / DEST.lstrip("/")
    dest.parent.mkdir(parents=True)
    dest.write_text(asc("rsa-test"))
    failed, res = run(monkeypatch, tmp_path, content=asc("ed25519-test"), fingerprints=[RSA, ED])
    assert not failed and res["changed"] and dest.read_text() == asc("ed25519-test")


def test_check_mode_writes_nothing(monkeypatch, tmp_path, fetch):
    trusted = tmp_path / "etc/apt/trusted.gpg"
    trusted.parent.mkdir(parents=True)
    trusted.write_bytes(gpg("rsa-test") + gpg("other-rsa-test"))
    before = tree_files(tmp_path)
    failed, res = run(monkeypatch, tmp_path, check_mode=True, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed and res["changed"]
    assert res["removed_legacy"] == [f"/etc/apt/trusted.gpg: {RSA}"]
    assert tree_files(tmp_path) == before


def test_legacy_cleanup(monkeypatch, tmp_path, fetch):
    tgd = tmp_path / "etc/apt/trusted.gpg.d"
    tgd.mkdir(parents=True)
    (tgd / "docker.gpg").write_bytes(gpg("rsa-test"))  # Docker's key alone: removed
    (tgd / "docker-ce.asc").write_text(asc("rsa-test"))  # armored too: removed
    (tgd / "ubuntu-keyring-2018-archive.gpg").write_bytes(gpg("other-rsa-test"))  # other: kept
    (tgd / "mixed.gpg").write_bytes(gpg("rsa-test") + gpg("ed25519-test"))  # not all ours: kept
    (tgd / "notes.txt").write_bytes(gpg("rsa-test"))  # not *.gpg/*.asc: kept
    trusted = tmp_path / "etc/apt/trusted.gpg"
    trusted.write_bytes(gpg("other-rsa-test") + gpg("rsa-test") + gpg("ed25519-test"))
    os.chmod(trusted, 0o600)

    old_trusted = trusted.read_bytes()
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed, res
    assert sorted(res["removed_legacy"]) == sorted(
        [
            "/etc/apt/trusted.gpg.d/docker.gpg",
            "/etc/apt/trusted.gpg.d/docker-ce.asc",
            f"/etc/apt/trusted.gpg: {RSA}",
        ]
    )
    assert sorted(p.name for p in tgd.iterdir() if not p.name.endswith("~")) == [
        "mixed.gpg", "notes.txt", "ubuntu-keyring-2018-archive.gpg"]
    assert trusted.read_bytes() == gpg("other-rsa-test") + gpg("ed25519-test")
    assert stat.S_IMODE(trusted.stat().st_mode) == 0o600
    # every file removed or rewritten was backed up next to itself first, with its old bytes and mode
    backups = res["backups"]
    assert sorted(backups) == ["/etc/apt/trusted.gpg", "/etc/apt/trusted.gpg.d/docker-ce.asc",
                               "/etc/apt/trusted.gpg.d/docker.gpg"]
    assert all(backups[p].startswith(p + ".") and backups[p].endswith("~") for p in backups)
    assert (tmp_path / backups["/etc/apt/trusted.gpg"].lstrip("/")).read_bytes() == old_trusted
    assert stat.S_IMODE((tmp_path / backups["/etc/apt/trusted.gpg"].lstrip("/")).stat().st_mode) == 0o600
    assert (tmp_path / backups["/etc/apt/trusted.gpg.d/docker.gpg"].lstrip("/")).read_bytes() == gpg("rsa-test")
    assert res["backup_file"] is None  # dest did not exist

    # idempotent
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed and not res["changed"] and res["removed_legacy"] == []


def test_trusted_gpg_with_only_docker_key_is_deleted(monkeypatch, tmp_path, fetch):
    trusted = tmp_path / "etc/apt/trusted.gpg"
    trusted.parent.mkdir(parents=True)
    trusted.write_bytes(gpg("rsa-test"))
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed and not trusted.exists()
    assert res["removed_legacy"] == ["/etc/apt/trusted.gpg"]


def test_legacy_cleanup_disabled_and_dest_inside_legacy_dir(monkeypatch, tmp_path, fetch):
    tgd = tmp_path / "etc/apt/trusted.gpg.d"
    tgd.mkdir(parents=True)
    (tgd / "old-docker.gpg").write_bytes(gpg("rsa-test"))
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA], legacy_cleanup=False)
    assert not failed and (tgd / "old-docker.gpg").exists()
    # dest inside trusted.gpg.d is never cleaned up by itself
    failed, res = run(
        monkeypatch, tmp_path, dest="/etc/apt/trusted.gpg.d/docker.gpg", content=asc("rsa-test"), fingerprints=[RSA]
    )
    assert not failed
    assert (tgd / "docker.gpg").read_bytes() == gpg("rsa-test")
    assert not (tgd / "old-docker.gpg").exists()


def test_bad_fingerprint_option_fails(monkeypatch, tmp_path, fetch):
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=["0EBFCD88"])
    assert failed and "0EBFCD88" in res["msg"]


def test_garbage_content_fails(monkeypatch, tmp_path, fetch):
    failed, res = run(monkeypatch, tmp_path, content="not a key", fingerprints=[RSA])
    assert failed and "content" in res["msg"]
    assert not (tmp_path / "etc").exists()


def test_replaced_key_is_backed_up_once_with_its_old_bytes(monkeypatch, tmp_path, fetch):
    dest = tmp_path / DEST.lstrip("/")
    dest.parent.mkdir(parents=True)
    dest.write_text(asc("other-rsa-test"))
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed and res["changed"]
    backups = [p for p in dest.parent.iterdir() if p.name != "docker.asc"]
    assert len(backups) == 1 and backups[0].name.startswith("docker.asc.") and backups[0].name.endswith("~")
    assert res["backup_file"] == "/" + str(backups[0].relative_to(tmp_path))
    assert backups[0].read_text() == asc("other-rsa-test")
    # unchanged second run: no new backup
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed and not res["changed"] and res["backup_file"] is None
    assert len(list(dest.parent.iterdir())) == 2


def test_backup_false_replaces_and_removes_without_copies(monkeypatch, tmp_path, fetch):
    dest = tmp_path / DEST.lstrip("/")
    dest.parent.mkdir(parents=True)
    dest.write_text(asc("other-rsa-test"))
    legacy = tmp_path / "etc/apt/trusted.gpg.d/docker.gpg"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(gpg("rsa-test"))
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA], backup=False)
    assert not failed and res["backup_file"] is None and res["backups"] == {}
    assert sorted(tree_files(tmp_path)) == ["etc/apt/keyrings/docker.asc"]


def test_unreadable_dest_is_replaced_with_a_warning_and_kept_as_backup(monkeypatch, tmp_path, fetch):
    dest = tmp_path / DEST.lstrip("/")
    dest.parent.mkdir(parents=True)
    dest.write_text("<html>404 Not Found</html>\n")  # what `curl -o` saved from a captive portal
    warnings = []
    monkeypatch.setattr(h.basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    failed, res = run(monkeypatch, tmp_path, content=asc("rsa-test"), fingerprints=[RSA])
    assert not failed and res["changed"]
    assert len(warnings) == 1 and "held no readable OpenPGP key" in warnings[0]
    assert (tmp_path / res["backup_file"].lstrip("/")).read_text() == "<html>404 Not Found</html>\n"


def test_failure_reports_partial_result(monkeypatch, tmp_path, fetch):
    fetch.answers = {"https://a.example/gpg": asc("other-rsa-test").encode()}
    failed, res = run(monkeypatch, tmp_path, urls=["https://a.example/gpg"], fingerprints=[RSA])
    assert failed and "nothing was written" in res["msg"]
    assert res["found"] == [OTHER] and res["dest"] == DEST and res["changed"] is False
    assert res["tried"] == [{"url": "https://a.example/gpg", "ok": True, "error": None}]
