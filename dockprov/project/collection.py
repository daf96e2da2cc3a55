"""Where the collection dockprov.docker is, for the CLI: the one answer init, validate, the fleet checks and plan use.

A generated project depends on the collection; it does not copy it. The collection's content is read from:

- a project's installed copy, `<project>/collections/ansible_collections/dockprov/docker` (what
  `ansible-playbook` runs there, once `ansible-galaxy collection install -r requirements.yml` has put it there);
- the artifact a project pins (`requirements.yml`, `type: file`), read with tarfile;
- dockprov's own: in a git checkout, the committed tree (HEAD), so work in progress never reaches a user's
  project; in an installed wheel, the artifact shipped as package data in `dockprov/collection/` (put there by
  `python -m dockprov.build_collection` before the wheel is built).

Python from the collection (plan's daemon.json rules) is imported the way Ansible imports it: through ansible's
own collection loader, pointed at a directory holding `ansible_collections/dockprov/docker`.
"""

from __future__ import annotations

import atexit
import fnmatch
import hashlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

NAMESPACE, NAME = "dockprov", "docker"
FQCN = f"{NAMESPACE}.{NAME}"
CHECKOUT = Path(__file__).resolve().parents[2]  # the repository root when dockprov runs from a checkout
PACKAGED = Path(__file__).resolve().parents[1] / "collection"  # dockprov/collection/<artifact> in a wheel
INSTALLED = Path("collections", "ansible_collections", NAMESPACE, NAME)  # relative to a project
ARTIFACT_GLOB = f"{NAMESPACE}-{NAME}-*.tar.gz"
# What the CLI reads from the collection (the rest is built into the artifact but never read here).
CONTENT_PATHS = ("galaxy.yml", "meta", "plugins", "roles", "playbooks")


class CollectionError(Exception):
    """No usable dockprov.docker: the message says where dockprov looked and what to do."""


@dataclass(frozen=True)
class Content:
    """Read-only files of one copy of the collection."""

    where: str  # for messages: "the checkout /src/dockprov at 1a2b3c4d5e6f", "collections/dockprov-docker-0.2.0.tar.gz"
    version: str
    files: Mapping[str, bytes]

    def text(self, rel: str) -> str | None:
        data = self.files.get(rel)
        return None if data is None else data.decode()

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in self.files if fnmatch.fnmatchcase(p, pattern))

    def roles(self) -> list[str]:
        """Roles with a tasks/ directory."""
        return sorted({p.split("/")[1] for p in self.glob("roles/*/tasks/*")})


@dataclass(frozen=True)
class Artifact:
    """A built collection tarball (ansible-galaxy collection build)."""

    filename: str
    data: bytes
    version: str
    origin: str  # where it came from, for the user: "built from commit 1a2b3c... of /src/dockprov"


# --- reading copies of the collection ----------------------------------------------------------------------------


def _version_of(files: Mapping[str, bytes]) -> str:
    if "MANIFEST.json" in files:
        return str(json.loads(files["MANIFEST.json"])["collection_info"]["version"])
    if "galaxy.yml" in files:
        return str((yaml.safe_load(files["galaxy.yml"]) or {}).get("version", "?"))
    return "?"


def _wanted(rel: str) -> bool:
    return rel.split("/", 1)[0] in (*CONTENT_PATHS, "MANIFEST.json") and "__pycache__" not in rel


