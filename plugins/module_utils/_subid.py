# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Subordinate uid/gid ranges (/etc/subuid, /etc/subgid) for rootless Docker: parse, check, allocate.

Pure functions on file text; the module dockprov.docker.subid does the reading and the atomic writes.

A line is ``owner:start:count``; owner is a user name or a numeric uid (newuidmap accepts both). Two ranges
that share an id let one user's containers read and write the other's files, so any overlap in a file, ours
or not, is an error reported before anything is written, naming both lines.
"""

from __future__ import annotations

from dataclasses import dataclass

# login.defs' SUB_UID_MIN / SUB_GID_MIN defaults: new ranges never start below it.
SUBID_MIN = 100000
# What useradd gives a new user, and what rootless Docker needs (an image's files use ids up to 65535).
DEFAULT_COUNT = 65536
# The largest id the kernel maps (uid_t is 32 bits; 4294967295 is "no id").
SUBID_MAX = 4294967294


class SubidError(Exception):
    """A file that cannot be used as it is, or a request that cannot be met; the message says which and why."""


@dataclass(frozen=True)
class Entry:
    owner: str
    start: int
    count: int
    lineno: int  # 1-based; 0 for a line this run adds

    @property
    def end(self) -> int:
        """First id after the range."""
        return self.start + self.count

    def text(self) -> str:
        return f"{self.owner}:{self.start}:{self.count}"


@dataclass(frozen=True)
class Request:
    """One user's wish: at least `count` ids, at `start` when given."""

    name: str
    uid: int
    count: int = DEFAULT_COUNT
    start: int | None = None


def parse(text: str, path: str) -> list[Entry]:
    """Entries of a subuid/subgid file; blank lines and # comments are skipped."""
    entries = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit():
            raise SubidError(f"{path}: line {lineno} ({line!r}) is not owner:start:count; fix or remove it")
        entries.append(Entry(parts[0], int(parts[1]), int(parts[2]), lineno))
    return entries


def _describe(entry: Entry, path: str) -> str:
    where = f"line {entry.lineno}" if entry.lineno else "the new line"
    return f"{where} ({entry.text()}, ids {entry.start}-{entry.end - 1})"


def overlaps(entries: list[Entry], path: str) -> list[str]:
    """One message per pair of ranges that share ids (empty ranges share none)."""
    found = []
    ordered = sorted((e for e in entries if e.count > 0), key=lambda e: (e.start, e.lineno))
    for i, first in enumerate(ordered):
        for second in ordered[i + 1:]:
            if second.start >= first.end:
                break
            a, b = sorted((first, second), key=lambda e: (e.lineno == 0, e.lineno))
            found.append(f"{path}: {_describe(b, path)} overlaps {_describe(a, path)}")
    return found


def _owned(entries: list[Entry], request: Request) -> list[Entry]:
    return [e for e in entries if e.owner in (request.name, str(request.uid))]


def _next_free(taken: list[Entry], count: int) -> int:
    """The lowest start >= SUBID_MIN after which `count` ids are free in every file's ranges."""
    start = SUBID_MIN
    for entry in sorted(taken, key=lambda e: e.start):
        if entry.count <= 0 or entry.end <= start:
            continue
        if entry.start >= start + count:
            break
        start = entry.end
    if start + count - 1 > SUBID_MAX:
        raise SubidError(f"no free range of {count} subordinate ids is left below {SUBID_MAX}")
    return start


def plan(files: dict[str, str], requests: list[Request]) -> tuple[dict[str, str], dict[str, dict[str, dict[str, int]]]]:
    """New text of each file and each user's range in it.

    `files` maps path -> current text (both /etc/subuid and /etc/subgid, normally). Checks first, changes
    nothing on error: an overlap already in a file, a malformed line, a user whose existing range is too
    small, or an explicit start that would overlap someone else's range.
    A user with a big enough range keeps it; otherwise it gets the lowest start (at or above SUBID_MIN) whose
    ids are free in every file, the same in all of them (so uids and gids line up).
    """
    parsed = {path: parse(text, path) for path, text in files.items()}
    errors = [msg for path, entries in parsed.items() for msg in overlaps(entries, path)]
    if errors:
        raise SubidError("overlapping subordinate id ranges: " + "; ".join(errors)
                         + ". Give each user a range of its own, then run again.")
    added: dict[str, list[Entry]] = {path: [] for path in files}
    replaced: dict[str, set[int]] = {path: set() for path in files}
    ranges: dict[str, dict[str, dict[str, int]]] = {}
    for req in requests:
        if req.count < DEFAULT_COUNT:
            raise SubidError(f"{req.name}: subid count {req.count} is too small; rootless Docker needs at least "
                             f"{DEFAULT_COUNT} ids")
        ranges[req.name] = {}
        if req.start is not None:
            if req.start < 1 or req.start + req.count - 1 > SUBID_MAX:
                raise SubidError(f"{req.name}: subid start {req.start} is out of range (1-{SUBID_MAX - req.count + 1})")
            for path, entries in parsed.items():
                owned = _owned(entries, req)
                if len(owned) == 1 and (owned[0].start, owned[0].count) == (req.start, req.count):
                    ranges[req.name][path] = {"start": req.start, "count": req.count}
                    continue
                replaced[path] |= {e.lineno for e in owned}
                new = Entry(req.name, req.start, req.count, 0)
                others = [e for e in entries if e.lineno not in replaced[path]] + added[path]
                clash = overlaps([*others, new], path)
                if clash:
                    raise SubidError(f"{req.name}: subid start {req.start} overlaps another range: "
                                     + "; ".join(clash))
                added[path].append(new)
                ranges[req.name][path] = {"start": req.start, "count": req.count}
            continue
        missing = []
        for path, entries in parsed.items():
            owned = _owned(entries, req)
            big = [e for e in owned if e.count >= req.count]
            if big:
                ranges[req.name][path] = {"start": big[0].start, "count": big[0].count}
            elif owned:
                raise SubidError(
                    f"{path}: {req.name} has only {', '.join(_describe(e, path) for e in owned)}; rootless Docker "
                    f"needs {req.count} ids. Remove that line or set this user's subid_start to move it."
                )
            else:
                missing.append(path)
        if missing:
            taken = [e for entries in parsed.values() for e in entries] + [e for a in added.values() for e in a]
            start = _next_free(taken, req.count)
            for path in missing:
                added[path].append(Entry(req.name, start, req.count, 0))
                ranges[req.name][path] = {"start": start, "count": req.count}
    texts = {}
    for path, text in files.items():
        if not added[path] and not replaced[path]:
            texts[path] = text
            continue
        lines = [line for n, line in enumerate(text.splitlines(), start=1) if n not in replaced[path]]
        lines += [e.text() for e in added[path]]
        texts[path] = "\n".join(lines) + "\n"
    return texts, ranges
