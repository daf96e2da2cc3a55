"""The shell shared by dockprov's file-owning modules (daemon.json, the init script, wsl.conf).

Each module's logic is a plain `run(params, check_mode=...)` in module_utils that returns a result with a
`diff` and raises its own error type; this runs it, reports failures with the file's path, and shows the
diff only in diff mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_and_exit(module: Any, run: Callable[[], dict[str, Any]], errors: tuple[type[Exception], ...]) -> None:
    """exit_json with run()'s result, or fail_json naming module.params['path'] on one of `errors` or OSError."""
    path = module.params["path"]
    try:
        result = run()
    except errors as exc:
        module.fail_json(msg=str(exc), path=path)
    except OSError as exc:
        module.fail_json(msg=f"{path}: {exc}", path=path)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)
