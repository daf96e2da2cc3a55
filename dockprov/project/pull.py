"""Pull mode for a generated project (`dockprov init --pull URL`): what a host needs to converge itself from the
project's git repository with ansible-pull, with no controller connecting to it.

Adds to the project, under pull/:
- `dockprov-pull`: the runner (templates/pull/dockprov_pull.py, stdlib only). `sudo python3 pull/dockprov-pull
  install` on the host, from a clone of the repository, installs it with its trigger: a systemd timer, or on WSL
  without systemd the [boot] command of /etc/wsl.conf (set through the collection's wsl_conf module).
- `pull.conf`: the repository URL, branch, interval and the pinned ansible versions the host installs.
- `systemd/dockprov-pull.{service,timer}`: the units `install` writes with these settings, for review.
- `README.md`: the steps on a laptop, where the report is (/var/log/dockprov-pull/), how to read it.
"""

from __future__ import annotations

import argparse
import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import yaml

from .. import __version__

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "pull"
RUNNER = TEMPLATES / "dockprov_pull.py"
# What the host installs into its virtualenv: the versions dockprov itself is tested with (pyproject.toml's dev
# pins; tests/unit/test_project_pull.py checks they agree). The `ansible` package brings community.docker and
# ansible.posix, which requirements.yml names, so nothing needs Galaxy when the project pins its artifact.
ANSIBLE_CORE = "2.19.14"
ANSIBLE = "12.3.0"
IN_ANSIBLE_PACKAGE = ("community.docker", "ansible.posix", "community.general",
                      "community.library_inventory_filtering_v1")


@cache
def runner() -> ModuleType:
    """The runner as a module (its conf parser, unit texts): one source for what init writes and install does."""
    spec = importlib.util.spec_from_file_location("dockprov_pull", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pull mode: hosts converge themselves from the project's git repository")
    group.add_argument("--pull", metavar="GIT_URL", help="add pull/ (ansible-pull runner, systemd timer, WSL boot "
                                                         "command) for this repository URL")
    group.add_argument("--pull-branch", default="main", metavar="BRANCH", help="branch hosts pull (default main)")
    group.add_argument("--pull-interval", type=int, default=30, metavar="MIN",
                       help="minutes between runs (default 30; 0: once per boot on WSL)")


def galaxy_args(requirements: str | None) -> str:
    """--offline when requirements.yml needs nothing from Galaxy: artifacts in the repository, and collections
    the `ansible` package the host installs already has."""
    if not requirements:
        return "--offline"
    data = yaml.safe_load(requirements) or {}
    for item in data.get("collections") or []:
        entry = item if isinstance(item, dict) else {"name": item}
        if entry.get("type") != "file" and entry.get("name") not in IN_ANSIBLE_PACKAGE:
            return ""
    return "--offline"


def conf_text(url: str, branch: str, interval: int, requirements: str | None, fleet_name: str) -> str:
    mod = runner()
    conf = dict(mod.DEFAULTS)
    conf.update(URL=url, BRANCH=branch, INTERVAL=str(interval), GALAXY_ARGS=galaxy_args(requirements),
                PIP_SPEC=f"ansible-core=={ANSIBLE_CORE} ansible=={ANSIBLE}")
    head = (f"# dockprov-pull for the fleet \"{fleet_name}\" (dockprov {__version__}). `dockprov-pull install` copies\n"
            "# it to /etc/dockprov-pull.conf and adds HOST (this host's inventory name; default its hostname).\n")
    return head + mod.render_conf(conf).split("\n", 1)[1]


def files(fleet: dict[str, Any], project_files: dict[str, Any], url: str, branch: str = "main",
          interval: int = 30) -> dict[str, tuple[str, int]]:
    """pull/ for a project: relative path -> (text, mode). project_files: the generator's own files (for
    requirements.yml and the host names)."""
    if not url:
        raise ValueError("--pull needs the git URL hosts clone the project from")
    if interval < 0:
        raise ValueError(f"--pull-interval {interval}: minutes, 0 or more")
    req = project_files.get("requirements.yml")
    requirements = getattr(req, "content", req) if req is not None else None
    mod = runner()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 (Markdown)
    hosts = sorted((fleet.get("hosts") or {}).keys())
    out = {
        "pull/dockprov-pull": (RUNNER.read_text(), 0o755),
        "pull/pull.conf": (conf_text(url, branch, interval, requirements, fleet.get("name", "")), 0o644),
        "pull/systemd/dockprov-pull.service": (mod.SERVICE.format(url=url, bin=mod.BIN), 0o644),
        "pull/systemd/dockprov-pull.timer": (mod.TIMER.format(interval=max(interval, 1)), 0o644),
        "pull/README.md": (env.get_template("README.md.j2").render(
            url=url, branch=branch, interval=interval, hosts=hosts, fleet=fleet, version=__version__,
            ansible_core=ANSIBLE_CORE, ansible=ANSIBLE, boot_command=mod.BOOT_COMMAND), 0o644),
    }
    return out


def chmod(dest: Path, written: dict[str, tuple[str, int]]) -> None:
    for rel, (_, mode) in written.items():
        path = dest / rel
        if path.exists() and path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
