# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Logic of the wsl_conf module: a [boot] command that starts Docker in /etc/wsl.conf.

wsl.conf is INI-like. The edit is line-based so other sections, keys, comments, blank lines and their
order survive byte for byte (a configparser round-trip would drop comments and reformat).

Standard library only: this file is shipped to target hosts (Python 3.9+).
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError

DEFAULT_PATH = "/etc/wsl.conf"
DEFAULT_COMMAND = "service docker start"
NOTE_RESTART = "takes effect after `wsl --shutdown` (from Windows) and the next start of the distribution"

_SECTION = re.compile(r"^[ \t]*\[(?P<name>[^\]]*)\][ \t]*(?:[#;].*)?$")
_KEY = re.compile(r"^(?P<prefix>[ \t]*(?P<key>[A-Za-z0-9_.-]+)[ \t]*=[ \t]*)(?P<value>.*?)[ \t]*$")


class WslConfError(ModuleError):
    """A failure the module reports with fail_json."""


def _unquote(value: str) -> tuple[str, bool]:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1], True
    return value, False


def merge_command(existing: str, ours: str) -> str:
    """``existing; ours`` unless ``existing`` already contains ``ours``. A trailing ``&`` is respected."""
    existing = existing.strip()
    if ours in existing:
        return existing
    if not existing:
        return ours
    if existing.endswith("&") and not existing.endswith("&&"):
        return f"{existing} {ours}"
    return f"{existing.rstrip(';').rstrip()}; {ours}"


def _eol(lines: list[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"


def _section_bounds(lines: list[str], name: str) -> tuple[int, int] | None:
    """(header index, end index exclusive) of the first section called ``name`` (case-insensitive)."""
    start = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line.rstrip("\r\n"))
        if not match:
            continue
        if start is not None:
            return start, index
        if match.group("name").strip().lower() == name:
            start = index
    return (start, len(lines)) if start is not None else None


def _find_key(lines: list[str], bounds: tuple[int, int], key: str) -> tuple[int, re.Match[str]] | None:
    for index in range(bounds[0] + 1, bounds[1]):
        match = _KEY.match(lines[index].rstrip("\r\n"))
        if match and match.group("key").lower() == key:
            return index, match
    return None


def _insert_in_section(lines: list[str], bounds: tuple[int, int], text: str) -> None:
    """Insert a line after the last non-blank line of the section (keeps the blank line before the next)."""
    at = bounds[0] + 1
    for index in range(bounds[0] + 1, bounds[1]):
        if lines[index].strip():
            at = index + 1
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += _eol(lines)
    lines.insert(at, text + _eol(lines))


def update(text: str, boot_command: str = DEFAULT_COMMAND, systemd: bool = False) -> tuple[str, list[str]]:
    """Return (new text, notes). ``systemd=False`` leaves any systemd key as it is."""
    if not boot_command.strip():
        raise WslConfError("boot_command must not be empty")
    lines = text.splitlines(keepends=True)
    notes: list[str] = []
    eol = _eol(lines)
    bounds = _section_bounds(lines, "boot")
    if bounds is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += eol
        if lines and lines[-1].strip():
            lines.append(eol)
        lines.append("[boot]" + eol)
        bounds = (len(lines) - 1, len(lines))

    found = _find_key(lines, bounds, "command")
    if found is None:
        _insert_in_section(lines, bounds, f'command="{boot_command}"')
        notes.append(f"[boot] command {NOTE_RESTART}")
        bounds = (bounds[0], bounds[1] + 1)
    else:
        index, match = found
        value, quoted = _unquote(match.group("value"))
        merged = merge_command(value, boot_command)
        if merged != value.strip():
            new_value = f'"{merged}"' if quoted or not value.strip() else merged
            ending = lines[index][len(lines[index].rstrip("\r\n")) :]
            lines[index] = f"{match.group('prefix')}{new_value}{ending}"
            notes.append(f"[boot] command {NOTE_RESTART}")

    if systemd:
        found = _find_key(lines, bounds, "systemd")
        if found is None:
            _insert_in_section(lines, bounds, "systemd=true")
            notes.append(f"[boot] systemd=true {NOTE_RESTART}")
        else:
            index, match = found
            if _unquote(match.group("value"))[0].strip().lower() != "true":
                ending = lines[index][len(lines[index].rstrip("\r\n")) :]
                lines[index] = f"{match.group('prefix')}true{ending}"
                notes.append(f"[boot] systemd=true {NOTE_RESTART}")
    return "".join(lines), notes


# --------------------------------------------------------------------------- file writing


def run(params: dict[str, Any], check_mode: bool = False, files: FileOps | None = None) -> dict[str, Any]:
    """Everything the module does; raises WslConfError on failure. Writes nothing in check mode."""
    files = files or FileOps()
    path = params.get("path") or DEFAULT_PATH
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text: str | None = handle.read()
    except FileNotFoundError:
        text = None
    new_text, notes = update(
        text or "", params.get("boot_command") or DEFAULT_COMMAND, bool(params.get("systemd"))
    )
    changed = new_text != (text or "") or text is None
    result: dict[str, Any] = {
        "changed": changed,
        "path": path,
        "notes": notes,
        "backup_file": None,
        "diff": {"before": text or "", "after": new_text, "before_header": path, "after_header": path},
    }
    if not changed or check_mode:
        return result
    if params.get("backup", True) and text is not None:
        result["backup_file"] = files.backup(path)
    files.write(path, new_text)
    return result
