"""Every bad input in tests/data/bad_inputs.yml, run through site.yml on a fresh lab host: the run fails,
the error names the variable as the user wrote it (with the item index), and the host is byte-identical
afterwards: apt sources and keyrings, /etc/docker, the init script, wsl.conf, the package set, Docker's
objects. The preflight is what stops them; remove it and these tests fail (the later roles would change
the host, or fail with module option names instead of the variable).

LAB STAND-IN: the host is a lab container (Debian 12, systemd), reached with community.docker.docker.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import lab_up
import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
HOST = "dockprov-badinput"
CASES = yaml.safe_load((PROJECT / "tests/data/bad_inputs.yml").read_text())["cases"]

pytestmark = lab_up.marks()

# What must not change: every file under these paths (content, mode, owner), the dpkg selections, and
# Docker's objects when a dockerd runs.
SNAPSHOT = r"""
for p in /etc/apt /etc/docker /etc/init.d/docker /etc/wsl.conf /etc/cdi /etc/default/docker \
         /etc/systemd/system/docker.service.d /root/.docker /opt/dockprov; do
  [ -e "$p" ] && find "$p" -xdev \( -type f -o -type l \) -exec sh -c \
    'for f; do printf "%s %s " "$f" "$(stat -c %a:%U:%G "$f")"; sha256sum < "$f" 2>/dev/null || echo link; done' _ {} +
done
dpkg-query -W -f '${Package} ${Version} ${Status}\n' | sort
command -v docker >/dev/null && docker ps -aq --no-trunc && docker images -q --no-trunc && docker volume ls -q
true
"""


def _snapshot() -> str:
    proc = subprocess.run(["docker", "exec", HOST, "sh", "-c", SNAPSHOT], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh deb12 lab host of this test's own, in an inventory that reuses the lab's group_vars."""
    subprocess.run([str(BIN / "dockprov"), "lab", "host", "rm", HOST], capture_output=True, text=True)
    up = subprocess.run([str(BIN / "dockprov"), "lab", "host", "up", HOST, "--kind", "deb12"],
                        capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, up.stderr
    subprocess.run(["docker", "exec", HOST, "sh", "-c",
                    "for i in $(seq 60); do systemctl is-system-running --wait >/dev/null 2>&1 && exit 0;"
                    " sleep 1; done; true"], timeout=120)
    root = tmp_path_factory.mktemp("bad-inputs")
    (root / "hosts.yml").write_text(yaml.safe_dump(
        {"docker_hosts": {"children": {"servers": {"hosts": {HOST: None}}}}}))
    (root / "group_vars").symlink_to(PROJECT / "inventory/lab/group_vars")
    yield root / "hosts.yml"
    subprocess.run([str(BIN / "dockprov"), "lab", "host", "rm", HOST], capture_output=True, text=True)


@pytest.fixture(scope="module")
def before(inventory: Path) -> str:
    return _snapshot()


def _id(case: dict) -> str:
    return next(iter(case["vars"]))


@pytest.mark.parametrize("case", CASES, ids=[f"{i:02d}-{_id(c)}" for i, c in enumerate(CASES)])
def test_bad_input_fails_first_and_changes_nothing(case: dict, inventory: Path, before: str,
                                                   tmp_path: Path) -> None:
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(case["vars"]))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
           "PATH": f"{BIN}:{os.environ['PATH']}", "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", "-e", f"@{extra}"],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"accepted: {case['vars']}\n{out[-3000:]}"
    flat = re.sub(r"\s+", " ", out)
    assert re.search(case["expect"], flat), f"expected /{case['expect']}/ in:\n{out[-4000:]}"
    # Stopped by the checks, before any role ran a task that changes something.
    assert "nothing was changed" in flat, out[-3000:]
    assert "changed: [" not in out, out[-3000:]
    assert _snapshot() == before, f"the host changed after {case['vars']}"