def from_dir(root: Path, where: str | None = None) -> Content:
    """A directory laid out as the collection: an installed copy, or a checkout's working tree."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and _wanted(rel) and path.suffix != ".pyc":
            files[rel] = path.read_bytes()
    return Content(where or str(root), _version_of(files), files)


def _tar_files(archive: tarfile.TarFile) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for member in archive.getmembers():
        name = member.name.removeprefix("./")
        if member.isfile() and _wanted(name):
            data = archive.extractfile(member)
            assert data is not None
            files[name] = data.read()
    return files


def from_artifact(path: Path, where: str | None = None) -> Content:
    """A collection tarball, read in place."""
    try:
        with tarfile.open(path) as archive:
            files = _tar_files(archive)
    except (OSError, tarfile.TarError) as exc:
        raise CollectionError(f"{path}: not a readable collection artifact ({exc})") from None
    if "MANIFEST.json" not in files:
        raise CollectionError(f"{path}: no MANIFEST.json, so no collection artifact (ansible-galaxy builds those)")
    info = json.loads(files["MANIFEST.json"])["collection_info"]
    if (info.get("namespace"), info.get("name")) != (NAMESPACE, NAME):
        raise CollectionError(f"{path} is the collection {info.get('namespace')}.{info.get('name')}, not {FQCN}")
    return Content(where or str(path), _version_of(files), files)


def is_checkout() -> bool:
    """dockprov runs from its source tree (the repository root is the collection), not from a wheel."""
    return (CHECKOUT / "galaxy.yml").is_file() and (CHECKOUT / "plugins").is_dir() and (CHECKOUT / "roles").is_dir()


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(CHECKOUT), *args], capture_output=True, check=True).stdout


def head_commit() -> str | None:
    """The checkout's HEAD, or None when it is no git checkout (a source tree unpacked from an archive)."""
    try:
        return _git("rev-parse", "HEAD").decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def from_checkout() -> Content:
    """The checkout's committed collection content (HEAD); its working tree when it is no git checkout."""
    commit = head_commit()
    if commit is None:
        return from_dir(CHECKOUT, f"the source tree {CHECKOUT} (no git: files as they are)")
    try:
        tar = _git("archive", "--format=tar", commit, "--", *CONTENT_PATHS)
    except subprocess.CalledProcessError as exc:
        raise CollectionError(f"git archive of {CHECKOUT} at {commit[:12]} failed: "
                              f"{exc.stderr.decode(errors='replace').strip()}") from None
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        files = _tar_files(archive)
    return Content(f"the checkout {CHECKOUT} at {commit[:12]}", _version_of(files), files)


def packaged_artifact() -> Path | None:
    """The artifact shipped inside an installed dockprov (package data), if any."""
    found = sorted(PACKAGED.glob(ARTIFACT_GLOB)) if PACKAGED.is_dir() else []
    return found[-1] if found else None


def _no_collection() -> CollectionError:
    return CollectionError(
        f"this dockprov ({Path(__file__).resolve().parents[1]}) is neither a checkout of the collection nor carries "
        f"its artifact ({PACKAGED}/{ARTIFACT_GLOB}): build the wheel after `python -m dockprov.build_collection`, "
        "or give `dockprov init --collection-artifact FILE` or `--collection-version VERSION`")


_CHOSEN: list[Path] = []  # an artifact given on the command line (init --collection-artifact) stands in for own()


@contextmanager
def chosen(artifact: Path) -> Iterator[Content]:
    """Within the block, `own()` and `own_artifact()` are this artifact (checked first): the fleet is judged by
    the collection the project will get."""
    content = from_artifact(artifact)
    _CHOSEN.append(artifact)
    own.cache_clear()
    own_artifact.cache_clear()
    try:
        yield content
    finally:
        _CHOSEN.pop()
        own.cache_clear()
        own_artifact.cache_clear()


@cache
def own() -> Content:
    """dockprov's own collection: the checkout's HEAD, or the artifact packaged with an installed dockprov (or the
    artifact `chosen` for this run)."""
    if _CHOSEN:
        return from_artifact(_CHOSEN[-1], f"{_CHOSEN[-1]} (given)")
    if is_checkout():
        return from_checkout()
    artifact = packaged_artifact()
    if artifact is None:
        raise _no_collection()
    return from_artifact(artifact, f"the artifact shipped with dockprov ({artifact.name})")


def _requirements(project: Path) -> list[Any]:
    reqs = project / "requirements.yml"
    try:
        data = yaml.safe_load(reqs.read_text()) if reqs.is_file() else None
    except yaml.YAMLError:
        return []
    entries = data.get("collections") if isinstance(data, dict) else None
    return entries if isinstance(entries, list) else []


