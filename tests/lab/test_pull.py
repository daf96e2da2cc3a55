"""Pull mode on the WSL stand-in: given only a git URL, the host converges itself with ansible-pull, and again on
the next trigger with nothing changed. No controller connects to it.

The repository is a project `dockprov init --pull` generated for the host, in a bare repository served by git daemon
on the lab network (dockprov/lab/gitserver.py). The only commands sent into the host are what its user types
(install git, clone, `pull/dockprov-pull install`) and, later, the [boot] command /etc/wsl.conf then holds, run
as WSL's init runs it when the distribution starts: the "timer tick" of a host without systemd.

LAB STAND-INS: ee-wsl-2 is the lab's WSL2 stand-in (Debian 12 container, PID 1 a plain /init, no systemd);
mirror.lab and registry.lab stand in for Docker's repo and a registry mirror. The stand-in cannot reach PyPI
(this machine's egress re-signs TLS), so pull.conf's PIP_ARGS point at a wheelhouse of exactly the pinned
packages, downloaded on the machine and served over HTTP by the same git container.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import lab_up
import pytest
import yaml

from dockprov.lab import fleet, gitserver
from dockprov.lab.images import Builder
from dockprov.project import pull

PROJECT = Path(__file__).resolve().parent.parent.parent
STATE = PROJECT / ".lab"
BIN = Path(sys.executable).parent
HOST = "ee-wsl-2"
GIT = "ee-git"
URL = f"git://{GIT}/fleet.git"

pytestmark = lab_up.marks()


def _log(msg: str) -> None:
    print(f"[test_pull {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _sh(script: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", HOST, "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout)


def _status() -> dict:
    proc = _sh("cat /var/log/dockprov-pull/status.json")
    return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else {}


def wheelhouse() -> Path:
    """The pinned ansible-core and ansible with their dependencies as wheels (pip download, cached by spec)."""
    spec = [f"ansible-core=={pull.ANSIBLE_CORE}", f"ansible=={pull.ANSIBLE}"]
    out = STATE / "wheelhouse"
    stamp = out / ".spec"
    if not (stamp.exists() and stamp.read_text() == " ".join(spec)):
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "pip"), "download", "-q", "--disable-pip-version-check", "-d", str(out), *spec],
                       check=True, capture_output=True, timeout=900)
        stamp.write_text(" ".join(spec))
    return out


def _project(root: Path) -> Path:
    """A project for the host, generated with --pull, committed to a bare repository under root/srv."""
    lab = yaml.safe_load(lab_up.LAB_VARS.read_text())
    (root / "lab-key.asc").write_text(lab["dockprov_lab_mirror_key"])
    (root / "fleet.yml").write_text(yaml.safe_dump({
        "version": 1, "name": "ee-pull",
        "defaults": {"connection": "local", "become": False, "user": "root", "python": "/usr/bin/python3"},
        "repo": {"mirrors": ["http://mirror.lab"], "key_fingerprints": [lab["dockprov_lab_mirror_fingerprint"]],
                 "key_file": "lab-key.asc"},
        "daemon": {"registry_mirrors": ["http://registry.lab:5000"]},
        "hosts": {HOST: {"groups": ["wsl"]}},
    }, sort_keys=False))
    dest = root / "project"
    made = subprocess.run([str(BIN / "dockprov"), "init", "--fleet", str(root / "fleet.yml"), "--pull", URL,
                           "--pull-interval", "0", str(dest)], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")})
    assert made.returncode == 0, made.stdout + made.stderr
    assert os.access(dest / "pull" / "dockprov-pull", os.X_OK)
    conf = dest / "pull" / "pull.conf"
    text = conf.read_text()
    assert f"URL={URL}\n" in text and "GALAXY_ARGS=--offline\n" in text, text
    # LAB: the wheelhouse instead of PyPI (see the module docstring).
    conf.write_text(text.replace("PIP_ARGS=\n", f"PIP_ARGS='--no-index --find-links http://{GIT}:8080/ "
                                                f"--trusted-host {GIT}'\n"))
    git = ["git", "-c", "user.email=ops@lab.invalid", "-c", "user.name=ops"]
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fleet ee-pull"]):
        subprocess.run([*git, *cmd], cwd=dest, check=True, capture_output=True)
    (root / "srv").mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(dest), str(root / "srv" / "fleet.git")], check=True,
                   capture_output=True)
    return dest


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("pull")
    project = _project(root)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True,
                            check=True).stdout.strip()
    url = gitserver.serve(Builder(STATE), GIT, root / "srv", wheelhouse())
    assert url == f"git://{GIT}"
    fleet.remove_host(HOST)
    fleet.start_host(fleet.host_kind("wsl"), HOST)
    yield {"project": project, "commit": commit}
    fleet.remove_host(HOST)
    gitserver.stop(GIT)


def test_wsl_host_converges_itself_from_a_git_url(served: dict) -> None:
    started = time.monotonic()
    # What the laptop's user types (pull/README.md), and nothing else.
    bootstrap = _sh("set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; "
                    "apt-get install -y -qq --no-install-recommends git >/dev/null; "
                    f"git clone -q {URL} /tmp/fleet; python3 /tmp/fleet/pull/dockprov-pull install")
    _log(f"install (apt git, venv from the wheelhouse, first converge) in {time.monotonic() - started:.0f} s")
    assert bootstrap.returncode == 0, bootstrap.stdout[-4000:] + bootstrap.stderr[-2000:]
    first = _status()
    assert first["state"] == "finished" and first["rc"] == 0 and first["result"] == "changed", first
    assert first["commit"] == served["commit"] and first["host"] == HOST and first["trigger"] == "install"
    assert first["stats"]["changed"] > 0 and first["stats"]["failed"] == 0, first
    # Converged: the engine runs (service, no systemd), with the lab's mirror and registry mirror.
    assert "http://mirror.lab" in _sh("cat /etc/apt/sources.list.d/docker.sources").stdout
    mirrors = _sh("docker info --format '{{json .RegistryConfig.Mirrors}}'")
    assert mirrors.returncode == 0 and "http://registry.lab:5000" in mirrors.stdout, mirrors.stderr
    # The trigger: /etc/wsl.conf's [boot] command starts Docker (docker_wsl) and the pull loop (install).
    wsl_conf = _sh("cat /etc/wsl.conf").stdout
    assert "service docker start" in wsl_conf and "/usr/local/sbin/dockprov-pull boot" in wsl_conf, wsl_conf
    assert "PLAY RECAP" in _sh("cat /var/log/dockprov-pull/last.log").stdout
    assert first["commit"][:12] in _sh("cat /var/log/dockprov-pull/history.log").stdout


def test_next_boot_converges_again_with_nothing_changed(served: dict) -> None:
    before = _status()
    assert before.get("state") == "finished", "the install test runs first"
    boot = _sh("cmd=$(sed -n 's/^command *= *//p' /etc/wsl.conf | sed 's/^\"\\(.*\\)\"$/\\1/'); "
               "echo \"$cmd\"; sh -c \"$cmd\" >/dev/null 2>&1; echo started", timeout=120)
    assert boot.returncode == 0 and "dockprov-pull boot" in boot.stdout, boot.stdout + boot.stderr
    started = time.monotonic()
    deadline = started + 900
    status = before
    while time.monotonic() < deadline:
        status = _status()
        if status.get("trigger") == "boot" and status.get("state") == "finished":
            break
        time.sleep(2)
    _log(f"boot run in {time.monotonic() - started:.0f} s: {status.get('stats')}")
    assert status.get("trigger") == "boot" and status.get("state") == "finished", status
    assert status["rc"] == 0 and status["result"] == "ok", status
    assert status["stats"]["changed"] == 0 and status["stats"]["failed"] == 0, status
    assert status["commit"] == served["commit"] and status["started"] >= before["finished"]
    history = _sh("cat /var/log/dockprov-pull/history.log").stdout.splitlines()
    assert len(history) == 2 and "(boot)" in history[-1] and "changed=0" in history[-1], history
