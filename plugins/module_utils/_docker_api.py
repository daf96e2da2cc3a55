# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""The few Docker Engine API calls an engine upgrade needs, over dockerd's Unix socket.

Standard library only (http.client on an AF_UNIX socket): it runs on managed hosts that may have neither the
Docker SDK nor requests, before and after dockerd is replaced. community.docker's modules need requests;
these calls are only what the upgrade's health gate and drain need: list the running containers with their
start time and PID, stop and start them.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote

DEFAULT_SOCKET = "/var/run/docker.sock"


class DockerApiError(Exception):
    """dockerd did not answer, or answered with an error status."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
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
            raise DockerApiError(f"{method} {path}: HTTP {response.status}: {message}")
        return response.status, data


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
