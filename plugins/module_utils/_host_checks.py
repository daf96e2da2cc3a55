# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read-only checks of a host that the preflight asks for before anything changes (standard library only).

Users that roles will configure must exist; JSON files dockprov will merge into (daemon.json) must parse,
since a file dockprov cannot parse is reported, never overwritten.
"""

from __future__ import annotations

import json
import os
from typing import Any


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


def json_error(path: str) -> str | None:
    """Why the JSON file at `path` cannot be used, or None (missing, empty and valid objects are fine)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read ({exc})"
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        return f"is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return "is valid JSON but not an object"
    return None


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
                json_paths: list[str] | None = None) -> dict[str, Any]:
    """{missing_users: [...], json_errors: {path: why}, dpkg_interrupted: bool} for the users and files given."""
    accounts = _accounts(root) if users else set()
    errors = {}
    for path in json_paths or []:
        problem = json_error(os.path.join(root, path.lstrip("/")))
        if problem:
            errors[path] = problem
    return {"missing_users": sorted(u for u in users or [] if u not in accounts), "json_errors": errors,
            "dpkg_interrupted": dpkg_interrupted(root)}
