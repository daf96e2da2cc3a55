# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""The few Docker Engine API calls dockprov's modules need, over dockerd's Unix socket.

Standard library only (http.client on an AF_UNIX socket): it runs on managed hosts that may have neither the
Docker SDK nor requests (air-gapped ones among them), before and after dockerd is replaced. community.docker's
modules need requests; these calls are only what dockprov's own modules need:

- engine_upgrade (the health gate and the drain): list the running containers with their start time and PID,
  stop and start them;
- image_load: whether dockerd has an image (:func:`image_id`), and ``POST /images/load`` with the archive
  ``docker save`` wrote, streamed from the file (:meth:`DockerApi.post_file`, :func:`load_images`).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from typing import Any
from urllib.parse import quote

DEFAULT_SOCKET = "/var/run/docker.sock"


class DockerApiError(Exception):
    """dockerd did not answer, answered with an error status (``status``, None when there was no answer), or
    reported an error in a streamed answer."""

    def __init__(self, msg: str, status: int | None = None) -> None:
        super().__init__(msg)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float, blocksize: int = 8192) -> None:
        super().__init__("localhost", timeout=timeout, blocksize=blocksize)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerApi:
    """GET and POST against dockerd; `timeout` bounds each call (a stop waits for the container's own)."""

    def __init__(self, socket_path: str = DEFAULT_SOCKET, timeout: float = 30) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def call(self, method: str, path: str, timeout: float | None = None) -> tuple[int, Any]:
        conn = _UnixConnection(self.socket_path, self.timeout if timeout is None else timeout)
        try:
            conn.request(method, path, headers={"Host": "docker"})
            response = conn.getresponse()
            body = response.read()
        except OSError as exc:
            raise DockerApiError(f"dockerd does not answer on {self.socket_path} ({exc})") from None
        finally:
            conn.close()
        data: Any = None
        if body:
            try:
                data = json.loads(body.decode("utf-8", "replace"))
            except ValueError:
                data = body.decode("utf-8", "replace")
        if response.status >= 400:
            message = data.get("message") if isinstance(data, dict) else data
            raise DockerApiError(f"{method} {path}: HTTP {response.status}: {message}", status=response.status)
        return response.status, data

    def post_file(self, path: str, filename: str, content_type: str = "application/x-tar",
                  timeout: float | None = None) -> list[Any]:
        """POST the file `filename` as the body, streamed from disk (an image archive may be gigabytes), and
        read the answer dockerd streams back: JSON messages, one a line. Returns the messages (a line that is not
        JSON as a string); DockerApiError on an error status, or when a message carries ``error`` or
        ``errorDetail`` (dockerd says 200 before it has read the body, so a failed load only shows there).
        OSError when `filename` cannot be read. `timeout` bounds each read and write on the socket, also the
        wait for the answer while dockerd unpacks the body."""
        with open(filename, "rb") as body:
            size = os.fstat(body.fileno()).st_size
            conn = _UnixConnection(self.socket_path, self.timeout if timeout is None else timeout,
                                   blocksize=1 << 20)
            try:
                try:
                    conn.request("POST", path, body=body, headers={
                        "Host": "docker", "Content-Type": content_type, "Content-Length": str(size)})
                except OSError as exc:
                    # dockerd may answer (an error) and close before it has read the whole body: say what it said.
                    if conn.sock is None:  # no connection at all
                        raise DockerApiError(f"dockerd does not answer on {self.socket_path} ({exc})") from None
                    try:
                        response = conn.getresponse()
                    except (OSError, http.client.HTTPException):
                        raise DockerApiError(f"dockerd does not answer on {self.socket_path} ({exc})") from None
                else:
                    response = conn.getresponse()
                if response.status >= 400:
                    text = response.read().decode("utf-8", "replace")
                    try:
                        data = json.loads(text)
                    except ValueError:
                        data = text
                    message = data.get("message") if isinstance(data, dict) else data
                    raise DockerApiError(f"POST {path}: HTTP {response.status}: {message}", status=response.status)
                messages = [_message(line) for line in response if line.strip()]
            except (OSError, http.client.HTTPException) as exc:
                raise DockerApiError(f"dockerd does not answer on {self.socket_path} ({exc})") from None
            finally:
                conn.close()
        for message in messages:
            if isinstance(message, dict) and (message.get("error") or message.get("errorDetail")):
                detail = message.get("errorDetail")
                text = message.get("error") or (detail.get("message") if isinstance(detail, dict) else detail)
                raise DockerApiError(f"POST {path}: {text}", status=response.status)
        return messages


def _message(line: bytes) -> Any:
    text = line.decode("utf-8", "replace").strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def running_containers(api: DockerApi) -> list[dict[str, Any]]:
    """The running containers, sorted by name: {id, name, image, started_at, pid}."""
    _status, listed = api.call("GET", "/containers/json")
    out = []
    for entry in listed or []:
        info = inspect(api, entry["Id"])
        if info is not None and info["running"]:
            out.append(info)
    return sorted(out, key=lambda c: c["name"])


def inspect(api: DockerApi, container_id: str) -> dict[str, Any] | None:
    """{id, name, image, running, started_at, pid} of one container, or None when it is gone."""
    try:
        _status, data = api.call("GET", f"/containers/{quote(container_id)}/json")
    except DockerApiError as exc:
        if "HTTP 404" in str(exc):
            return None
        raise
    state = data.get("State") or {}
    return {"id": data["Id"], "name": str(data.get("Name", "")).lstrip("/"),
            "image": (data.get("Config") or {}).get("Image", ""), "running": bool(state.get("Running")),
            "started_at": state.get("StartedAt", ""), "pid": state.get("Pid", 0)}


def stop(api: DockerApi, container_id: str, timeout: int) -> None:
    """Stop one container the way `docker stop -t <timeout>` does (SIGTERM, then SIGKILL)."""
    api.call("POST", f"/containers/{quote(container_id)}/stop?t={int(timeout)}", timeout=timeout + 30)


def start(api: DockerApi, container_id: str) -> None:
    api.call("POST", f"/containers/{quote(container_id)}/start")


def image_id(api: DockerApi, name: str) -> str | None:
    """The ID (``sha256:...``) of the image `name` (``repo:tag``, ``repo@digest`` or an ID) in dockerd, or None
    when dockerd has no such image."""
    try:
        _status, data = api.call("GET", f"/images/{quote(name, safe='/:@')}/json")
    except DockerApiError as exc:
        if exc.status == 404:
            return None
        raise
    return data.get("Id") if isinstance(data, dict) else None


def load_images(api: DockerApi, archive: str, timeout: float | None = None) -> list[str]:
    """Load the archive `docker save` wrote (``POST /images/load?quiet=1``); the names dockerd says it loaded
    (``Loaded image: hello-world:latest``; an image saved by ID only as ``Loaded image ID: sha256:...``)."""
    loaded = []
    for message in api.post_file("/images/load?quiet=1", archive, "application/x-tar", timeout=timeout):
        text = message.get("stream", "") if isinstance(message, dict) else str(message)
        for line in str(text).splitlines():
            for prefix in ("Loaded image: ", "Loaded image ID: "):
                if line.startswith(prefix):
                    loaded.append(line[len(prefix):].strip())
    return loaded
