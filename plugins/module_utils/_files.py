"""Atomic file writes shared by every dockprov module (standard library only: runs on the hosts)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def atomic_write(path: str, data: str | bytes, default_mode: int = 0o644, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path``: temp file in the same directory, fsync, os.replace, fsync the directory.

    An existing file keeps its mode and owner unless ``mode`` forces one; a new file gets ``default_mode``.
    A failure leaves the old file as it was and no temp file behind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    if mode is None:
        mode = stat.S_IMODE(info.st_mode) if info else default_mode
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
            if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(handle.fileno(), info.st_uid, info.st_gid)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
