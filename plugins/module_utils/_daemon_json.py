# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Logic of the daemon_json module: load, merge, render, classify, check and write daemon.json.

Standard library only: this file is shipped to target hosts (Python 3.9+).
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import stat
import tempfile
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps, find_backups
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError

DEFAULT_PATH = "/etc/docker/daemon.json"
# The rolling backup and "there was no file" marker of dockprov 0.1; restore still reads them when no
# backup in the current scheme (<path>.<pid>.<time>~, or the marker <path>.<pid>.<time>.absent~) exists.
LEGACY_BACKUP_SUFFIX = ".dockprov-previous"
LEGACY_ABSENT_SUFFIX = ".dockprov-previous.none"
DEFAULT_MODE = 0o644
DIR_MODE = 0o755

# Top-level daemon.json keys that a running dockerd re-reads on SIGHUP ("reload").
# Source: moby docs, dockerd reference, "daemon: Configuration reload behavior" (the table of options that
# "can be reconfigured when the daemon is running without requiring to restart the process"), checked
# against moby daemon/reload.go (reloadDebug, reloadMaxConcurrentDownloadsAndUploads,
# reloadMaxDownloadAttempts, reloadShutdownTimeout, reloadFeatures, reloadLabels, reloadRegistryConfig,
# reloadLiveRestore) and daemon/reload_unix.go (runtimes, default-runtime). authorization-plugins is
# reloaded by cmd/dockerd (the authz middleware). The docs call that option "authorization-plugin"; its
# daemon.json key is "authorization-plugins".
RELOADABLE_KEYS: frozenset[str] = frozenset(
    {
        "debug",
        "labels",
        "live-restore",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "default-runtime",
        "runtimes",
        "authorization-plugins",
        "allow-nondistributable-artifacts",
        "insecure-registries",
        "registry-mirrors",
        "shutdown-timeout",
        "features",
    }
)

# Keys whose reload code resets the value to the default when the key is absent. For every other
# reloadable key, moby only updates the value "if conf.IsValueSet(key)": deleting such a key from
# daemon.json and sending SIGHUP leaves the old value live, so a removal needs a restart.
RELOAD_RESETS_WHEN_REMOVED: frozenset[str] = frozenset(
    {"max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts", "features"}
)

# Feature flags that dockerd only reads at start-up even though "features" is reloadable. cdi: moby's
# cmd/dockerd daemonCLI.start registers the CDI device driver (RegisterCDIDriver) only when it starts.
RESTART_ONLY_FEATURES: frozenset[str] = frozenset({"containerd-snapshotter", "cdi"})

Runner = Callable[[list[str]], "tuple[int, str, str]"]


class DaemonJsonError(ModuleError):
    """A failure the module reports with fail_json (message only)."""


