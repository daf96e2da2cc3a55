"""Render an Ansible project for a fleet from templates/project/: inventory, group_vars, site.yml, ansible.cfg and a
requirements.yml that pins the collection dockprov.docker (the artifact, copied into collections/, or a Galaxy
version). The roles and modules are not copied: ansible-galaxy installs the collection into the project.

Nothing here writes until `apply` is called with the full change set, so a refused overwrite leaves the
destination exactly as it was.
"""

from __future__ import annotations

import difflib
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .. import __version__
from . import collection, yamlout
from .fleet import mirror_presets

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "project"
_CONNECTION = {"docker": "community.docker.docker", "local": "local"}
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_VAULT_REF = re.compile(r"\{\{\s*(vault_\w+)\s*\}\}")


@dataclass(frozen=True)
class File:
    content: str | bytes
    mode: int = 0o644
    identity: str | None = None  # a binary file's content key (collection artifacts: see collection.identity)


@dataclass(frozen=True)
class Change:
    path: str
    status: str  # create, update, same
    old: str | bytes | None
    new: File

    @property
    def binary(self) -> bool:
        return isinstance(self.new.content, bytes)

    def diff(self) -> str:
        before = "/dev/null" if self.old is None else f"a/{self.path}"
        if self.binary:
            assert isinstance(self.new.content, bytes)
            if self.old is None:
                return f"new collection artifact b/{self.path}\n"
            old = self.old if isinstance(self.old, bytes) else self.old.encode()
            return f"collection artifact {before} and b/{self.path} differ:\n" + collection.describe_change(
                old, self.new.content)
        old_text = self.old if isinstance(self.old, str) else ""
        new = str(self.new.content).splitlines(keepends=True)
        return "".join(difflib.unified_diff(old_text.splitlines(keepends=True), new, before, f"b/{self.path}"))


@dataclass(frozen=True)
class Pin:
    """How the project gets dockprov.docker: a tarball copied into collections/ (artifact), or Galaxy."""

    version: str
    artifact: collection.Artifact | None = None

    @property
    def path(self) -> str | None:
        return None if self.artifact is None else f"collections/{self.artifact.filename}"


def pin(version: str | None = None, artifact: Path | None = None) -> Pin:
    """The default is dockprov's own artifact (built from the checkout's HEAD, or shipped with the wheel)."""
    if version is not None and artifact is not None:
        raise ValueError("give --collection-version or --collection-artifact, not both")
    if version is not None:
        if not _SEMVER.match(version):
            raise ValueError(f"--collection-version '{version}' is not an exact version such as 0.2.0")
        return Pin(version)
    built = collection.read_artifact(artifact) if artifact is not None else collection.own_artifact()
    return Pin(built.version, built)


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


def _vault_refs(value: Any) -> list[str]:
    """vault_* variables a fleet's apps or host vars refer to ("{{ vault_wordpress_db_password }}"), in order."""
    found: list[str] = []
    if isinstance(value, str):
        found.extend(_VAULT_REF.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(_vault_refs(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_vault_refs(item))
    return found


def context(fleet: dict[str, Any], fleet_file: str, pinned: Pin) -> dict[str, Any]:
    hosts = fleet["hosts"]
    groups = {g: [n for n, h in hosts.items() if g in h["groups"]] for g in ("servers", "wsl", "gpu")}
    common = _host_vars(fleet["defaults"]) or {}
    logins = [{**r, "vault_var": f"vault_registry_{_slug(r['url'])}_password"}
              for r in fleet["registries"] if r.get("username")]
    referenced = _vault_refs(fleet["apps"]) + _vault_refs([h.get("vars") or {} for h in hosts.values()])
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
        "collection": {"fqcn": collection.FQCN, "version": pinned.version, "path": pinned.path,
                       "roles": collection.own().roles()},
        "registry_logins": logins,
        "host_apps": any(k.startswith("docker_apps_") for h in hosts.values() for k in (h.get("vars") or {})),
        # Placeholders in vault.yml: the registry passwords, then every other vault_* the fleet refers to.
        "vault_vars": list(dict.fromkeys([r["vault_var"] for r in logins] + referenced)),
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


def render(fleet: dict[str, Any], fleet_file: str = "fleet.yml", pinned: Pin | None = None) -> dict[str, File]:
    """Every file of the project, by relative path (the collection artifact as bytes)."""
    pinned = pinned or pin()
    env = _environment()
    ctx = context(fleet, fleet_file, pinned)
    files: dict[str, File] = {}
    for template in sorted(TEMPLATES.rglob("*.j2")):
        rel = template.relative_to(TEMPLATES).as_posix()
        text = env.get_template(rel).render(ctx)
        if text.strip():  # a template that renders nothing is a file this fleet does not need
            files[rel.removesuffix(".j2")] = File(text)
    files["fleet.yml"] = File(_fleet_copy(fleet))
    if "key_text" in fleet:
        files["files/docker.asc"] = File(fleet["key_text"])
    if pinned.artifact is not None:
        assert pinned.path is not None
        ident = collection.identity(pinned.artifact.data)
        files[pinned.path] = File(pinned.artifact.data, identity=ident)
        source = f"{pinned.path} (its MANIFEST.json has sha256 {ident})"
        update = ("# Regenerate with a newer dockprov (dockprov init --fleet fleet.yml --force .) to update the pin,\n"
                  "# then install it over the old copy:\n"
                  "#   ansible-galaxy collection install --offline --force -p collections <the new artifact>\n")
    else:
        source = "Galaxy, as requirements.yml says"
        update = (f"# Regenerate with: dockprov init --fleet fleet.yml --collection-version {pinned.version} .\n"
                  "# (without --collection-version, dockprov pins the artifact it carries instead).\n")
    files[".dockprov-version"] = File(
        f"dockprov {__version__}\ncollection {collection.FQCN} {pinned.version} from {source}\n" + update)
    return files


def _status(path: Path, new: File) -> tuple[str, str | bytes | None]:
    if not path.is_file():
        return "create", None
    if isinstance(new.content, bytes):
        old_bytes = path.read_bytes()
        if old_bytes == new.content:
            return "same", old_bytes
        try:
            same = new.identity is not None and collection.identity(old_bytes) == new.identity
        except (KeyError, OSError, ValueError, tarfile.TarError):
            same = False
        return ("same" if same else "update"), old_bytes
    old = path.read_text()
    return ("same" if old == new.content else "update"), old


def changes(dest: Path, files: dict[str, File]) -> list[Change]:
    out = []
    for rel, new in sorted(files.items()):
        status, old = _status(dest / rel, new)
        out.append(Change(rel, status, old, new))
    return out


def stale_artifacts(dest: Path, files: dict[str, File]) -> list[str]:
    """Collection artifacts in the project's collections/ that requirements.yml no longer pins."""
    found = sorted((dest / "collections").glob(collection.ARTIFACT_GLOB)) if (dest / "collections").is_dir() else []
    return [p.relative_to(dest).as_posix() for p in found if p.relative_to(dest).as_posix() not in files]


def apply(dest: Path, todo: list[Change]) -> None:
    for change in todo:
        if change.status == "same":
            continue
        path = dest / change.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(change.new.content, bytes):
            path.write_bytes(change.new.content)
        else:
            path.write_text(change.new.content)
        path.chmod(change.new.mode)
