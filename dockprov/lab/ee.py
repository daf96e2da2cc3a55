"""The execution environment (execution-environment.yml) built offline: what ansible-builder needs that the
lab must provide, because no image registry and no Galaxy server can be reached here.

- A base image. Users build FROM AAP's ee-minimal-rhel9 (or AWX's awx-ee); the lab builds
  `dockprov-lab/ee-base` FROM its Debian 12 base with Debian's python3-pip, and hands it to ansible-builder
  with `--build-arg EE_BASE_IMAGE=... --build-arg PKGMGR=/usr/bin/apt-get` (the file's own default is
  microdnf). The machine's local CA certificates (/usr/local/share/ca-certificates) go into it, so pip in
  the build reaches PyPI through an egress proxy that re-signs TLS, as the machine's own pip does.
- The collection artifacts the EE installs with `ansible-galaxy collection install --offline`
  (build/ee/collections/, see `collections()`): dockprov.docker built from the committed tree (HEAD, never
  work in progress) and community.docker (+ its dependency) rebuilt from the pinned ansible package's copy.

Not part of `dockprov lab up`: building the EE takes a few minutes the first time. `make ee` (or the lab
tests that need it) builds it; afterwards it is reused until one of its inputs changes.
"""

from __future__ import annotations

import fcntl
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

from . import cachekey
from .dockercli import IMAGE_LABEL, KEY_LABEL, DockerError, image_key
from .images import PREFIX, Builder, log

BASE_IMAGE = f"{PREFIX}/ee-base"
IMAGE = f"{PREFIX}/ee"
EE_FILE = "execution-environment.yml"
ARTIFACT_DIR = Path("build", "ee", "collections")  # relative to the repository (the EE file's additional_build_files)
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
# Collections the EE needs besides dockprov.docker: what the roles call (community.docker) and what that needs.
UPSTREAM = ("community.docker", "community.library_inventory_filtering_v1")

BASE_DOCKERFILE = """\
# LAB: the execution environment's base image, from Debian packages (AAP's ee-minimal-rhel9 cannot be
# pulled here). ansible-builder adds ansible-core, ansible-runner and the rest (execution-environment.yml).
ARG BASE
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
# ansible-builder installs bindep packages with "$PKGMGR install -y"; only what they need, as with microdnf.
RUN echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/90dockprov-no-recommends
COPY local-cas/ /usr/local/share/ca-certificates/
RUN apt-get update -qq \\
 && apt-get install -y -qq --no-install-recommends python3-pip ca-certificates >/dev/null \\
 && update-ca-certificates >/dev/null \\
 && apt-get clean
# Debian's pip already reads the system store; this keeps it so for a pip installed later.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
"""


def _bin(name: str) -> str:
    """A tool of the running virtualenv (ansible-galaxy, ansible-builder), else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _run(cmd: list[str], cwd: Path | None = None, log_file: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        where = f" (full log: {log_file})" if log_file else ""
        raise DockerError(f"{' '.join(cmd[:3])} failed ({proc.returncode}){where}:\n{tail}")
    return proc.stdout


# --- collection artifacts ------------------------------------------------------------------------------
def installed_collections_root() -> Path:
    """Where the pinned `ansible` package put its collections (site-packages/ansible_collections)."""
    import ansible_collections  # the namespace package the `ansible` pip package installs

    for path in ansible_collections.__path__:
        if Path(path, "community", "docker", "MANIFEST.json").exists():
            return Path(path)
    raise DockerError("community.docker not found: install the pinned dev tools (make setup)")


def upstream_versions() -> dict[str, str]:
    root = installed_collections_root()
    out = {}
    for fqcn in UPSTREAM:
        manifest = json.loads((root / fqcn.replace(".", "/") / "MANIFEST.json").read_text())
        out[fqcn] = manifest["collection_info"]["version"]
    return out


def _build(src: Path, out: Path, name: str) -> Path:
    """`ansible-galaxy collection build` src, saved as out/<name> (a fixed name the EE file lists)."""
    with tempfile.TemporaryDirectory() as tmp:
        _run([_bin("ansible-galaxy"), "collection", "build", str(src), "--output-path", tmp, "--force"])
        built = next(Path(tmp).glob("*.tar.gz"))
        target = out / name
        shutil.move(str(built), target)
    return target


def build_own(repo: Path, out: Path) -> Path:
    """dockprov.docker from the committed tree: `git archive HEAD`, then ansible-galaxy's build (galaxy.yml's
    build_ignore keeps the CLI, lab and tests out), as a user's CI would build the release."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "HEAD"],
                                 capture_output=True, check=True).stdout
        src = Path(tmp, "src")
        src.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(src, filter="tar")
        return _build(src, out, "dockprov-docker.tar.gz")


