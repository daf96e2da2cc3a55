"""A git server on the lab network, for pull mode: `git daemon` serving bare repositories read-only, and
optionally plain HTTP for files (a wheelhouse: the lab's pull hosts cannot reach PyPI, see `serve`).

Hosts in pull mode are given only a git URL (git://<name>/<repo>.git); they clone it themselves. Real fleets
use an https:// or ssh:// URL of their git hosting; git daemon is the smallest server that speaks git's own
protocol (shallow clones included, which ansible-pull and dockprov-pull use), from Debian's git package.
Not part of `dockprov lab up`: the tests that need one start it (`serve`) and remove it (`stop`).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from . import cachekey
from .dockercli import LABEL, DockerError, docker, inspect
from .images import PREFIX, Builder

IMAGE = f"{PREFIX}/git"
DOCKERFILE = """\
# LAB: git daemon (Debian's git) serving /srv/git read-only on the lab network; /srv/http over HTTP on :8080
# when mounted (python3's http.server).
ARG BASE
FROM ${BASE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git \\
 >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*
EXPOSE 9418 8080
CMD ["sh", "-c", "if [ -d /srv/http ]; then python3 -m http.server --directory /srv/http 8080 >/dev/null 2>&1 & fi; \\
exec git daemon --reuseaddr --export-all --base-path=/srv/git --informative-errors /srv/git"]
"""


def image(builder: Builder) -> str:
    parent = builder.base("bookworm")
    key = cachekey.key(DOCKERFILE, builder.keys[parent])
    if not builder._fresh(IMAGE, key):
        with tempfile.TemporaryDirectory(dir=builder._tmp()) as tmp:
            Path(tmp, "Dockerfile").write_text(DOCKERFILE)
            builder._build(IMAGE, key, Path(tmp, "Dockerfile"), Path(tmp), parent)
    return IMAGE


def serve(builder: Builder, name: str, root: Path, files: Path | None = None, network: str = "dockprov-lab") -> str:
    """Start container `name` serving the bare repositories under `root` (bind-mounted read-only) over git://,
    and `files` (if given) over http://<name>:8080/; returns git://<name>. The container carries the lab label,
    so `lab down` removes it too."""
    image(builder)
    docker("rm", "-f", name, check=False)
    mounts = ["-v", f"{root.resolve()}:/srv/git:ro"]
    if files is not None:
        mounts += ["-v", f"{files.resolve()}:/srv/http:ro"]
    docker("run", "-d", "--name", name, "--hostname", name, "--network", network, "--label", f"{LABEL}=1",
           *mounts, IMAGE)
    deadline = time.monotonic() + 20
    while True:  # git daemon listens within a second; ls-remote from inside the container proves it
        probe = subprocess.run(["docker", "exec", name, "git", "ls-remote", f"git://localhost/{_any(root)}"],
                               capture_output=True, text=True)
        if probe.returncode == 0 or _any(root) == "":
            return f"git://{name}"
        if time.monotonic() > deadline:
            raise DockerError(f"git daemon in {name} does not answer: {probe.stderr.strip()}")
        time.sleep(0.3)


def _any(root: Path) -> str:
    repos = sorted(p.name for p in root.glob("*.git"))
    return repos[0] if repos else ""


def stop(name: str) -> None:
    info = inspect("container", name)
    if info is not None and LABEL in (info["Config"].get("Labels") or {}):
        docker("rm", "-f", name)
