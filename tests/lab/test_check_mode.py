"""`site.yml --check --diff` on a fresh host (no python3-apt, no Docker) and on a converged one: it succeeds,
shows what a real run would change, changes nothing (the host is byte-identical), and claims no result it
did not see (the smoke test and the registry login say "skipped in check mode"). `dockprov plan` likewise
on the fresh host.

LAB STAND-IN: see labhost.py.
"""

from __future__ import annotations

import re
import subprocess

import lab_up
import pytest
from labhost import BIN, PROJECT, LabHost

pytestmark = lab_up.marks()

HOST = "dockprov-checkmode"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> LabHost:
    lab = LabHost(HOST, "deb12", tmp_path_factory.mktemp("check-mode")).up()
    yield lab
    lab.rm()


def test_check_run_on_a_fresh_host_previews_and_changes_nothing(host: LabHost) -> None:
    assert "python3-apt" not in host.sh("dpkg-query -W -f '${Package}\\n'").split()
    before = host.snapshot()
    run = host.play("site.yml", None, "--check", "--diff")
    assert run.rc == 0, run.why()
    assert run.recap(HOST)["changed"] > 0
    flat = run.flat
    # What a real run would do, shown: the key and the source (diff), daemon.json, the packages and start.
    assert "+URIs: http://mirror.lab/linux/debian" in run.out or "URIs: http://mirror.lab/linux/debian" in flat
    assert "registry-mirrors" in flat
    assert re.search(r"check mode: would (update the apt cache for the new Docker source and )?install docker-ce", flat)
    assert "check mode: would start Docker" in flat
    # Never a result that was not seen.
    assert "smoke test skipped in check mode" in flat
    assert "Hello from Docker!" not in flat
    assert "login of root at registry-tls.lab skipped in check mode" in flat
    assert host.snapshot() == before


def test_plan_on_a_fresh_host(host: LabHost) -> None:
    before = host.snapshot()
    proc = subprocess.run([str(BIN / "dockprov"), "plan", "--lab", "--inventory", str(host.inventory),
                           "--limit", HOST], cwd=PROJECT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "http://mirror.lab/linux/debian" in proc.stdout
    assert "daemon.json" in proc.stdout and "registry-mirrors" in proc.stdout
    assert host.snapshot() == before


def test_check_run_on_a_converged_host_reports_nothing_and_changes_nothing(host: LabHost) -> None:
    converge = host.play("site.yml")
    assert converge.rc == 0, converge.why()
    before = host.snapshot()
    run = host.play("site.yml", None, "--check", "--diff")
    assert run.rc == 0, run.why()
    assert run.recap(HOST)["changed"] == 0, run.why()
    assert host.snapshot() == before
