"""Shared pytest set-up: make module_utils/ and library/ importable as plain modules."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for sub in ("module_utils", "library", "filter_plugins"):
    path = str(ROOT / sub)
    if path not in sys.path:
        sys.path.insert(0, path)
