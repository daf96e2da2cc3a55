"""Every module and filter renders in ansible-doc, and each module's documented options match its argument spec
(what ansible-test's validate-modules checks, in a few lines)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils import basic

ROOT = Path(__file__).resolve().parents[3]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
# Modules that are only the documentation of an action plugin of the same name (no main() to call).
ACTION_DOCS = sorted(m for m in MODULES if (ROOT / "plugins" / "action" / f"{m}.py").exists())
FILTERS = ["key_urls", "resolve_version", "upstream_version"]
ANSIBLE_DOC = str(Path(sys.executable).with_name("ansible-doc"))

# The releases a plugin may say it was added in: the released ones and the next (changelogs/changelog.yaml).
RELEASES = ("0.1.0", "0.2.0", "0.3.0")


def ansible_doc(kind: str, names: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [ANSIBLE_DOC, "--json", "-t", kind, *(f"dockprov.docker.{n}" for n in names)],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"), "ANSIBLE_NOCOLOR": "1"},
    )
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def module_docs() -> dict[str, Any]:
    return ansible_doc("module", MODULES)


class Captured(Exception):
    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("captured")
        self.kwargs = kwargs


def argument_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    def init(self, **kwargs):
        raise Captured(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "__init__", init)
    module = importlib.import_module(f"ansible_collections.dockprov.docker.plugins.modules.{name}")
    with pytest.raises(Captured) as info:
        module.main()
    return info.value.kwargs


def test_every_module_renders(module_docs):
    assert sorted(module_docs) == [f"dockprov.docker.{n}" for n in MODULES]


@pytest.mark.parametrize("name", [m for m in MODULES if m not in ACTION_DOCS])
def test_documented_options_match_the_argument_spec(name, module_docs, monkeypatch):
    doc = module_docs[f"dockprov.docker.{name}"]["doc"]
    kwargs = argument_spec(name, monkeypatch)
    spec = kwargs["argument_spec"]
    assert sorted(doc["options"]) == sorted(spec)
    for option, want in spec.items():
        have = doc["options"][option]
        assert have.get("type", "str") == want.get("type", "str"), option
        assert have.get("elements") == want.get("elements"), option
        assert bool(have.get("required")) == bool(want.get("required")), option
        assert have.get("choices") == want.get("choices"), option
        assert have.get("default") == want.get("default"), option
        assert all(isinstance(d, str) for d in have["description"]), option
    assert kwargs.get("supports_check_mode") is True
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["version_added"] in RELEASES and doc["author"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_returns(name, module_docs):
    entry = module_docs[f"dockprov.docker.{name}"]
    examples = yaml.safe_load(entry["examples"])
    modules = {key for task in examples for key in task if key.startswith("dockprov.docker.")}
    assert f"dockprov.docker.{name}" in modules  # FQCN in every example
    documented = set(entry["doc"]["options"])
    for task in examples:
        args = task.get(f"dockprov.docker.{name}") or {}
        assert set(args) <= documented, task["name"]
    if "backup" in documented:  # every module with the backup fragment returns backup_file
        assert "backup_file" in entry["return"]


def test_every_filter_renders():
    docs = ansible_doc("filter", FILTERS)
    for name in FILTERS:
        doc = docs[f"dockprov.docker.{name}"]
        assert doc["doc"]["name"] == name and doc["doc"]["version_added"] in RELEASES
        assert "_value" in doc["return"] and f"dockprov.docker.{name}" in doc["examples"]
