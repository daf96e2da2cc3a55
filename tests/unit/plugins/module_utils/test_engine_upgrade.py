"""Tests of module_utils/_engine_upgrade.py and _docker_api.py: the upgrade record, drain and health gate
against a fake dockerd (a real HTTP server on a Unix socket, answering the few API calls the module makes)."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _engine_upgrade as eu
from ansible_collections.dockprov.docker.plugins.module_utils._docker_api import (
    DEFAULT_SOCKET,
    DockerApi,
    DockerApiError,
)
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError

OLD = "5:26.1.5-1~debian.12~bookworm"
NEW = "5:26.1.5-2~debian.12~bookworm"


class FakeDockerd:
    """Containers by id: {name, running, started_at, pid}; records the POSTs it got."""

    def __init__(self, sock: Path) -> None:
        self.containers: dict[str, dict[str, Any]] = {}
        self.posts: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/containers/json":
                    self._send(200, [{"Id": i} for i, c in fake.containers.items() if c["running"]])
                    return
                cid = self.path.split("/")[2]
                c = fake.containers.get(cid)
                if c is None:
                    self._send(404, {"message": f"No such container: {cid}"})
                    return
                self._send(200, {"Id": cid, "Name": "/" + c["name"], "Config": {"Image": "nginx"},
                                 "State": {"Running": c["running"], "StartedAt": c["started_at"], "Pid": c["pid"]}})

            def do_POST(self) -> None:  # noqa: N802
                fake.posts.append(self.path)
                cid, action = self.path.split("/")[2], self.path.split("/")[3].split("?")[0]
                c = fake.containers[cid]
                if action == "stop":
                    c.update(running=False, pid=0)
                else:
                    c.update(running=True, pid=c.get("next_pid", 999), started_at="2026-12-03T10:00:00Z")
                self._send(204)

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(str(sock), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, cid: str, name: str, running: bool = True, pid: int = 100) -> None:
        self.containers[cid] = {"name": name, "running": running, "started_at": "2026-12-03T09:00:00Z", "pid": pid}


@pytest.fixture
def dockerd(tmp_path: Path) -> Any:
    fake = FakeDockerd(tmp_path / "docker.sock")
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def api(tmp_path: Path, dockerd: FakeDockerd) -> DockerApi:
    return DockerApi(str(tmp_path / "docker.sock"), timeout=5)


def test_upgrade_kind_tells_patch_from_major() -> None:
    assert eu.upgrade_kind(OLD, OLD) == "none"
    assert eu.upgrade_kind(OLD, NEW) == "patch"
    assert eu.upgrade_kind(OLD, "5:26.1.6-1~debian.12~bookworm") == "patch"
    assert eu.upgrade_kind("5:20.10.24-1~debian.12~bookworm", OLD) == "major"
    assert eu.upgrade_kind(OLD, "5:20.10.24-1~debian.12~bookworm") == "major"  # down across lines as well
    assert eu.upgrade_kind("5:26.1.5-1~debian.12~bookworm", "5:27.0.1-1~debian.12~bookworm") == "major"
    assert eu.upgrade_kind(None, OLD) == "install"


def test_upstream_is_the_one_parser() -> None:
    assert eu.upstream(OLD) == "26.1.5"
    assert eu.upstream("20.10.24+dfsg1-1+b3") == "20.10.24"  # Debian's own docker.io
    assert eu.upstream("26.1.5") == "26.1.5"
    assert eu.upstream("5:27.0.0~rc.1-1~debian.12~bookworm") == "27.0.0"
    assert eu.upstream("26.") == "26"
    for bad in ("unknown", "", None, "v26.1.5", "x:26.1.5", ":26.1.5"):
        assert eu.upstream(bad) is None, bad
    assert eu.release_line(OLD) == ("26", "1")
    with pytest.raises(ValueError, match="not a Docker package version: 'unknown'"):
        eu.release_line("unknown")
    with pytest.raises(ValueError, match="'nope'"):
        eu.upgrade_kind(OLD, "nope")


def test_run_talks_to_the_default_socket_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used = []
    monkeypatch.setattr(eu, "DockerApi", lambda path: used.append(path) or DockerApi(path))
    eu.run({"state": "read", "path": str(tmp_path / "none.json")})
    eu.run({"state": "read", "path": str(tmp_path / "none.json"), "socket": "/run/other.sock"})
    assert used == [DEFAULT_SOCKET, "/run/other.sock"] and DEFAULT_SOCKET == "/var/run/docker.sock"


def test_prepare_records_running_containers_only(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.add("a1", "web", pid=4711)
    dockerd.add("b2", "old", running=False)
    path = str(tmp_path / "rec/engine-upgrade.json")
    result = eu.prepare(path, OLD, NEW, "live", api, check_mode=False, files=eu.FileOps())
    assert result["changed"] and not result["resumed"]
    record = json.loads(Path(path).read_text())
    assert [(c["name"], c["pid"]) for c in record["containers"]] == [("web", 4711)]
    assert record["phase"] == "prepared" and record["previous"] == OLD and record["target"] == NEW


def test_prepare_in_check_mode_writes_nothing(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.add("a1", "web")
    path = tmp_path / "engine-upgrade.json"
    result = eu.prepare(str(path), OLD, NEW, "live", api, check_mode=True, files=eu.FileOps())
    assert result["changed"] and not path.exists()


def test_live_gate_passes_for_the_same_process(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.add("a1", "web", pid=4711)
    path = str(tmp_path / "engine-upgrade.json")
    eu.prepare(path, OLD, NEW, "live", api, check_mode=False, files=eu.FileOps())
    result = eu.restore(path, api, 5, check_mode=False, files=eu.FileOps())
    assert result["started"] == [] and json.loads(Path(path).read_text())["phase"] == "restored"
    assert not dockerd.posts  # a live gate never starts anything
    # Only the end of the whole gate marks it done; then a new upgrade starts a new record.
    assert eu.finish(path, check_mode=False, files=eu.FileOps())["changed"]
    assert json.loads(Path(path).read_text())["phase"] == "done"
    assert not eu.finish(path, check_mode=False, files=eu.FileOps())["changed"]
    dockerd.containers["a1"]["pid"] = 5000
    fresh = eu.prepare(path, NEW, OLD, "live", api, check_mode=False, files=eu.FileOps())
    assert not fresh["resumed"] and fresh["record"]["containers"][0]["pid"] == 5000


def test_live_gate_fails_naming_a_restarted_container(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.add("a1", "web", pid=4711)
    path = str(tmp_path / "engine-upgrade.json")
    eu.prepare(path, OLD, NEW, "live", api, check_mode=False, files=eu.FileOps())
    dockerd.containers["a1"].update(pid=5000, started_at="2026-12-03T09:30:00Z")  # what a restart looks like
    with pytest.raises(ModuleError, match=r"web was restarted during a live upgrade .*pid 4711 before.*pid 5000 now"):
        eu.restore(path, api, 5, check_mode=False, files=eu.FileOps())
    assert json.loads(Path(path).read_text())["phase"] == "prepared"  # not done: a rollback still knows


def test_drain_stops_and_restore_starts_the_same_containers(tmp_path: Path, dockerd: FakeDockerd,
                                                          api: DockerApi) -> None:
    dockerd.add("a1", "web")
    dockerd.add("b2", "db")
    dockerd.add("c3", "stopped-before", running=False)
    path = str(tmp_path / "engine-upgrade.json")
    eu.prepare(path, "5:20.10.24-1~debian.12~bookworm", OLD, "drain", api, check_mode=False, files=eu.FileOps())
    drained = eu.drain(path, api, 10, check_mode=False, files=eu.FileOps())
    assert sorted(drained["stopped"]) == ["db", "web"]
    assert not any(c["running"] for c in dockerd.containers.values())
    restored = eu.restore(path, api, 5, check_mode=False, files=eu.FileOps())
    assert sorted(restored["started"]) == ["db", "web"]
    assert not dockerd.containers["c3"]["running"]  # it did not run before: it is not started
    assert dockerd.posts == ["/containers/b2/stop?t=10", "/containers/a1/stop?t=10",
                             "/containers/b2/start", "/containers/a1/start"]


def test_a_gone_container_fails_the_gate(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.add("a1", "web")
    path = str(tmp_path / "engine-upgrade.json")
    eu.prepare(path, OLD, "5:27.0.1-1~debian.12~bookworm", "drain", api, check_mode=False, files=eu.FileOps())
    del dockerd.containers["a1"]
    with pytest.raises(ModuleError, match="web is gone"):
        eu.restore(path, api, 5, check_mode=False, files=eu.FileOps())


def test_an_interrupted_drain_is_taken_over(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    """A run killed after the drain: the containers it stopped are not running now, yet they are the ones the
    next run brings back."""
    dockerd.add("a1", "web")
    path = str(tmp_path / "engine-upgrade.json")
    eu.prepare(path, "5:20.10.24-1~debian.12~bookworm", OLD, "drain", api, check_mode=False, files=eu.FileOps())
    eu.drain(path, api, 10, check_mode=False, files=eu.FileOps())
    again = eu.prepare(path, "5:20.10.24-1~debian.12~bookworm", OLD, "drain", api, check_mode=False,
                       files=eu.FileOps())
    assert again["resumed"] and [c["name"] for c in again["record"]["containers"]] == ["web"]
    assert eu.restore(path, api, 5, check_mode=False, files=eu.FileOps())["started"] == ["web"]


def test_a_broken_record_is_reported_never_overwritten(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    path = tmp_path / "engine-upgrade.json"
    path.write_text("{not json")
    with pytest.raises(ModuleError, match="never overwrites a file it cannot parse"):
        eu.prepare(str(path), OLD, NEW, "live", api, check_mode=False, files=eu.FileOps())
    assert path.read_text() == "{not json"


def test_no_dockerd_is_a_clear_error(tmp_path: Path) -> None:
    api = DockerApi(str(tmp_path / "nothing.sock"), timeout=1)
    with pytest.raises(ModuleError, match="cannot list the running containers.*does not answer"):
        eu.prepare(str(tmp_path / "r.json"), OLD, NEW, "live", api, check_mode=False, files=eu.FileOps())
    with pytest.raises(DockerApiError):
        api.call("GET", "/version")


def test_read_without_a_record(tmp_path: Path) -> None:
    assert eu.run({"state": "read", "path": str(tmp_path / "none.json")})["record"] is None
