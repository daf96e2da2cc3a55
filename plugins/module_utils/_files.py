# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""File writes, backups and removals for every file dockprov rewrites or removes.

The logic in module_utils never writes, backs up or removes a file itself: it is handed a FileOps object.
Modules pass ``ModuleFileOps(module)``, which uses AnsibleModule's own ``atomic_move`` (SELinux contexts,
owner and mode of the replaced file kept) and ``backup_local``; unit tests and callers without a module use
``FileOps``, which does the same with the standard library and names backups the same way.

One backup scheme: Ansible's ``<file>.<pid>.<YYYY-MM-DD@HH:MM:SS>~``, next to the file. apt ignores names
ending in ``~`` in sources.list.d and trusted.gpg.d (Dir::Ignore-Files-Silently), and systemd's SysV
generator ignores them in /etc/init.d, so a backup is never read as configuration.

Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_MODE = 0o644
# AnsibleModule.backup_local's time stamp (local time), and its backup name: <path>.<pid>.<stamp>~
BACKUP_TIME_FORMAT = "%Y-%m-%d@%H:%M:%S"
# A marker in the same scheme that records "this file did not exist before dockprov created it".
ABSENT_MARKER = ".absent"

_BACKUP_SUFFIX = re.compile(
    r"^\.(?P<pid>[0-9]+)\.(?P<stamp>[0-9]{4}-[0-9]{2}-[0-9]{2}@[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?P<absent>" + re.escape(ABSENT_MARKER) + r")?~$"
)


class FileOpsError(OSError):
    """A write, backup or removal failed (AnsibleModule's helpers raise plain exceptions for some failures)."""


def backup_name(path: str, pid: int, now: float, absent: bool = False) -> str:
    """``<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~`` (AnsibleModule.backup_local's name); with ``absent`` the marker
    ``<path>.<pid>.<stamp>.absent~``."""
    stamp = time.strftime(BACKUP_TIME_FORMAT, time.localtime(now))
    return f"{path}.{pid}.{stamp}{ABSENT_MARKER if absent else ''}~"


@dataclass
class Backup:
    """One backup of a file (or an absent marker) found next to it."""

    path: str
    pid: int
    stamp: str
    absent: bool  # a marker: the file did not exist before the write that left it


def find_backups(path: str) -> list[Backup]:
    """Backups of ``path`` in the scheme above (markers included), oldest first.

    Ordered by the time in the name, then by the backup's ctime (two backups in one second).
    """
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    found: list[tuple[str, int, str, Backup]] = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    for name in names:
        if not name.startswith(base):
            continue
        match = _BACKUP_SUFFIX.match(name[len(base) :])
        if not match:
            continue
        full = os.path.join(directory, name)
        try:
            ctime = os.lstat(full).st_ctime_ns
        except FileNotFoundError:
            continue
        backup = Backup(full, int(match.group("pid")), match.group("stamp"), bool(match.group("absent")))
        found.append((backup.stamp, ctime, name, backup))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _temp_copy(path: str, payload: bytes) -> str:
    """``payload`` in a hidden temp file beside ``path``, flushed to disk; returns its name."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _payload(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def atomic_write(path: str, data: str | bytes, default_mode: int = DEFAULT_MODE, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path``: temp file in the same directory, fsync, os.replace, fsync the directory.

    An existing file keeps its mode and owner unless ``mode`` forces one; a new file gets ``default_mode``.
    A failure leaves the old file as it was and no temp file behind.
    """
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    if mode is None:
        mode = stat.S_IMODE(info.st_mode) if info else default_mode
    tmp = _temp_copy(path, _payload(data))
    try:
        os.chmod(tmp, mode)
        if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):
                os.chown(tmp, info.st_uid, info.st_gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


class FileOps:
    """Writes, backups and removals with the standard library (unit tests; callers without a module).

    ``clock`` gives the time a backup is named after (tests pass their own).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def write(self, path: str, data: str | bytes, mode: int | None = None) -> None:
        """Replace ``path`` atomically. ``mode`` None: an existing file keeps its mode and owner, a new one
        gets 0644."""
        atomic_write(path, data, mode=mode)

    def backup(self, path: str) -> str | None:
        """Copy ``path`` to its backup name (mode, times and owner kept); None when there is no file."""
        if not os.path.exists(path):
            return None
        now = self._clock()
        dest = backup_name(path, os.getpid(), now)
        while os.path.lexists(dest):  # two backups in one second: never overwrite the first
            now += 1
            dest = backup_name(path, os.getpid(), now)
        shutil.copy2(path, dest)
        info = os.stat(path)
        with contextlib.suppress(OSError):
            os.chown(dest, info.st_uid, info.st_gid)
        return dest

    def mark_absent(self, path: str) -> str:
        """Leave the marker that says ``path`` did not exist before this write; returns its name."""
        now = self._clock()
        marker = backup_name(path, os.getpid(), now, absent=True)
        while os.path.lexists(marker):
            now += 1
            marker = backup_name(path, os.getpid(), now, absent=True)
        self.write(marker, b"", mode=DEFAULT_MODE)
        return marker

    def remove(self, path: str) -> None:
        os.unlink(path)


class ModuleFileOps(FileOps):
    """FileOps through an AnsibleModule: ``atomic_move`` for writes, ``backup_local`` for backups."""

    def __init__(self, module: Any) -> None:
        super().__init__()
        self._module = module

    def write(self, path: str, data: str | bytes, mode: int | None = None) -> None:
        existed = os.path.exists(path)
        tmp = _temp_copy(path, _payload(data))
        try:
            self._module.atomic_move(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, Exception) and not isinstance(exc, OSError):
                raise FileOpsError(f"cannot replace {path}: {exc}") from exc
            raise
        wanted = mode if mode is not None else (None if existed else DEFAULT_MODE)
        if wanted is not None and stat.S_IMODE(os.stat(path).st_mode) != wanted:
            os.chmod(path, wanted)
        _fsync_dir(os.path.dirname(os.path.abspath(path)))

    def backup(self, path: str) -> str | None:
        if not os.path.exists(path):
            return None
        try:
            dest = self._module.backup_local(path)
        except Exception as exc:
            # AnsibleModule's message leaves out why (disk full, ...); its cause says it. A copy the failure
            # cut short (this process's, next to the file) is no backup: remove it.
            prefix = f"{os.path.basename(path)}.{os.getpid()}."
            folder = os.path.dirname(path) or "."
            for name in os.listdir(folder):
                if name.startswith(prefix) and name.endswith("~"):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(folder, name))
            why = exc.__cause__ or exc
            raise FileOpsError(f"cannot back up {path} before changing it: {why}") from exc
        return dest or None
