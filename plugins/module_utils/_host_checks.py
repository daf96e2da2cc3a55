# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read-only checks of a host that the preflight asks for before anything changes (standard library only).

Users that roles will configure must exist; JSON files dockprov will merge into (daemon.json) must parse,
since a file dockprov cannot parse is reported, never overwritten. The same read also reports the accounts
(home, uid, gid) and the state of the files the roles own (type, mode, owner, and a regular file's SHA-1),
so that a role whose files are already as wanted needs no round trip of its own to find that out.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from typing import Any

# Files larger than this are never hashed (the files asked about are certificates).
HASH_LIMIT = 1 << 20


def _accounts(root: str) -> set:
    names = set()
    try:
        with open(os.path.join(root, "etc/passwd"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip() and not line.startswith("#"):
                    names.add(line.split(":", 1)[0])
    except OSError:
        pass
    return names


def passwd_entries(root: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """{name: {uid, gid, home}} from /etc/passwd for those of `names` that have an entry (getent's fields)."""
    wanted, out = set(names), {}
    try:
        with open(os.path.join(root, "etc/passwd"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 7 and fields[0] in wanted and fields[0] not in out:
                    try:
                        out[fields[0]] = {"uid": int(fields[2]), "gid": int(fields[3]), "home": fields[5]}
                    except ValueError:
                        continue
    except OSError:
        pass
    return out


def path_state(path: str, checksum: bool = True) -> dict[str, Any] | None:
    """None for a missing path; else {type: file|directory|link|other, mode: "0644", uid, gid} (lstat: a
    symlink is reported as a link, never followed), and `sha1` of a regular file when `checksum`."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return {"type": "unreadable", "error": str(exc)}
    kind = ("directory" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode)
            else "link" if stat.S_ISLNK(st.st_mode) else "other")
    out: dict[str, Any] = {"type": kind, "mode": f"{stat.S_IMODE(st.st_mode):04o}", "uid": st.st_uid, "gid": st.st_gid}
    if checksum and kind == "file" and st.st_size <= HASH_LIMIT:
        try:
            with open(path, "rb") as handle:
                out["sha1"] = hashlib.sha1(handle.read()).hexdigest()
        except OSError:
            pass
    return out


def json_read(path: str) -> tuple[str | None, dict[str, Any] | None]:
    """(why the JSON file at `path` cannot be used or None, its object: {} when empty, None when missing)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read ({exc})", None
    if not text.strip():
        return None, {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        return f"is not valid JSON ({exc})", None
    if not isinstance(data, dict):
        return "is valid JSON but not an object", None
    return None, data


def json_error(path: str) -> str | None:
    """Why the JSON file at `path` cannot be used, or None (missing, empty and valid objects are fine)."""
    return json_read(path)[0]


# dpkg states that only a finished run leaves (anything else means a run stopped half-way).
_FINAL_STATES = ("installed", "not-installed", "config-files")


def dpkg_interrupted(root: str = "/") -> bool:
    """What apt calls "dpkg was interrupted", as after a power cut or a killed install: dpkg's journal
    (/var/lib/dpkg/updates) holds entries it did not apply, or a package is left half-installed, unpacked or
    half-configured. `dpkg --configure -a` finishes the job (apt then reinstalls a half-installed one)."""
    try:
        if any(name.isdigit() for name in os.listdir(os.path.join(root, "var/lib/dpkg/updates"))):
            return True
    except OSError:
        pass
    try:
        with open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Status: ") and line.split()[-1] not in _FINAL_STATES:
                    return True
    except OSError:
        pass
    return False


def host_checks(root: str = "/", users: list[str] | None = None,
                json_paths: list[str] | None = None, files: list[str] | None = None,
                user_files: list[str] | None = None) -> dict[str, Any]:
    """{missing_users, json_errors: {path: why}, json_data, dpkg_interrupted, accounts, files} for what is given.

    `json_data`: {path: object} for each of `json_paths` that parses ({} when empty, None when missing).

    `accounts`: {user: {uid, gid, home, files: {relative path: state}}} for the `users` that exist, with the
    state (path_state, never a checksum: these can hold credentials) of each of `user_files` under the home.
    `files`: {path: state or None} for each of `files` (path_state, with the SHA-1 of a regular file)."""
    accounts = _accounts(root) if users else set()
    errors, data = {}, {}
    for path in json_paths or []:
        problem, data[path] = json_read(os.path.join(root, path.lstrip("/")))
        if problem:
            errors[path] = problem
    entries = passwd_entries(root, list(users or []))
    for entry in entries.values():
        home = os.path.join(root, entry["home"].lstrip("/"))
        entry["files"] = {rel: path_state(os.path.join(home, rel), checksum=False) for rel in user_files or []}
    return {"missing_users": sorted(u for u in users or [] if u not in accounts), "json_errors": errors,
            "json_data": data, "dpkg_interrupted": dpkg_interrupted(root), "accounts": entries,
            "files": {path: path_state(os.path.join(root, path.lstrip("/"))) for path in files or []}}
