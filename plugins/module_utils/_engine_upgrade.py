# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""The record of one host's engine upgrade, and the containers around it (module dockprov.docker.engine_upgrade).

An upgrade moves through phases, each written to the record (JSON, atomically) before the next step:

  prepared  the engine version before and after, how (live or drain), and every container that was running,
            with its start time and PID
  drained   (drain only) those containers were stopped cleanly
  restored  every recorded container runs again (live: the very same process)
  done      the whole health gate passed (the role's URL checks too)

A run that stops half-way (killed, a failed install) leaves the record unfinished. The next run keeps its
container list (the containers stopped by a drain are still the ones to bring back) and finishes the job; a
rollback reads ``previous`` from it. A record the module cannot parse is reported, never overwritten.

Around the dockerd restart of a live upgrade, the port bridge (_port_bridge.py, states ``bridged`` and
``unbridged``) keeps new connections to published ports working.

Also the classification of a version change (:func:`upgrade_kind`): Docker supports live-restore across patch
releases of one YY.MM line only; any other change of the engine must stop the containers (a drain).

Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._docker_api import (
    DEFAULT_SOCKET,
    DockerApi,
    DockerApiError,
    inspect,
    running_containers,
    start,
    stop,
)
from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError
from ansible_collections.dockprov.docker.plugins.module_utils._port_bridge import (
    DEFAULT_TIMEOUT,
    Runner,
    make_bridge,
    remove_bridge,
    subprocess_runner,
)

DEFAULT_PATH = "/var/lib/dockprov/engine-upgrade.json"
RECORD_MODE = 0o644
MODES = ("live", "drain")


_UPSTREAM = re.compile(r"^(?:\d+:)?([0-9][0-9.]*)")


def upstream(version: str | None) -> str | None:
    """'5:26.1.5-1~debian.12~bookworm' -> '26.1.5' (epoch and Debian revision dropped); None when `version`
    does not start with a version number after an optional epoch. The one parser of it in the collection
    (the filter dockprov.docker.upstream_version calls it)."""
    match = _UPSTREAM.match(str(version or ""))
    return match.group(1).rstrip(".") if match else None


def release_line(version: str) -> tuple[str, ...]:
    """Docker's release line (YY.MM): the first two parts of the upstream version."""
    parsed = upstream(version)
    if parsed is None:
        raise ValueError(f"not a Docker package version: {version!r}")
    return tuple(parsed.split(".")[:2])


def upgrade_kind(installed: str | None, wanted: str) -> str:
    """none (same package version), patch (same YY.MM line: live-restore keeps containers running) or major
    (another line, up or down: Docker supports no live-restore across it, containers must be drained)."""
    if not installed:
        return "install"
    if installed == wanted:
        return "none"
    return "patch" if release_line(installed) == release_line(wanted) else "major"


def read_record(path: str) -> dict[str, Any] | None:
    """The record at `path`, None when there is none; ModuleError when it cannot be used (never overwritten)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModuleError(f"{path} cannot be read ({exc}); it is left as it is") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModuleError(f"{path} is not valid JSON ({exc}); dockprov never overwrites a file it cannot parse. "
                          "Fix: repair or remove it by hand (it records an unfinished engine upgrade)") from None
    if not isinstance(data, dict) or not isinstance(data.get("containers"), list):
        raise ModuleError(f"{path} is not an engine upgrade record; it is left as it is. Fix: move it away")
    return data


def _text(record: dict[str, Any] | None) -> str:
    return "" if record is None else json.dumps(record, indent=2, sort_keys=True) + "\n"


def _now(clock: Callable[[], float]) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))


def _save(path: str, record: dict[str, Any], files: FileOps) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    files.write(path, _text(record), mode=RECORD_MODE)


def _result(before: dict[str, Any] | None, after: dict[str, Any] | None, path: str, **extra: Any) -> dict[str, Any]:
    return {"changed": before != after, "path": path, "record": after,
            "diff": {"before_header": path, "after_header": path, "before": _text(before), "after": _text(after)},
            **extra}


def prepare(path: str, previous: str, target: str, mode: str, api: DockerApi, *, check_mode: bool,
            files: FileOps, rollback: bool = False, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Write the record of an upgrade about to start (or take over the unfinished one). `rollback` marks a move
    back to the version before the last upgrade (a second rollback then stays there)."""
    if mode not in MODES:
        raise ModuleError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    before = read_record(path)
    resumed = before is not None and before.get("phase") != "done"
    if resumed:
        # The containers an interrupted run recorded (and maybe stopped) are the ones to bring back.
        after = {**before, "previous": before.get("previous") or previous, "target": target, "mode": mode,
                 "rollback": rollback}
        if after["previous"] == target:  # a rollback of the unfinished upgrade: go back to what ran before
            after["previous"] = previous
    else:
        try:
            containers = running_containers(api)
        except DockerApiError as exc:
            raise ModuleError(f"cannot list the running containers before the upgrade: {exc}") from None
        after = {"previous": previous, "target": target, "mode": mode, "rollback": rollback, "phase": "prepared",
                 "started": _now(clock), "containers": containers}
    if after != before and not check_mode:
        _save(path, after, files)
    return _result(before, after, path, resumed=resumed)


def drain(path: str, api: DockerApi, stop_timeout: int, *, check_mode: bool, files: FileOps) -> dict[str, Any]:
    """Stop the recorded containers that run (as `docker stop -t stop_timeout`), then mark the record drained."""
    before = _required(path)
    stopped = []
    for container in before["containers"]:
        try:
            now = inspect(api, container["id"])
            if now is not None and now["running"]:
                stopped.append(container["name"])
                if not check_mode:
                    stop(api, container["id"], stop_timeout)
        except DockerApiError as exc:
            raise ModuleError(f"stopping {container['name']} failed: {exc}", stopped=stopped) from None
    after = {**before, "phase": "drained"}
    if after != before and not check_mode:
        _save(path, after, files)
    result = _result(before, after, path, stopped=stopped)
    result["changed"] = result["changed"] or bool(stopped)
    return result


def restore(path: str, api: DockerApi, start_timeout: int, *, check_mode: bool, files: FileOps,
            sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """The containers' half of the health gate: every recorded container runs again (a drained one is started;
    a live upgrade's must be the same process, never restarted). Marks the record restored when all pass."""
    before = _required(path)
    live = before.get("mode") == "live"
    started, report, problems = [], [], []
    deadline = clock() + start_timeout
    for container in before["containers"]:
        name = container["name"]
        try:
            now = inspect(api, container["id"])
            if now is not None and not now["running"] and not live:
                started.append(name)
                if check_mode:
                    report.append({**container, "state": "would be started"})
                    continue
                start(api, container["id"])
                while True:  # `docker start` returns once the process runs; a restarting one may need a moment
                    now = inspect(api, container["id"])
                    if now is None or now["running"] or clock() >= deadline:
                        break
                    sleep(1)
        except DockerApiError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if now is None:
            problems.append(f"{name} is gone (it ran before the upgrade)")
        elif not now["running"]:
            problems.append(f"{name} does not run (it ran before the upgrade)")
        elif live and (now["started_at"] != container["started_at"] or now["pid"] != container["pid"]):
            problems.append(f"{name} was restarted during a live upgrade (started {container['started_at']}, "
                            f"pid {container['pid']} before; {now['started_at']}, pid {now['pid']} now)")
        report.append({**container, "state": "running" if now and now["running"] else "not running",
                       "started_at_now": now["started_at"] if now else None, "pid_now": now["pid"] if now else None})
    if problems:
        raise ModuleError("health gate: " + "; ".join(problems), containers=report, started=started)
    after = {**before, "phase": "restored"}
    if after != before and not check_mode:
        _save(path, after, files)
    result = _result(before, after, path, containers=report, started=started)
    result["changed"] = result["changed"] or bool(started)
    return result


def finish(path: str, *, check_mode: bool, files: FileOps, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """The whole health gate passed: mark the record done (a later run starts a new record)."""
    before = _required(path)
    if before.get("phase") == "done":
        return _result(before, before, path)
    after = {**before, "phase": "done", "finished": _now(clock)}
    if not check_mode:
        _save(path, after, files)
    return _result(before, after, path)


def _required(path: str) -> dict[str, Any]:
    record = read_record(path)
    if record is None:
        raise ModuleError(f"{path} does not exist: no engine upgrade was prepared on this host (state=prepared first)")
    return record


def run(params: dict[str, Any], check_mode: bool = False, files: FileOps | None = None,
        api: DockerApi | None = None, command: Runner | None = None) -> dict[str, Any]:
    """What the module does for its `state` (`command` runs iptables for the port bridge)."""
    files = files or FileOps()
    path = params.get("path") or DEFAULT_PATH
    api = api or DockerApi(params.get("socket") or DEFAULT_SOCKET)
    state = params["state"]
    if state == "bridged":
        return {"path": path, **make_bridge(command or subprocess_runner, check_mode=check_mode)}
    if state == "unbridged":
        timeout = params.get("bridge_timeout")
        return {"path": path, **remove_bridge(command or subprocess_runner, check_mode=check_mode,
                                              timeout=DEFAULT_TIMEOUT if timeout is None else int(timeout))}
    if state == "read":
        record = read_record(path)
        return {"changed": False, "path": path, "record": record}
    if state == "prepared":
        for name in ("previous", "target", "mode"):
            if not params.get(name):
                raise ModuleError(f"state=prepared needs {name}")
        return prepare(path, params["previous"], params["target"], params["mode"], api, check_mode=check_mode,
                       files=files, rollback=bool(params.get("rollback")))
    if state == "drained":
        return drain(path, api, int(params.get("stop_timeout") or 30), check_mode=check_mode, files=files)
    if state == "restored":
        return restore(path, api, int(params.get("start_timeout") or 60), check_mode=check_mode, files=files)
    if state == "finished":
        return finish(path, check_mode=check_mode, files=files)
    raise ModuleError(f"unknown state {state!r}")