def build_upstream(fqcn: str, out: Path) -> Path:
    """community.docker (or its dependency) as an artifact, offline: the copy the pinned ansible package
    installed, rebuilt by ansible-galaxy from a galaxy.yml written from its MANIFEST.json. Rebuilt rather than
    tarred as-is: the pip package leaves out files that the Galaxy artifact's FILES.json lists (CI configs),
    and ansible-galaxy refuses an artifact whose listed files are missing."""
    installed = installed_collections_root() / fqcn.replace(".", "/")
    info = json.loads((installed / "MANIFEST.json").read_text())["collection_info"]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, fqcn)
        shutil.copytree(installed, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "MANIFEST.json",
                                                                      "FILES.json"))
        galaxy = {k: v for k, v in info.items() if v not in (None, [], {}, "")}
        if galaxy.get("license_file"):
            galaxy.pop("license", None)  # galaxy.yml takes one of the two
        galaxy.setdefault("readme", "README.md")
        (src / "galaxy.yml").write_text(yaml.safe_dump(galaxy, sort_keys=False))
        return _build(src, out, f"{fqcn.replace('.', '-')}.tar.gz")


def collections(repo: Path) -> dict[str, str]:
    """Write build/ee/collections/*.tar.gz (what execution-environment.yml installs); returns name -> version."""
    out = repo / ARTIFACT_DIR
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    build_own(repo, out)
    for fqcn in UPSTREAM:
        build_upstream(fqcn, out)
    versions = {"dockprov.docker": yaml.safe_load((repo / "galaxy.yml").read_text())["version"]}
    versions.update(upstream_versions())
    return versions


# --- images --------------------------------------------------------------------------------------------
def local_cas() -> list[Path]:
    return sorted(LOCAL_CAS.glob("*.crt")) if LOCAL_CAS.is_dir() else []


def base(builder: Builder) -> str:
    """dockprov-lab/ee-base: Debian 12 with python3-pip and the machine's local CAs, keyed by its inputs."""
    parent = builder.base("bookworm")
    cas = local_cas()
    key = cachekey.key(BASE_DOCKERFILE, builder.keys[parent], *cas)
    if builder._fresh(BASE_IMAGE, key):
        return BASE_IMAGE
    with tempfile.TemporaryDirectory(dir=builder._tmp()) as tmp:
        context = Path(tmp)
        (context / "local-cas").mkdir()
        for ca in cas:
            shutil.copy(ca, context / "local-cas" / ca.name)
        (context / "Dockerfile").write_text(BASE_DOCKERFILE)
        builder._build(BASE_IMAGE, key, context / "Dockerfile", context, parent)
    return BASE_IMAGE


def manifest(artifact: Path) -> bytes:
    """An artifact's MANIFEST.json: its version and the sha256 of FILES.json, which lists every file's sha256.
    The same content gives the same bytes (the tarball itself carries build times)."""
    with tarfile.open(artifact) as tar:
        member = tar.extractfile("MANIFEST.json")
        assert member is not None
        return member.read()


def image_inputs(repo: Path, base_key: str) -> str:
    """Everything the EE image is made of: the EE file, the collections' content (their MANIFEST.json), the base
    image, ansible-builder's version. A commit that changes no collection file (tests, the CLI) keeps the image."""
    from importlib.metadata import version

    manifests = [manifest(p) for p in sorted((repo / ARTIFACT_DIR).glob("*.tar.gz"))]
    return cachekey.key(repo / EE_FILE, *manifests, base_key, version("ansible-builder"), IMAGE_LABEL)


def build(repo: Path, state: Path, rebuild: bool = False) -> dict[str, str]:
    """Build (or reuse) dockprov-lab/ee with ansible-builder; returns image, key and whether it was built.
    One build at a time per state directory (they share build/ee/collections and the build context)."""
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "ee.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_image(repo, state, rebuild)


def _build_image(repo: Path, state: Path, rebuild: bool) -> dict[str, str]:
    builder = Builder(state, rebuild=rebuild)
    base(builder)
    versions = collections(repo)  # a few seconds; their content decides whether the image is current
    key = image_inputs(repo, builder.keys[BASE_IMAGE])
    if not rebuild and image_key(IMAGE) == key:
        log(f"{IMAGE}: up to date")
        return {"image": IMAGE, "key": key, "built": "no"}
    log(f"{IMAGE}: ansible-builder build ({', '.join(f'{k} {v}' for k, v in versions.items())})")
    context = state / "ee-context"
    shutil.rmtree(context, ignore_errors=True)
    cmd = [_bin("ansible-builder"), "build", "-f", str(repo / EE_FILE), "-c", str(context),
           "--container-runtime", "docker", "-t", IMAGE, "-v", "3",
           "--build-arg", f"EE_BASE_IMAGE={BASE_IMAGE}",
           "--build-arg", "PKGMGR=/usr/bin/apt-get",
           "--extra-build-cli-args", f"--label {KEY_LABEL}={key} --label {IMAGE_LABEL}=1"]
    _run(cmd, cwd=repo, log_file=state / "ee-build.log")
    if image_key(IMAGE) != key:
        raise DockerError(f"ansible-builder finished but {IMAGE} does not carry key {key}")
    return {"image": IMAGE, "key": key, "built": "yes"}
