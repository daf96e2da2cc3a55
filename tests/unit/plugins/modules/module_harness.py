"""Run a collection module's main() in-process, the way community.docker's unit tests do."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


def load(name: str):
    """Import plugins/modules/<name>.py as Ansible names it."""
    return importlib.import_module(f"ansible_collections.dockprov.docker.plugins.modules.{name}")


class ModuleExit(Exception):
    def __init__(self, result: dict[str, Any], failed: bool):
        super().__init__(json.dumps(result, default=str))
        self.result = result
        self.failed = failed


def run(
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    args: dict[str, Any],
    check_mode: bool = False,
    diff: bool = False,
) -> tuple[bool, dict[str, Any]]:
    """Run ``module.main()`` with ``args``; returns (failed, result)."""

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        kwargs["failed"] = True
        raise ModuleExit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    full = dict(args)
    full["_ansible_check_mode"] = check_mode
    full["_ansible_diff"] = diff
    with patch_module_args(full), pytest.raises(ModuleExit) as info:
        module.main()
    return info.value.failed, info.value.result


class FakeResponse:
    def __init__(self, body: bytes):
        self._body = body

    def read(self) -> bytes:
        return self._body


class FakeFetch:
    """Stand-in for fetch_url: {url: bytes | (status, msg)}; records the URLs requested."""

    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, module, url, *args, **kwargs):
        self.calls.append(url)
        answer = self.answers.get(url, (-1, "Request failed: <urlopen error [Errno -2] Name or service not known>"))
        if isinstance(answer, bytes):
            return FakeResponse(answer), {"status": 200, "msg": "OK", "url": url}
        status, msg = answer
        return None, {"status": status, "msg": msg, "url": url}