class DaemonJsonParseError(DaemonJsonError):
    """daemon.json is not valid JSON (or not a JSON object); carries path, line and column."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.reason = message
        super().__init__(f"{path}:{line}:{column}: {message}")


# --------------------------------------------------------------------------- load / render


def read_text(path: str) -> str | None:
    """Return the file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def parse(text: str | None, path: str = DEFAULT_PATH) -> dict[str, Any]:
    """Parse daemon.json text. None (missing file) and blank text give {}."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DaemonJsonParseError(path, exc.lineno, exc.colno, exc.msg) from exc
    if not isinstance(value, dict):
        raise DaemonJsonParseError(
            path, 1, 1, f"top-level value must be a JSON object, not {_json_type(value)}"
        )
    return value


def load(path: str) -> dict[str, Any]:
    """Load daemon.json: missing or empty file -> {}; invalid JSON -> DaemonJsonParseError."""
    return parse(read_text(path), path)


def render(config: dict[str, Any]) -> str:
    """Stable text for a config: sorted keys, two-space indent, trailing newline."""
    return json.dumps(config, sort_keys=True, indent=2) + "\n"


# --------------------------------------------------------------------------- merge


def _locate(config: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str] | None:
    """Find (parent dict, key) for a dotted path. A key that itself contains dots wins over nesting."""
    if dotted in config:
        return config, dotted
    head, sep, rest = dotted.partition(".")
    while sep:
        child = config.get(head)
        if isinstance(child, dict):
            found = _locate(child, rest)
            if found is not None:
                return found
        nxt, sep, rest = rest.partition(".")
        head = f"{head}.{nxt}"
    return None


def _merge_into(target: dict[str, Any], settings: dict[str, Any], merge_lists: set[str], prefix: str) -> None:
    for key, value in settings.items():
        if value is None:  # "leave as is": lets roles pass optional settings unconditionally
            continue
        path = f"{prefix}{key}"
        current = target.get(key)
        if isinstance(value, dict):
            if isinstance(current, dict):
                _merge_into(current, value, merge_lists, f"{path}.")
            else:
                fresh: dict[str, Any] = {}
                _merge_into(fresh, value, merge_lists, f"{path}.")
                target[key] = fresh
        elif isinstance(value, list) and path in merge_lists and isinstance(current, list):
            merged = list(current)
            for item in value:
                if item not in merged:
                    merged.append(item)
            target[key] = merged
        else:
            target[key] = copy.deepcopy(value)


def _set_paths(settings: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in settings.items():
        if value is None:
            continue
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict):
            paths |= _set_paths(value, f"{path}.")
    return paths


def merge(
    current: dict[str, Any],
    settings: dict[str, Any],
    merge_lists: list[str] | None = None,
    remove: list[str] | None = None,
) -> dict[str, Any]:
    """Return a new config: ``current`` with ``settings`` merged in and ``remove`` paths deleted.

    - dict values merge key by key, recursively (adding runtimes.nvidia keeps the other runtimes);
    - list values replace, except for keys (dotted paths) named in ``merge_lists``: their items are
      appended when absent, order kept, no duplicates;
    - a value of None means "leave as is", at any depth;
    - ``remove`` holds dotted paths ("runtimes.nvidia") deleted from the result; absent paths are ignored;
    - keys not mentioned are untouched. ``current`` is not modified.
    """
    merge_set = set(merge_lists or [])
    removals = list(remove or [])
    conflicts = sorted(set(removals) & _set_paths(settings))
    if conflicts:
        raise DaemonJsonError(f"keys both set and removed: {', '.join(conflicts)}")
    result = copy.deepcopy(current)
    _merge_into(result, settings, merge_set, "")
    for dotted in removals:
        found = _locate(result, dotted)
        if found is not None:
            parent, key = found
            del parent[key]
    return result


# --------------------------------------------------------------------------- classify


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Sorted top-level keys that were added, removed or changed."""
    keys = set(old) | set(new)
    return sorted(k for k in keys if k not in old or k not in new or old[k] != new[k])


def classify(old: dict[str, Any], new: dict[str, Any]) -> str:
    """How a running dockerd picks up the change from ``old`` to ``new``: none, reload or restart.

    "reload" (SIGHUP) only when every changed top-level key is in RELOADABLE_KEYS, no reloadable key
    whose reload code keeps the old value on removal was removed, and no start-up-only feature changed.
    """
    keys = changed_keys(old, new)
    if not keys:
        return "none"
    for key in keys:
        if key not in RELOADABLE_KEYS:
            return "restart"
        if key not in new and key not in RELOAD_RESETS_WHEN_REMOVED:
            return "restart"
        if key == "features":
            before = old.get("features") if isinstance(old.get("features"), dict) else {}
            after = new.get("features") if isinstance(new.get("features"), dict) else {}
            for feature in RESTART_ONLY_FEATURES:
                if before.get(feature) != after.get(feature):
                    return "restart"
    return "reload"


# --------------------------------------------------------------------------- builtin type check


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_str(value: Any) -> str | None:
    return None if isinstance(value, str) else f"is a {_json_type(value)}, expected a string"


def _check_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"is a {_json_type(value)}, expected a boolean"


def _check_int(value: Any) -> str | None:
    return None if _is_int(value) else f"is a {_json_type(value)}, expected an integer"


