"""Every bad input in tests/data/bad_inputs.yml, run through site.yml on a fresh lab host: the run fails,
the error names the variable as the user wrote it (with the item index), and the host is byte-identical
afterwards: apt sources and keyrings, /etc/docker, the init script, wsl.conf, the package set, Docker's
objects. The preflight is what stops them; remove it and these tests fail (the later roles would change
the host, or fail with module option names instead of the variable).

LAB STAND-IN: the host is a lab container (Debian 12, systemd), reached with community.docker.docker.
"""

from __future__ import annotations

import re

import lab_up
import pytest
import yaml
from labhost import PROJECT, LabHost

CASES = yaml.safe_load((PROJECT / "tests/data/bad_inputs.yml").read_text())["cases"]

pytestmark = lab_up.marks()


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> LabHost:
    """A fresh deb12 lab host of this test's own."""
    lab = LabHost("dockprov-badinput", "deb12", tmp_path_factory.mktemp("bad-inputs")).up()
    yield lab
    lab.rm()


@pytest.fixture(scope="module")
def before(host: LabHost) -> str:
    return host.snapshot()


def _id(case: dict) -> str:
    return next(iter(case["vars"]))


@pytest.mark.parametrize("case", CASES, ids=[f"{i:02d}-{_id(c)}" for i, c in enumerate(CASES)])
def test_bad_input_fails_first_and_changes_nothing(case: dict, host: LabHost, before: str) -> None:
    run = host.play("site.yml", case["vars"])
    assert run.rc != 0, f"accepted: {case['vars']}" + run.out[-3000:]
    assert re.search(case["expect"], run.flat), f"expected /{case['expect']}/ in: " + run.out[-4000:]
    # Stopped by the checks, before any role ran a task that changes something.
    assert "nothing was changed" in run.flat, run.out[-3000:]
    assert "changed: [" not in run.out, run.out[-3000:]
    assert host.snapshot() == before, f"the host changed after {case['vars']}"
