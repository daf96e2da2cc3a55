"""The bad inputs of tests/data/bad_inputs.yml (the ones that need no host) through `dockprov validate`: each is
reported with the file, the key as the user wrote it, and a fix, by the same rules the preflight applies
before any host changes (tests/lab/test_bad_inputs.py runs them through site.yml)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dockprov.project import fleet, generator, validate

ROOT = Path(__file__).resolve().parents[2]
CASES = [c for c in yaml.safe_load((ROOT / "tests/data/bad_inputs.yml").read_text())["cases"] if not c.get("host")]
REL = "inventory/group_vars/all/zz_bad.yml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("bad-inputs-project")
    generator.apply(dest, generator.changes(dest, generator.render(fleet.load(ROOT / "examples" / "fleet.yml"))))
    return dest


def test_the_generated_project_has_no_error(project: Path) -> None:
    assert [str(f) for f in validate.validate_project(project) if f.severity == "error"] == []


@pytest.mark.parametrize("case", CASES, ids=[f"{i:02d}-{next(iter(c['vars']))}" for i, c in enumerate(CASES)])
def test_bad_input_is_reported_with_file_key_and_fix(case: dict, project: Path) -> None:
    path = project / REL
    path.write_text(yaml.safe_dump(case["vars"]))
    try:
        findings = [f for f in validate.validate_project(project) if f.severity == "error"]
    finally:
        path.unlink()
    name = next(iter(case["vars"]))
    ours = [f for f in findings if f.file == REL and f.key.startswith(name)]
    assert ours, f"{case['vars']} not reported; findings: {[str(f) for f in findings]}"
    # The same words as through site.yml: "<variable> = <value>: <problem>. Fix: <fix>".
    said = [f"{f.key} = {f.problem}. Fix: {f.fix}" for f in ours] + [f"{f.key}: {f.problem}. Fix: {f.fix}"
                                                                      for f in ours]
    assert any(re.search(case["expect"], s) for s in said), said
    assert all(f.fix for f in ours)