def required(project: Path) -> bool:
    """requirements.yml lists dockprov.docker (as a pinned artifact or by name)."""
    return pinned_artifact(project) is not None or any(
        (e.get("name") if isinstance(e, dict) else e) == FQCN for e in _requirements(project))


def pinned_artifact(project: Path) -> Path | None:
    """The tarball requirements.yml installs dockprov.docker from (`type: file`), relative to the project."""
    for entry in _requirements(project):
        if isinstance(entry, dict) and entry.get("type") == "file":
            name = str(entry.get("name", ""))
            if fnmatch.fnmatchcase(Path(name).name, ARTIFACT_GLOB):
                path = Path(name)
                return path if path.is_absolute() else project / path
    return None


def installed(project: Path) -> Path | None:
    """The project's installed copy (`ansible-galaxy collection install -r requirements.yml` in the project)."""
    root = project / INSTALLED
    return root if (root / "MANIFEST.json").is_file() else None


def for_project(project: Path) -> Content:
    """The collection a project runs: its installed copy, else the artifact it pins, else dockprov's own."""
    root = installed(project)
    if root is not None:
        return from_dir(root, f"{INSTALLED.as_posix()} (installed in the project)")
    pinned = pinned_artifact(project)
    if pinned is not None and pinned.is_file():
        return from_artifact(pinned, f"{pinned.relative_to(project) if pinned.is_relative_to(project) else pinned}"
                                     " (pinned in requirements.yml, not installed yet)")
    return own()


def identity(data: bytes) -> str:
    """What an artifact holds, independent of when it was packed: the sha256 of its MANIFEST.json, which carries
    the collection's metadata and the checksum of FILES.json (every file's sha256). Two builds of the same tree
    differ in their tar and gzip timestamps only, so they have the same identity."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.extractfile("MANIFEST.json")
        assert member is not None
        return hashlib.sha256(member.read()).hexdigest()


def _file_sums(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.extractfile("FILES.json")
        assert member is not None
        files = json.load(member)["files"]
    return {f["name"]: f.get("chksum_sha256") or "" for f in files if f.get("ftype") == "file"}


def describe_change(old: bytes, new: bytes) -> str:
    """The files that differ between two artifacts, one line each (an artifact is binary: no text diff)."""
    try:
        before, after = _file_sums(old), _file_sums(new)
    except (KeyError, OSError, tarfile.TarError, ValueError):
        return "  (the existing file is not a readable collection artifact)\n"
    lines = [f"  {'added' if n not in before else 'removed' if n not in after else 'changed'}: {n}\n"
             for n in sorted(set(before) | set(after)) if before.get(n) != after.get(n)]
    return "".join(lines) or "  (same files; collection metadata differs)\n"


def installed_matches(project: Path) -> bool | None:
    """Whether the project's installed copy is the artifact it pins (None when either is missing)."""
    root, pinned = installed(project), pinned_artifact(project)
    if root is None or pinned is None or not pinned.is_file():
        return None
    return hashlib.sha256((root / "MANIFEST.json").read_bytes()).hexdigest() == identity(pinned.read_bytes())


# --- building the artifact ---------------------------------------------------------------------------------------


def ansible_galaxy() -> str:
    beside = Path(sys.executable).parent / "ansible-galaxy"
    return str(beside) if beside.exists() else (shutil.which("ansible-galaxy") or "ansible-galaxy")


