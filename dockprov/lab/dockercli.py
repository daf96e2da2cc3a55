"""A thin wrapper over the docker CLI (the lab builds and runs everything through it)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

LABEL = "dockprov.lab"
KEY_LABEL = "dockprov.lab.key"
# Images carry this one, never LABEL: a container inherits its image's labels, and `lab down` removes what
# has LABEL, so a user's own container made from a lab image would go with the lab.
IMAGE_LABEL = "dockprov.lab.image"


class DockerError(RuntimeError):
    pass


def docker(*args: str, input: bytes | None = None, check: bool = True, quiet: bool = True) -> str:
    proc = subprocess.run(
        ["docker", *args], input=input, capture_output=quiet, check=False
    )
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip() if quiet else ""
        raise DockerError(f"docker {' '.join(args[:3])}... failed ({proc.returncode}): {err}")
    return proc.stdout.decode(errors="replace") if quiet and proc.stdout else ""


def daemon_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def image_key(name: str) -> str | None:
    """The input key an image was built with, or None if the image is missing."""
    info = inspect("image", name)
    if info is None:
        return None
    labels = info["Config"].get("Labels") or {}
    return labels.get(KEY_LABEL, "")


def inspect(kind: str, name: str) -> dict[str, Any] | None:
    out = docker(kind, "inspect", name, check=False).strip()
    found = json.loads(out) if out else []
    return found[0] if found else None


def labelled(kind: str) -> list[str]:
    """Names (or ids) of the containers, networks or volumes carrying the lab label."""
    if kind == "container":
        out = docker("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}")
    else:
        out = docker(kind, "ls", "--filter", f"label={LABEL}", "--format", "{{.Name}}")
    return [line for line in out.splitlines() if line.strip()]


def ensure_volume(name: str) -> None:
    """A named volume with the lab's label (so `lab down` finds it), made before any `docker run -v` would
    make it unlabelled."""
    if inspect("volume", name) is None:
        docker("volume", "create", "--label", f"{LABEL}=1", name)
