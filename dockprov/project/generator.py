"""Render a self-contained Ansible project for a fleet: templates/project/ plus the vendored dockprov roles.

Nothing here writes until `apply` is called with the full change set, so a refused overwrite leaves the
destination exactly as it was.
"""

from __future__ import annotations

import difflib
import io
import re
import subprocess
import tarfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from .. import __version__
from . import yamlout
from .fleet import SOURCE, mirror_presets

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "project"
# The roles site.yml plays on every host, in this order (those present in the source tree are vendored).
PLAY_ORDER = ("docker_repo", "docker_daemon", "docker_engine", "docker_wsl")
VENDORED_DIRS = ("library", "module_utils", "filter_plugins")
_CONNECTION = {"docker": "community.docker.docker", "local": "local"}


@dataclass(frozen=True)
class File:
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class Change:
    path: str
    status: str  # create, update, same
    old: str | None
    new: File
    vendored: bool

    def diff(self) -> str:
        old = (self.old or "").splitlines(keepends=True)
        new = self.new.content.splitlines(keepends=True)
        before = "/dev/null" if self.old is None else f"a/{self.path}"
        return "".join(difflib.unified_diff(old, new, before, f"b/{self.path}"))


def _git_tree() -> dict[str, File] | None:
    """The committed vendored files (HEAD) when the source is a git checkout, else None.

    In a checkout, work in progress (a role or a task file being edited next to this one) must never leak
    into a user's project half-done: the project gets what is committed.
    """
    paths = ["roles", *VENDORED_DIRS, ".yamllint"]
    try:
        tar = subprocess.run(["git", "-C", str(SOURCE), "archive", "--format=tar", "HEAD", "--", *paths],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    files: dict[str, File] = {}
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        for member in archive.getmembers():
            if member.isfile() and "__pycache__" not in member.name:
                data = archive.extractfile(member)
                assert data is not None
                files[member.name] = File(data.read().decode(), 0o755 if member.mode & 0o111 else 0o644)
    return files or None


def _tree_files() -> dict[str, File]:
    """The vendored files read from the file system (an installed dockprov that is no git checkout)."""
    files: dict[str, File] = {}
    for root in [SOURCE / "roles", *(SOURCE / d for d in VENDORED_DIRS)]:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files[path.relative_to(SOURCE).as_posix()] = File(
                    path.read_text(), 0o755 if path.stat().st_mode & 0o111 else 0o644)
    files[".yamllint"] = File((SOURCE / ".yamllint").read_text())
    return files


@cache
def _source() -> dict[str, File]:
    return _git_tree() or _tree_files()


def vendored_roles() -> list[str]:
    """Roles with a tasks/ directory in the vendored source."""
    return sorted({p.split("/")[1] for p in _source() if p.startswith("roles/") and p.split("/")[2:3] == ["tasks"]})


def _vendor() -> dict[str, File]:
    # .yamllint comes along: the lint settings the roles were written against (line length, octal modes), so
    # ansible-lint on the generated project judges them the same way.
    roles = tuple(f"roles/{r}/" for r in vendored_roles())
    return {p: f for p, f in _source().items()
            if p.startswith(roles) or p.split("/")[0] in VENDORED_DIRS or p == ".yamllint"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _host_vars(host: dict[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if host.get("address"):
        out["ansible_host"] = host["address"]
    if host.get("port"):
        out["ansible_port"] = host["port"]
    if host.get("user"):
        out["ansible_user"] = host["user"]
    if host.get("connection", "ssh") != "ssh":
        out["ansible_connection"] = _CONNECTION[host["connection"]]
    if host.get("become") is False:
        out["ansible_become"] = False  # e.g. root over docker: no sudo on the host
    if host.get("python"):
        out["ansible_python_interpreter"] = host["python"]
    out.update(host.get("vars") or {})
    return out or None


def context(fleet: dict[str, Any], fleet_file: str) -> dict[str, Any]:
    hosts = fleet["hosts"]
    groups = {g: [n for n, h in hosts.items() if g in h["groups"]] for g in ("servers", "wsl", "gpu")}
    roles = vendored_roles()
    common = _host_vars(fleet["defaults"]) or {}
    return {
        "version": __version__,
        "fleet": fleet,
        "fleet_file": fleet_file,
        "presets": list(mirror_presets()),
        "groups": groups,
        "auto_hosts": [n for n, h in hosts.items() if "auto" in h["groups"]],
        "connection_defaults": common,
        # Per host only what differs from the fleet's defaults (those live in group_vars/all/connection.yml).
        "host_vars": {n: {k: v for k, v in (_host_vars(h) or {}).items() if common.get(k, object()) != v} or None
                      for n, h in hosts.items()},
        "vendored_roles": roles,
        "play_roles": [r for r in PLAY_ORDER if r in roles],
        "needs_docker_connection": any(h.get("connection") == "docker" for h in hosts.values()),
        "registry_logins": [
            {**r, "vault_var": f"vault_registry_{_slug(r['url'])}_password"}
            for r in fleet["registries"] if r.get("username")
        ],
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML, INI and Markdown, not HTML
    )
    env.filters["yaml_block"] = yamlout.block
    return env


def _fleet_copy(fleet: dict[str, Any]) -> str:
    data = {k: v for k, v in fleet.items() if k != "key_text"}
    if "key_text" in fleet:
        data["repo"] = {**data["repo"], "key_file": "files/docker.asc"}
    return ("---\n# The fleet this project was generated from (normalised: defaults filled in).\n"
            "# Regenerate with: dockprov init --fleet fleet.yml .\n" + yamlout.dump(data))


def render(fleet: dict[str, Any], fleet_file: str = "fleet.yml") -> dict[str, File]:
    """Every file of the project, by relative path."""
    env = _environment()
    ctx = context(fleet, fleet_file)
    files: dict[str, File] = {}
    for template in sorted(TEMPLATES.rglob("*.j2")):
        rel = template.relative_to(TEMPLATES).as_posix()
        text = env.get_template(rel).render(ctx)
        if text.strip():  # a template that renders nothing is a file this fleet does not need
            files[rel.removesuffix(".j2")] = File(text)
    files["fleet.yml"] = File(_fleet_copy(fleet))
    if "key_text" in fleet:
        files["files/docker.asc"] = File(fleet["key_text"])
    files[".dockprov-version"] = File(
        f"dockprov {__version__}\n# roles, library/, module_utils/ and filter_plugins/ were copied from this "
        "version; regenerate with a newer dockprov to update them.\n")
    files.update(_vendor())
    return files


def changes(dest: Path, files: dict[str, File]) -> list[Change]:
    out = []
    for rel, new in sorted(files.items()):
        path = dest / rel
        old = path.read_text() if path.is_file() else None
        status = "create" if old is None else ("same" if old == new.content else "update")
        vendored = rel.split("/", 1)[0] in ("roles", *VENDORED_DIRS)
        out.append(Change(rel, status, old, new, vendored))
    return out


def apply(dest: Path, todo: list[Change]) -> None:
    for change in todo:
        if change.status == "same":
            continue
        path = dest / change.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(change.new.content)
        path.chmod(change.new.mode)
