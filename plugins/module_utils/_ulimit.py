# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Logic of the init_ulimit module: make the ulimit lines of /etc/init.d/docker safe.

Debian's docker.io init script runs ``ulimit -n 1048576`` and Docker 25+'s docker-ce script runs
``ulimit -Hn 524288``, both under ``set -e``. Where the hard limit cannot be raised (containers, EPERM) or the
soft limit is above the new hard limit (WSL, EINVAL) the line aborts ``service docker start``.

mode "guard" rewrites every ulimit *setting* line into a POSIX sh one-liner that never fails and never
raises a hard limit; mode "seed" makes the tutorial's edit (``-Hn`` -> ``-n``).

Standard library only: this file is shipped to target hosts (Python 3.9+).
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError

DEFAULT_PATH = "/etc/init.d/docker"
MARKER = "# dockprov: guarded"

# A whole line that only sets a limit: "ulimit <flags> <number|unlimited>", optional trailing ";" or comment.
# Queries ("ulimit -n"), compound lines ("ulimit -n 10 && x") and comments are not matched.
_SETTING = re.compile(
    r"^(?P<indent>[ \t]*)(?P<cmd>ulimit(?P<flags>(?:[ \t]+-[A-Za-z]+)+)[ \t]+(?P<value>[0-9]+|unlimited))"
    r"[ \t]*;?[ \t]*(?P<comment>#.*)?$"
)
_SEED = re.compile(r"^(?P<head>[ \t]*ulimit[ \t]+)-Hn\b")


class UlimitError(ModuleError):
    """A failure the module reports with fail_json."""


def parse_flags(flags: str) -> tuple[str, str] | None:
    """Split "-Hn" / "-H -n" / "-n" into (which, resource): which is "H", "S" or "HS" (both).

    None when the flags name no resource or more than one (left alone: not a line we understand).
    """
    letters = "".join(part.lstrip("-") for part in flags.split())
    which = "".join(sorted(set(letters) & {"H", "S"}))
    resources = [c for c in letters if c not in "HS"]
    if len(resources) != 1:
        return None
    return (which or "HS"), resources[0]


def guard_command(which: str, resource: str, value: str) -> str:
    """POSIX sh for one ulimit setting that cannot fail under ``set -e`` and never raises a hard limit.

    - ``unlimited``: try it, ignore failure.
    - hard only (``-H``): lower the hard limit to N when it is above N (lowering the soft limit first when
      it is above N too, or the kernel answers EINVAL); keep it otherwise.
    - soft, or soft and hard (``-n``): set the soft limit to min(N, hard limit); the hard limit is kept.
    """
    r = resource
    if value == "unlimited":
        flag = "" if which == "HS" else which
        return f"ulimit -{flag}{r} unlimited 2>/dev/null || true"
    n = value
    if which == "H":
        return (
            f"{{ _dockprov_hard=$(ulimit -H{r} 2>/dev/null) || _dockprov_hard=; "
            f'if [ "$_dockprov_hard" = unlimited ] || [ "$_dockprov_hard" -gt {n} ] 2>/dev/null; then '
            f"_dockprov_soft=$(ulimit -S{r} 2>/dev/null) || _dockprov_soft=; "
            f'if [ "$_dockprov_soft" = unlimited ] || [ "$_dockprov_soft" -gt {n} ] 2>/dev/null; then '
            f"ulimit -S{r} {n} 2>/dev/null || true; fi; "
            f"ulimit -H{r} {n} 2>/dev/null || true; fi; }}"
        )
    return (
        f"{{ _dockprov_want={n}; _dockprov_hard=$(ulimit -H{r} 2>/dev/null) || _dockprov_hard=; "
        f'if [ "$_dockprov_hard" != unlimited ] && [ "$_dockprov_hard" -lt {n} ] 2>/dev/null; then '
        f"_dockprov_want=$_dockprov_hard; fi; "
        f'ulimit -S{r} "$_dockprov_want" 2>/dev/null || true; }}'
    )


def _split_eol(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def guard_line(line: str) -> str | None:
    """The guarded form of one line (end of line kept), or None when the line is left alone."""
    body, eol = _split_eol(line)
    if MARKER in body:
        return None
    match = _SETTING.match(body)
    if not match:
        return None
    parsed = parse_flags(match.group("flags"))
    if parsed is None:
        return None
    which, resource = parsed
    original = body.strip()
    guarded = guard_command(which, resource, match.group("value"))
    return f"{match.group('indent')}{guarded} {MARKER} (was: {original}){eol}"


def seed_line(line: str) -> str | None:
    """The tutorial's edit: on a ``ulimit -Hn`` line replace ``-Hn`` with ``-n``; None for other lines."""
    body, eol = _split_eol(line)
    if MARKER in body:
        return None
    match = _SEED.match(body)
    if not match:
        return None
    return f"{match.group('head')}-n{body[match.end() :]}{eol}"


def patch(text: str, mode: str = "guard") -> tuple[str, list[dict[str, Any]]]:
    """Patch every matching line. Returns (new text, [{line_number, before, after}])."""
    if mode not in ("guard", "seed"):
        raise UlimitError(f"unknown mode {mode!r}")
    editor = guard_line if mode == "guard" else seed_line
    out: list[str] = []
    patched: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        new = editor(line)
        if new is None or new == line:
            out.append(line)
            continue
        out.append(new)
        patched.append({"line_number": number, "before": _split_eol(line)[0], "after": _split_eol(new)[0]})
    return "".join(out), patched


# --------------------------------------------------------------------------- file writing


def run(params: dict[str, Any], check_mode: bool = False, files: FileOps | None = None) -> dict[str, Any]:
    """Everything the module does; raises UlimitError on failure. Writes nothing in check mode.

    With ``backup`` every change first copies the script to <path>.<pid>.<time>~ (the oldest such copy is the
    script as the package installed it).
    """
    files = files or FileOps()
    path = params.get("path") or DEFAULT_PATH
    result: dict[str, Any] = {"changed": False, "path": path, "patched_lines": [], "backup_file": None}
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        if params.get("missing_ok"):
            result.update(skipped=True, msg=f"{path} does not exist")
            result["diff"] = {"before": "", "after": "", "before_header": path, "after_header": path}
            return result
        raise UlimitError(f"{path} does not exist (is Docker installed with its init script?)") from None
    new_text, patched = patch(text, params.get("mode") or "guard")
    result["patched_lines"] = patched
    result["diff"] = {"before": text, "after": new_text, "before_header": path, "after_header": path}
    if new_text == text:
        return result
    result["changed"] = True
    if check_mode:
        return result
    if params.get("backup", True):
        result["backup_file"] = files.backup(path)
    files.write(path, new_text)
    return result
