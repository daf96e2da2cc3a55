"""Cache keys: an image is rebuilt only when one of its inputs changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Bump to rebuild every lab image after a change the inputs below cannot see.
LAB_FORMAT = "1"


def key(*parts: str | bytes | Path) -> str:
    """sha256 over the given strings, bytes and file contents, in order (file names are not part of it)."""
    digest = hashlib.sha256(LAB_FORMAT.encode())
    for part in parts:
        if isinstance(part, Path):
            data = part.read_bytes()
        elif isinstance(part, str):
            data = part.encode()
        else:
            data = part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:20]
