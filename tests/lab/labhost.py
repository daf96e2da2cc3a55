"""A lab host of a test's own (a fresh container from `dockprov lab host up`), an inventory for it that
reuses the lab's group_vars, and what the tests look at: a byte-level snapshot of everything dockprov
manages, shell commands inside it, and ansible-playbook runs against it.

LAB STAND-IN: the hosts are lab containers (Debian 12 with systemd as PID 1) reached with
community.docker.docker; mirror.lab and registry.lab stand in for Docker's repo and a registry mirror.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent

# Every file under these paths (content, mode, owner), the dpkg database's view of the packages, and
# Docker's objects when a dockerd runs: what "nothing changed" and "nothing lost" are judged by.
SNAPSHOT = r"""
for p in /etc/apt /etc/docker /etc/init.d/docker /etc/wsl.conf /etc/cdi /etc/default/docker \
         /etc/systemd/system/docker.service.d /root/.docker /opt/dockprov; do
  [ -e "$p" ] && find "$p" -xdev \( -type f -o -type l \) -exec sh -c \
    'for f; do printf "%s %s " "$f" "$(stat -c %a:%U:%G "$f")"; sha256sum < "$f" 2>/dev/null || echo link; done' _ {} +
done
dpkg-query -W -f '${Package} ${Version} ${Status}\n' | sort
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Image}}'; docker images -q --no-trunc | sort
  docker volume ls -q | sort
fi
true
"""


@dataclass
class Run:
    rc: int
    out: str

    @property
    def flat(self) -> str:
        return re.sub(r"\s+", " ", self.out)

    def why(self) -> str:
        """The failing task's report (what to show when a run was expected to pass), else the output's end."""
        at = self.out.find("fatal: [")
        return self.out[max(0, at - 1500):at + 3000] if at >= 0 else self.out[-4000:]

    def recap(self, host: str) -> dict[str, int]:
        match = re.search(rf"^{re.escape(host)}\s*:\s*(.*)$", self.out, re.M)
        assert match, self.out[-2000:]
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


class LabHost:
    def __init__(self, name: str, kind: str, root: Path, extra_hosts: dict[str, dict[str, Any]] | None = None):
        self.name = name
        self.kind = kind
        self.root = root
        self.inventory = root / "hosts.yml"
        hosts = {name: None, **(extra_hosts or {})}
        self.inventory.write_text(yaml.safe_dump({"docker_hosts": {"children": {"servers": {"hosts": hosts}}}}))
        (root / "group_vars").symlink_to(PROJECT / "inventory/lab/group_vars")

    def up(self) -> LabHost:
        self.rm()
        up = subprocess.run([str(BIN / "dockprov"), "lab", "host", "up", self.name, "--kind", self.kind],
                            capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, up.stderr
        self.sh("for i in $(seq 90); do systemctl is-system-running --wait >/dev/null 2>&1 && exit 0;"
                " sleep 1; done; true", check=False, timeout=150)
        return self

    def rm(self) -> None:
        subprocess.run([str(BIN / "dockprov"), "lab", "host", "rm", self.name], capture_output=True, text=True)

    def sh(self, script: str, check: bool = True, timeout: int = 300, detach: bool = False) -> str:
        cmd = ["docker", "exec", *(["-d"] if detach else []), self.name, "sh", "-c", script]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def snapshot(self) -> str:
        return self.sh(SNAPSHOT, timeout=120)

    def play(self, playbook: str = "site.yml", extra: dict[str, Any] | None = None, *args: str,
             timeout: int = 1200) -> Run:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
               "PATH": f"{BIN}:{os.environ['PATH']}", "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
        cmd = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), playbook, *args]
        if extra:
            path = self.root / "extra.json"
            path.write_text(json.dumps(extra))
            cmd += ["-e", f"@{path}"]
        proc = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout)
        return Run(proc.returncode, proc.stdout + proc.stderr)
