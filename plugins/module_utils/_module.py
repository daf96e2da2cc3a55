# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""The shell shared by dockprov's modules, and the argument specs of their shared options.

Each module's logic is a plain ``run(params, check_mode=..., files=...)`` in module_utils that returns a
result with a ``diff`` (and optionally ``warnings``) and raises ModuleError; ``run_and_exit`` runs it, reports
failures with the file's path, passes warnings to ``module.warn`` and shows the diff only in diff mode.

The option specs below match the doc fragments in plugins/doc_fragments (backup.py, url.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ModuleError(Exception):
    """A failure the module reports with fail_json: the message, and result keys reported with it."""

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.result = result


def backup_argument_spec() -> dict[str, Any]:
    """The ``backup`` option (doc fragment dockprov.docker.backup)."""
    return {"backup": {"type": "bool", "default": True}}


def url_argument_spec(timeout: int = 10) -> dict[str, Any]:
    """The ``timeout`` and ``validate_certs`` options (doc fragment dockprov.docker.url)."""
    return {
        "timeout": {"type": "int", "default": timeout},
        "validate_certs": {"type": "bool", "default": True},
    }


def run_and_exit(module: Any, run: Callable[[], dict[str, Any]], path_key: str = "path") -> None:
    """exit_json with run()'s result, or fail_json naming ``module.params[path_key]`` on ModuleError or OSError."""
    path = module.params[path_key]
    try:
        result = run()
    except ModuleError as exc:
        module.fail_json(msg=str(exc), **{path_key: path, **exc.result})
    except OSError as exc:
        msg = str(exc) if getattr(exc, "filename", None) else f"{path}: {exc}"
        module.fail_json(msg=msg, **{path_key: path})
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    diff = result.pop("diff", None)
    if module._diff and diff is not None:
        result["diff"] = diff
    module.exit_json(**result)
