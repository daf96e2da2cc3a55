"""Whether the running lab can serve the live tests, and the pytest marks that say so.

`make test` starts the lab and sets DOCKPROV_LAB_REQUIRED=1: there a missing lab is an error, not a skip
(a test that silently skips can never fail). Run by hand without the lab, the live tests skip with the reason.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent.parent
LAB_VARS = PROJECT / "inventory/lab/group_vars/all/lab_generated.yml"


def reason(container: str = "dockprov-mirror", need_vars: bool = True) -> str | None:
    """Why the live tests cannot run, or None."""
    try:
        running = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", container],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker CLI unusable: {exc}"
    if running != "true":
        return f"the lab is not up ({container} is not running): run `dockprov lab up`"
    if need_vars and not LAB_VARS.exists():
        return f"{LAB_VARS.relative_to(PROJECT)} is missing: run `dockprov lab up`"
    return None


def marks(container: str = "dockprov-mirror", need_vars: bool = True) -> list[pytest.MarkDecorator]:
    """pytestmark for a live lab test module."""
    why = reason(container, need_vars)
    if why is not None and os.environ.get("DOCKPROV_LAB_REQUIRED") == "1":
        raise RuntimeError(f"DOCKPROV_LAB_REQUIRED=1 but {why}")
    return [pytest.mark.lab, pytest.mark.skipif(why is not None, reason=why or "")]
