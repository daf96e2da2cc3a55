"""Tests of module_utils/_image_load.py, the image part of _docker_api.py and the module image_load: loading
`docker save` archives against a fake dockerd (a real HTTP server on a Unix socket that reads the archive's
manifest.json as dockerd does and answers with a chunked stream of JSON lines)."""

from __future__ import annotations

import io
import json
import socketserver
import tarfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.dockprov.docker.plugins.module_utils import _image_load as il
from ansible_collections.dockprov.docker.plugins.module_utils._docker_api import (
    DockerApi,
    DockerApiError,
    image_id,
    load_images,
)
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError
from ansible_collections.dockprov.docker.plugins.modules import image_load as image_load_module

HELLO = "sha256:" + "d2" * 32


class FakeDockerd:
    """Images by name: ID. A load reads the archive's manifest.json and adds its RepoTags (or answers with
    `load_error` in the stream, or `load_status` as an HTTP error); records each request and each body."""

    def __init__(self, sock: Path) -> None:
        self.images: dict[str, str] = {}
        self.requests: list[str] = []
        self.bodies: list[bytes] = []
        self.content_types: list[str] = []
        self.load_error: str | None = None
        self.load_status: int | None = None
        self.refuse_body = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, messages: list[dict[str, Any]]) -> None:
                """dockerd's way: 200 first, then one JSON message a line, chunked."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for message in messages:
                    line = json.dumps(message).encode() + b"\r\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.write(b"0\r\n\r\n")

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                fake.requests.append(f"GET {self.path}")
                name = unquote(self.path[len("/images/"):-len("/json")])
                if name in fake.images:
                    self._send(200, {"Id": fake.images[name], "RepoTags": [name]})
                else:
                    self._send(404, {"message": f"No such image: {name}"})

            def do_POST(self) -> None:  # noqa: N802
                fake.requests.append(f"POST {self.path}")
                if fake.refuse_body:  # answer at once, close without reading the body
                    self.close_connection = True
                    self._send(400, {"message": "refused before reading the body"})
                    return
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.bodies.append(body)
                fake.content_types.append(self.headers["Content-Type"])
                if fake.load_status:
                    self._send(fake.load_status, {"message": "unexpected EOF"})
                    return
                if fake.load_error:
                    self._stream([{"errorDetail": {"message": fake.load_error}, "error": fake.load_error}])
                    return
                with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                    manifest = json.load(tar.extractfile("manifest.json"))
                messages = []
                for entry in manifest:
                    for tag in entry.get("RepoTags") or []:
                        fake.images[tag] = "sha256:" + entry["Config"][:64]
                        messages.append({"stream": f"Loaded image: {tag}\n"})
                self._stream(messages)

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(str(sock), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def posts(self) -> list[str]:
        return [r for r in self.requests if r.startswith("POST")]


def archive(path: Path, tags: list[str], padding: int = 0) -> Path:
    """A tar as `docker save` writes it (manifest.json with RepoTags), `padding` bytes of layer after it."""
    config = "ab" * 32
    files = {"manifest.json": json.dumps([{"Config": config, "RepoTags": tags, "Layers": ["layer.tar"]}]).encode(),
             f"{config}.json": b"{}", "layer.tar": bytes(range(256)) * (padding // 256)}
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def dockerd(tmp_path: Path) -> Any:
    fake = FakeDockerd(tmp_path / "docker.sock")
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def api(tmp_path: Path, dockerd: FakeDockerd) -> DockerApi:
    return DockerApi(str(tmp_path / "docker.sock"), timeout=5)


def test_names_without_a_tag_mean_latest() -> None:
    assert il.normalize("hello-world") == "hello-world:latest"
    assert il.normalize("hello-world:linux") == "hello-world:linux"
    assert il.normalize("registry.lab:5000/app") == "registry.lab:5000/app:latest"
    assert il.normalize("registry.lab:5000/team/app:1.2") == "registry.lab:5000/team/app:1.2"
    assert il.normalize("app@sha256:" + "0" * 64) == "app@sha256:" + "0" * 64


def test_image_id_asks_dockerd(dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.images["registry.lab:5000/app:1.2"] = HELLO
    assert image_id(api, "registry.lab:5000/app:1.2") == HELLO
    assert image_id(api, "nothing:latest") is None
    assert dockerd.requests[-2:] == ["GET /images/registry.lab:5000/app:1.2/json", "GET /images/nothing:latest/json"]


def test_nothing_missing_loads_nothing(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.images["hello-world:latest"] = HELLO
    tar = archive(tmp_path / "hello-world.tar", ["hello-world:latest"])
    result = il.load_archives([{"path": str(tar), "images": ["hello-world"]}], api, check_mode=False)
    assert not result["changed"] and result["loaded"] == []
    assert result["images"] == {"hello-world:latest": HELLO}
    assert result["diff"]["before"] == result["diff"]["after"] == "hello-world:latest\n"
    assert dockerd.posts == []


def test_a_missing_image_loads_its_archive(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.images["busybox:latest"] = "sha256:" + "bb" * 32
    hello = archive(tmp_path / "hello-world.tar", ["hello-world:latest"], padding=3 << 20)  # > one 1 MiB block
    busybox = archive(tmp_path / "busybox.tar", ["busybox:latest"])
    result = il.load_archives([{"path": str(busybox), "images": ["busybox"]},
                               {"path": str(hello), "images": ["hello-world:latest"]}], api, check_mode=False)
    assert result["changed"] and result["loaded"] == [str(hello)]
    assert dockerd.posts == ["POST /images/load?quiet=1"]
    assert dockerd.bodies == [hello.read_bytes()] and dockerd.content_types == ["application/x-tar"]
    assert result["images"]["hello-world:latest"] == "sha256:" + "ab" * 32
    assert result["diff"]["before"] == "busybox:latest\n"
    assert result["diff"]["after"] == "busybox:latest\nhello-world:latest\n"
    # Run again: everything is there.
    again = il.load_archives([{"path": str(hello), "images": ["hello-world:latest"]}], api, check_mode=False)
    assert not again["changed"] and len(dockerd.posts) == 1


def test_an_image_in_two_archives_is_loaded_once(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    first = archive(tmp_path / "a.tar", ["app:1", "base:1"])
    second = archive(tmp_path / "b.tar", ["base:1"])
    result = il.load_archives([{"path": str(first), "images": ["app:1", "base:1"]},
                               {"path": str(second), "images": ["base:1"]}], api, check_mode=False)
    assert result["loaded"] == [str(first)] and len(dockerd.posts) == 1


def test_check_mode_posts_nothing(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    tar = archive(tmp_path / "hello-world.tar", ["hello-world:latest"])
    result = il.load_archives([{"path": str(tar), "images": ["hello-world"]}], api, check_mode=True)
    assert result["changed"] and result["loaded"] == [str(tar)]
    assert result["images"] == {"hello-world:latest": None}
    assert result["diff"]["before"] == "" and result["diff"]["after"] == "hello-world:latest\n"
    assert dockerd.posts == [] and dockerd.bodies == []


def test_an_error_in_the_load_stream_fails(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.load_error = "archive/tar: invalid tar header"
    tar = archive(tmp_path / "hello-world.tar", ["hello-world:latest"])
    with pytest.raises(ModuleError, match=r"hello-world.tar: dockerd did not load it: .*invalid tar header") as info:
        il.load_archives([{"path": str(tar), "images": ["hello-world"]}], api, check_mode=False)
    assert info.value.result == {"changed": False, "loaded": []}
    with pytest.raises(DockerApiError, match="invalid tar header"):
        load_images(api, str(tar))


def test_an_error_status_on_load_fails(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    dockerd.load_status = 500
    tar = archive(tmp_path / "hello-world.tar", ["hello-world:latest"])
    with pytest.raises(ModuleError, match=r"hello-world.tar: dockerd did not load it: .*HTTP 500: unexpected EOF"):
        il.load_archives([{"path": str(tar), "images": ["hello-world"]}], api, check_mode=False)


def test_an_answer_before_the_body_is_read_is_reported(tmp_path: Path, dockerd: FakeDockerd,
                                                       api: DockerApi) -> None:
    dockerd.refuse_body = True
    tar = archive(tmp_path / "big.tar", ["big:latest"], padding=16 << 20)  # far more than the socket buffers
    with pytest.raises(DockerApiError, match="HTTP 400: refused before reading the body"):
        load_images(api, str(tar))


def test_a_missing_archive_fails_naming_it(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    there = archive(tmp_path / "there.tar", ["there:latest"])
    gone = tmp_path / "bundle/images/hello-world.tar"
    archives = [{"path": str(there), "images": ["there"]}, {"path": str(gone), "images": ["hello-world"]}]
    for check_mode in (False, True):
        with pytest.raises(ModuleError, match=rf"not found on the host: {gone}\. Fix: copy the archives"):
            il.load_archives(archives, api, check_mode=check_mode)
    assert dockerd.requests == []  # checked before anything is asked or loaded


def test_an_archive_without_the_image_fails(tmp_path: Path, dockerd: FakeDockerd, api: DockerApi) -> None:
    tar = archive(tmp_path / "bundle.tar", ["busybox:latest"])
    with pytest.raises(ModuleError) as info:
        il.load_archives([{"path": str(tar), "images": ["busybox", "hello-world"]}], api, check_mode=False)
    message = str(info.value)
    assert f"{tar} was loaded, yet dockerd still has no hello-world:latest" in message
    assert "dockerd loaded: busybox:latest" in message
    assert info.value.result == {"changed": True, "loaded": [str(tar)]}


def test_an_archive_needs_image_names(tmp_path: Path, api: DockerApi) -> None:
    with pytest.raises(ModuleError, match="no image names are given"):
        il.load_archives([{"path": str(tmp_path / "x.tar"), "images": []}], api, check_mode=False)


def test_no_dockerd_is_a_clear_error(tmp_path: Path) -> None:
    tar = archive(tmp_path / "hello-world.tar", ["hello-world:latest"])
    api = DockerApi(str(tmp_path / "nothing.sock"), timeout=1)
    with pytest.raises(ModuleError, match="cannot ask dockerd which images it has: dockerd does not answer"):
        il.load_archives([{"path": str(tar), "images": ["hello-world"]}], api, check_mode=False)
    with pytest.raises(DockerApiError, match="does not answer"):
        load_images(api, str(tar))


class Exit(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(json.dumps(result))
        self.result = result


def run_module(monkeypatch: pytest.MonkeyPatch, args: dict[str, Any]) -> dict[str, Any]:
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", lambda self, **kw: (_ for _ in ()).throw(Exit(kw)))
    monkeypatch.setattr(basic.AnsibleModule, "fail_json",
                        lambda self, msg, **kw: (_ for _ in ()).throw(Exit({**kw, "msg": msg, "failed": True})))
    with patch_module_args(args), pytest.raises(Exit) as info:
        image_load_module.main()
    return info.value.result


def test_the_module(tmp_path: Path, dockerd: FakeDockerd, monkeypatch: pytest.MonkeyPatch) -> None:
    tar = archive(tmp_path / "hello-world.tar", ["hello-world:latest"])
    args = {"archives": [{"path": str(tar), "images": ["hello-world"]}], "socket": str(tmp_path / "docker.sock")}
    checked = run_module(monkeypatch, {**args, "_ansible_check_mode": True, "_ansible_diff": True})
    assert checked["changed"] and checked["diff"]["after"] == "hello-world:latest\n" and dockerd.posts == []
    done = run_module(monkeypatch, args)
    assert done["changed"] and done["loaded"] == [str(tar)] and "diff" not in done
    assert done["images"] == {"hello-world:latest": "sha256:" + "ab" * 32}
    failed = run_module(monkeypatch, {**args, "archives": [{"path": str(tmp_path / "no.tar"), "images": ["x"]}]})
    assert failed["failed"] and str(tmp_path / "no.tar") in failed["msg"]
