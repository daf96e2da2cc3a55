"""Pull mode (`dockprov init --pull`) and the execution environment's definition, without a lab: the runner's
settings file and play-recap parsing, what init writes under pull/, and that every pin agrees with pyproject.toml.
The live halves are tests/lab/test_pull.py (the WSL stand-in converges itself) and tests/lab/test_ee.py."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from dockprov.project import pull

PROJECT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
RUNNER = pull.runner()


def _dev_pins() -> dict[str, str]:
    dev = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    return dict(re.match(r"([A-Za-z0-9_.\[\]-]+)==(\S+)", d).groups() for d in dev if "==" in d)


def test_pull_pins_are_the_projects() -> None:
    pins = _dev_pins()
    assert pins["ansible-core"] == pull.ANSIBLE_CORE
    assert pins["ansible"] == pull.ANSIBLE


def test_execution_environment_pins_are_the_projects() -> None:
    ee = yaml.safe_load((PROJECT / "execution-environment.yml").read_text())
    pins = _dev_pins()
    deps = ee["dependencies"]
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={pins['ansible-core']}"
    assert deps["ansible_runner"]["package_pip"] == f"ansible-runner=={pins['ansible-runner']}"
    for line in deps["python"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==\S+", line.split("#")[0].strip()), f"not pinned: {line}"
    assert ee["build_arg_defaults"]["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"] == "--offline"
    assert all(c["type"] == "file" for c in deps["galaxy"]["collections"])


def test_ansible_builder_accepts_the_definition(tmp_path: Path) -> None:
    """ansible-builder's own schema check and Containerfile (`create` writes the context, builds nothing)."""
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(PROJECT / "execution-environment.yml"),
                           "-c", str(tmp_path / "ctx"), "--output-filename", "Dockerfile"],
                          capture_output=True, text=True, cwd=PROJECT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dockerfile = (tmp_path / "ctx" / "Dockerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="registry.redhat.io/ansible-automation-platform-25/ee-minimal-rhel9:latest"' in dockerfile
    assert 'ARG ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--offline"' in dockerfile
    assert 'ARG PKGMGR="/usr/bin/microdnf"' in dockerfile


def test_collection_meta_declares_no_requirements() -> None:
    meta = yaml.safe_load((PROJECT / "meta/execution-environment.yml").read_text())
    for kind in ("python", "system"):
        text = (PROJECT / meta["dependencies"][kind]).read_text()
        assert all(not line.strip() or line.startswith("#") for line in text.splitlines()), text


def test_conf_round_trip_and_errors() -> None:
    conf = dict(RUNNER.DEFAULTS, URL="https://git.example.com/fleet.git", PIP_SPEC="ansible-core==2.19.14 ansible",
                PIP_ARGS="--index-url https://pypi.example.com/simple")
    assert RUNNER.parse_conf(RUNNER.render_conf(conf)) == conf
    with pytest.raises(RUNNER.PullError, match="KEY=value with KEY one of"):
        RUNNER.parse_conf("URLL=x\n")


SAMPLE = """\
PLAY RECAP *********************************************************************
laptop                     : ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
PLAY RECAP *********************************************************************
laptop                     : ok=39   changed=0    unreachable=0    failed=0    skipped=41   rescued=0    ignored=0
other                      : ok=1    changed=5    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
"""


def test_recap_is_the_hosts_last() -> None:
    assert RUNNER.recap(SAMPLE, "laptop") == {"ok": 39, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 41,
                                              "rescued": 0, "ignored": 0}
    assert RUNNER.recap(SAMPLE, "nobody") is None


def test_galaxy_offline_only_when_nothing_needs_galaxy() -> None:
    pinned = "collections:\n  - {name: collections/dockprov-docker-0.2.0.tar.gz, type: file}\n" \
             "  - {name: community.docker, version: '>=4.8.0'}\n  - {name: ansible.posix}\n"
    assert pull.galaxy_args(pinned) == "--offline"
    assert pull.galaxy_args("collections:\n  - {name: dockprov.docker, version: 0.2.0}\n") == ""


def test_pull_files() -> None:
    fleet = {"name": "lab", "hosts": {"laptop": {}, "web1": {}}}
    req = "collections:\n  - {name: collections/dockprov-docker-0.2.0.tar.gz, type: file}\n"
    files = pull.files(fleet, {"requirements.yml": req}, "https://git.example.com/fleet.git", "prod", 15)
    assert sorted(files) == ["pull/README.md", "pull/dockprov-pull", "pull/pull.conf",
                             "pull/systemd/dockprov-pull.service", "pull/systemd/dockprov-pull.timer"]
    assert files["pull/dockprov-pull"][1] == 0o755
    conf = RUNNER.parse_conf(files["pull/pull.conf"][0])
    assert conf["URL"] == "https://git.example.com/fleet.git" and conf["BRANCH"] == "prod"
    assert conf["INTERVAL"] == "15" and conf["GALAXY_ARGS"] == "--offline"
    assert conf["PIP_SPEC"] == f"ansible-core=={pull.ANSIBLE_CORE} ansible=={pull.ANSIBLE}"
    assert "OnUnitActiveSec=15min" in files["pull/systemd/dockprov-pull.timer"][0]
    service = files["pull/systemd/dockprov-pull.service"][0]
    assert "ExecStart=/usr/local/sbin/dockprov-pull run --trigger timer" in service
    readme = files["pull/README.md"][0]
    assert "/var/log/dockprov-pull/status.json" in readme and "laptop, web1" in readme
    with pytest.raises(ValueError, match="git URL"):
        pull.files(fleet, {}, "")


def test_runner_status_without_a_run(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(pull.RUNNER), "status"], capture_output=True, text=True,
                          env={"DOCKPROV_PULL_LOGS": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1 and "no run yet" in proc.stdout