def build_from_checkout() -> Artifact:
    """`ansible-galaxy collection build` on the checkout's HEAD, unpacked into a temporary directory: what is
    committed, never the work in progress beside it. Without git, the working tree is built as it is."""
    if not is_checkout():
        raise CollectionError(f"{CHECKOUT} is no checkout of {FQCN}: nothing to build from")
    commit = head_commit()
    with tempfile.TemporaryDirectory(prefix="dockprov-collection-") as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "out")
        if commit is not None:
            src.mkdir()
            try:
                tar = _git("archive", "--format=tar", commit)
            except subprocess.CalledProcessError as exc:
                raise CollectionError(f"git archive of {CHECKOUT} failed: {exc.stderr.decode(errors='replace')}") \
                    from None
            with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
                archive.extractall(src, filter="tar")
            origin = f"built from commit {commit[:12]} of {CHECKOUT}"
        else:
            shutil.copytree(CHECKOUT, src, symlinks=True, ignore=shutil.ignore_patterns(".git", ".venv", ".lab"))
            origin = f"built from the files in {CHECKOUT} (no git)"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        try:
            proc = subprocess.run([ansible_galaxy(), "collection", "build", "--output-path", str(out), str(src)],
                                  cwd=tmp, env=env, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise CollectionError(f"cannot run ansible-galaxy to build the collection ({exc}): install "
                                  "ansible-core, or give --collection-artifact FILE") from None
        built = sorted(out.glob(ARTIFACT_GLOB)) if out.is_dir() else []
        if proc.returncode != 0 or len(built) != 1:
            raise CollectionError(f"ansible-galaxy collection build failed ({proc.returncode}): "
                                  f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
        data = built[0].read_bytes()
        name = built[0].name
    return Artifact(name, data, from_artifact_bytes(data).version, origin)


def from_artifact_bytes(data: bytes) -> Content:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        files = _tar_files(archive)
    return Content("artifact", _version_of(files), files)


def read_artifact(path: Path, origin: str | None = None) -> Artifact:
    content = from_artifact(path)  # checks that it is dockprov.docker
    return Artifact(f"{NAMESPACE}-{NAME}-{content.version}.tar.gz", path.read_bytes(), content.version,
                    origin or f"copied from {path}")


@cache
def own_artifact() -> Artifact:
    """The artifact a new project gets: built from the checkout's HEAD, or the one shipped with the wheel (or the
    one `chosen` for this run)."""
    if _CHOSEN:
        return read_artifact(_CHOSEN[-1])
    if is_checkout():
        return build_from_checkout()
    artifact = packaged_artifact()
    if artifact is None:
        raise _no_collection()
    return read_artifact(artifact, "shipped with this dockprov")


# --- importing the collection's Python ---------------------------------------------------------------------------

_EXTRACTED: list[tempfile.TemporaryDirectory[str]] = []


def collections_dir(project: Path | None = None) -> Path:
    """A directory holding ansible_collections/dockprov/docker: the project's, the checkout's (its collections/
    links to the checkout), or the pinned or packaged artifact unpacked into a temporary directory."""
    if project is not None and installed(project) is not None:
        return project / "collections"
    if is_checkout() and (CHECKOUT / "collections" / "ansible_collections" / NAMESPACE / NAME / "plugins").is_dir():
        return CHECKOUT / "collections"
    artifact = (pinned_artifact(project) if project is not None else None) or packaged_artifact()
    if artifact is None or not artifact.is_file():
        raise _no_collection()
    tmp = tempfile.TemporaryDirectory(prefix="dockprov-collections-")
    _EXTRACTED.append(tmp)
    if len(_EXTRACTED) == 1:
        atexit.register(lambda: [t.cleanup() for t in _EXTRACTED])
    dest = Path(tmp.name, "ansible_collections", NAMESPACE, NAME)
    dest.mkdir(parents=True)
    with tarfile.open(artifact) as archive:
        archive.extractall(dest, filter="data")
    return Path(tmp.name)


def module_utils(name: str, project: Path | None = None) -> ModuleType:
    """`ansible_collections.dockprov.docker.plugins.module_utils.<name>`, imported through Ansible's collection
    loader (configured once per process, as ansible-playbook does; the first directory given wins)."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    full = f"ansible_collections.{NAMESPACE}.{NAME}.plugins.module_utils.{name}"
    if AnsibleCollectionConfig.collection_finder is None:  # a second configuration would be ignored (and warned)
        if f"ansible_collections.{NAMESPACE}.{NAME}" in sys.modules:
            # Already imported as a plain package (pytest's pythonpath puts collections/ on sys.path): the
            # collection loader would then find no metadata for it. Use that import.
            return importlib.import_module(full)
        init_plugin_loader([str(collections_dir(project).resolve())])  # the loader takes absolute paths only
    return importlib.import_module(full)