def _check_str_list(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"is a {_json_type(value)}, expected a list of strings"
    for index, item in enumerate(value):
        if not isinstance(item, str):
            return f"item {index} is a {_json_type(item)}, expected a list of strings"
    return None


def _check_list(value: Any) -> str | None:
    return None if isinstance(value, list) else f"is a {_json_type(value)}, expected a list"


def _check_abs_path(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"is a {_json_type(value)}, expected an absolute path string"
    if not value.startswith("/"):
        return f"{value!r} is not absolute, expected an absolute path string"
    return None


def _check_mirrors(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"is a {_json_type(value)}, expected a list of http(s) URL strings"
    for index, item in enumerate(value):
        if not isinstance(item, str):
            return f"item {index} is a {_json_type(item)}, expected a list of http(s) URL strings"
        parsed = urlparse(item)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return f"item {index} {item!r} is not an http(s) URL, expected a list of http(s) URL strings"
    return None


def _check_str_dict(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"is a {_json_type(value)}, expected an object of string to string"
    for key, item in value.items():
        if not isinstance(item, str):
            return f"{key!r} is a {_json_type(item)}, expected an object of string to string"
    return None


def _check_bool_dict(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"is a {_json_type(value)}, expected an object of name to boolean"
    for key, item in value.items():
        if not isinstance(item, bool):
            return f"{key!r} is a {_json_type(item)}, expected an object of name to boolean"
    return None


def _check_pools(value: Any) -> str | None:
    expected = "expected a list of {base: CIDR string, size: integer}"
    if not isinstance(value, list):
        return f"is a {_json_type(value)}, {expected}"
    for index, pool in enumerate(value):
        if not isinstance(pool, dict):
            return f"item {index} is a {_json_type(pool)}, {expected}"
        base, size = pool.get("base"), pool.get("size")
        if not isinstance(base, str):
            return f"item {index} base is a {_json_type(base)}, {expected}"
        try:
            ipaddress.ip_network(base, strict=False)
        except ValueError:
            return f"item {index} base {base!r} is not a CIDR, {expected}"
        if not _is_int(size) or not 1 <= size <= 128:
            return f"item {index} size {size!r} is not an integer prefix length, {expected}"
    return None


def _check_runtimes(value: Any) -> str | None:
    expected = "expected an object of name to {path: string, runtimeArgs/args: list of strings}"
    if not isinstance(value, dict):
        return f"is a {_json_type(value)}, {expected}"
    for name, runtime in value.items():
        if not isinstance(runtime, dict):
            return f"{name!r} is a {_json_type(runtime)}, {expected}"
        if "path" not in runtime and "runtimeType" not in runtime:
            return f"{name!r} has no path, {expected}"
        for field in ("path", "runtimeType"):
            if field in runtime and not isinstance(runtime[field], str):
                return f"{name!r} {field} is a {_json_type(runtime[field])}, {expected}"
        for field in ("args", "runtimeArgs"):
            if field in runtime and not _is_str_list(runtime[field]):
                return f"{name!r} {field} is not a list of strings, {expected}"
    return None


def _check_proxies(value: Any) -> str | None:
    allowed = ("http-proxy", "https-proxy", "no-proxy")
    expected = "expected an object with string values for http-proxy, https-proxy, no-proxy"
    if not isinstance(value, dict):
        return f"is a {_json_type(value)}, {expected}"
    for key, item in value.items():
        if key not in allowed:
            return f"unknown key {key!r}, {expected}"
        if not isinstance(item, str):
            return f"{key!r} is a {_json_type(item)}, {expected}"
    return None


def _check_ulimits(value: Any) -> str | None:
    expected = "expected an object of name to {Name: string, Soft: integer, Hard: integer}"
    if not isinstance(value, dict):
        return f"is a {_json_type(value)}, {expected}"
    for name, limit in value.items():
        if not isinstance(limit, dict):
            return f"{name!r} is a {_json_type(limit)}, {expected}"
        if "Name" in limit and not isinstance(limit["Name"], str):
            return f"{name!r} Name is a {_json_type(limit['Name'])}, {expected}"
        for field in ("Soft", "Hard"):
            if field in limit and not _is_int(limit[field]):
                return f"{name!r} {field} is a {_json_type(limit[field])}, {expected}"
    return None


TYPE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "registry-mirrors": _check_mirrors,
    "insecure-registries": _check_str_list,
    "allow-nondistributable-artifacts": _check_str_list,
    "log-driver": _check_str,
    "log-level": _check_str,
    "log-opts": _check_str_dict,
    "data-root": _check_abs_path,
    "exec-root": _check_abs_path,
    "live-restore": _check_bool,
    "debug": _check_bool,
    "ip-forward": _check_bool,
    "ip-masq": _check_bool,
    "iptables": _check_bool,
    "ip6tables": _check_bool,
    "ipv6": _check_bool,
    "icc": _check_bool,
    "userland-proxy": _check_bool,
    "experimental": _check_bool,
    "no-new-privileges": _check_bool,
    "init": _check_bool,
    "dns": _check_str_list,
    "dns-search": _check_str_list,
    "dns-opts": _check_str_list,
    "default-address-pools": _check_pools,
    "runtimes": _check_runtimes,
    "default-runtime": _check_str,
    "max-concurrent-downloads": _check_int,
    "max-concurrent-uploads": _check_int,
    "max-download-attempts": _check_int,
    "shutdown-timeout": _check_int,
    "labels": _check_list,
    "features": _check_bool_dict,
    "proxies": _check_proxies,
    "exec-opts": _check_list,
    "storage-opts": _check_str_list,
    "storage-driver": _check_str,
    "hosts": _check_str_list,
    "authorization-plugins": _check_str_list,
    "mtu": _check_int,
    "bip": _check_str,
    "fixed-cidr": _check_str,
    "cgroup-parent": _check_str,
    "group": _check_str,
    "default-ulimits": _check_ulimits,
}


def check_types(config: dict[str, Any]) -> list[str]:
    """Builtin type check of the keys this project knows; unknown keys are not checked.

    Each error reads "<key>: <what is wrong>, expected <type>".
    """
    errors: list[str] = []
    for key in sorted(config):
        check = TYPE_CHECKS.get(key)
        if check is None:
            continue
        problem = check(config[key])
        if problem:
            errors.append(f"{key}: {problem}")
    return errors


# --------------------------------------------------------------------------- dockerd validation


def dockerd_validate(runner: Runner, dockerd: str, text: str) -> tuple[bool | None, str]:
    """Validate candidate text with ``dockerd --validate --config-file TMP`` (Docker Engine >= 23).

    Returns (True, output) when valid, (False, output) when dockerd rejects it and (None, output) when
    this dockerd has no --validate flag ("unknown flag"). The temp file is always removed.
    """
    fd, tmp = tempfile.mkstemp(prefix="dockprov-daemon-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        rc, out, err = runner([dockerd, "--validate", "--config-file", tmp])
    finally:
        os.unlink(tmp)
    output = "\n".join(part.strip() for part in (out, err) if part and part.strip()).replace(
        tmp, "<candidate>"
    )
    if rc != 0 and "unknown flag" in output:
        return None, output
    return rc == 0, output


# --------------------------------------------------------------------------- file writing


def latest_backup(path: str) -> tuple[str, bool] | None:
    """(backup, is an absent marker) the last write of ``path`` left, or None when there is none.

    The newest backup in the current scheme; without one, dockprov 0.1's rolling backup or marker.
    """
    backups = find_backups(path)
    if backups:
        return backups[-1].path, backups[-1].absent
    if os.path.isfile(path + LEGACY_BACKUP_SUFFIX):
        return path + LEGACY_BACKUP_SUFFIX, False
    if os.path.exists(path + LEGACY_ABSENT_SUFFIX):
        return path + LEGACY_ABSENT_SUFFIX, True
    return None


# --------------------------------------------------------------------------- module entry point


def _diff(path: str, before: str, after: str) -> dict[str, str]:
    return {"before": before, "after": after, "before_header": path, "after_header": path}


def _result(path: str, changed: bool, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {
        "changed": changed,
        "path": path,
        "action": classify(old, new),
        "changed_keys": changed_keys(old, new),
        "config": new,
        "backup_file": None,
        "validated_with": "none",
    }


def run_present(params: dict[str, Any], check_mode: bool, runner: Runner | None, files: FileOps) -> dict[str, Any]:
    path = params["path"]
    old_text = read_text(path)
    old = parse(old_text, path)
    new = merge(old, params.get("settings") or {}, params.get("merge_lists"), params.get("remove"))
    changed = new != old
    result = _result(path, changed, old, new)
    new_text = render(new)
    result["diff"] = _diff(path, old_text or "", new_text if changed else old_text or "")
    if not changed:
        return result

    mode = params.get("validate", "auto")
    if mode in ("auto", "dockerd"):
        verdict: bool | None = None
        output = "dockerd not found"
        if runner is not None and params.get("dockerd_resolved"):
            verdict, output = dockerd_validate(runner, params["dockerd_resolved"], new_text)
        if verdict is None and mode == "dockerd":
            raise DaemonJsonError(f"validate=dockerd but dockerd cannot validate ({output})")
        if verdict is False:
            raise DaemonJsonError(f"dockerd rejected the new {path}: {output}")
        if verdict:
            result["validated_with"] = "dockerd"
        else:
            mode = "builtin"
    if mode == "builtin":
        errors = check_types(new)
        if errors:
            raise DaemonJsonError(f"invalid settings for {path}: " + "; ".join(errors))
        result["validated_with"] = "builtin"

    if check_mode:
        return result
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=DIR_MODE)
        os.chmod(directory, DIR_MODE)
    if params.get("backup", True):
        # the file as it was, or the marker that there was none: what state=restore puts back
        result["backup_file"] = files.backup(path) if old_text is not None else files.mark_absent(path)
    files.write(path, new_text)
    return result


def run_restore(params: dict[str, Any], check_mode: bool, files: FileOps) -> dict[str, Any]:
    """Put back what the last write replaced: its backup, or no file when that write created the file.

    Makes no backup of the file it replaces (the configuration the last write produced): restoring twice
    gives the same result.
    """
    path = params["path"]
    latest = latest_backup(path)
    if latest is None:
        raise DaemonJsonError(
            f"nothing to restore: no backup of {path} ({path}.<pid>.<time>~) and no marker that it did not exist"
        )
    used, absent = latest
    current_text = read_text(path)
    try:
        current = parse(current_text, path)
    except DaemonJsonParseError:
        current = {}
    target_text = None if absent else read_text(used)
    try:
        target = parse(target_text, used)
    except DaemonJsonParseError:
        target = {}
    changed = current_text != target_text
    result = _result(path, changed, current, target)
    result["backup_file"] = used
    result["diff"] = _diff(path, current_text or "", target_text or "")
    if changed and not check_mode:
        if target_text is None:
            files.remove(path)
        else:
            files.write(path, target_text, stat.S_IMODE(os.stat(used).st_mode))
    return result


PID_FILES = ("/var/run/docker.pid", "/run/docker.pid")


def running_dockerd(root: str = "/", pid_files: tuple[str, ...] = PID_FILES) -> int | None:
    """The PID of the running dockerd, from its pid file, if that process exists and is dockerd.

    Read when the module runs, so the handler that applies the file signals the daemon running now (a
    fact gathered earlier in the play may predate a start or restart)."""
    for pid_file in pid_files:
        with contextlib.suppress(OSError, ValueError):
            with open(os.path.join(root, pid_file.lstrip("/")), encoding="ascii") as handle:
                pid = int(handle.read().strip())
            with open(os.path.join(root, "proc", str(pid), "comm"), encoding="utf-8") as handle:
                if handle.read().strip() == "dockerd":
                    return pid
    return None


def run(
    params: dict[str, Any],
    check_mode: bool = False,
    runner: Runner | None = None,
    root: str = "/",
    files: FileOps | None = None,
) -> dict[str, Any]:
    """Everything the module does; raises DaemonJsonError for a failure. Writes nothing in check mode."""
    files = files or FileOps()
    if params.get("state", "present") == "restore":
        result = run_restore(params, check_mode, files)
    else:
        result = run_present(params, check_mode, runner, files)
    result["dockerd_pid"] = running_dockerd(root)
    return result
