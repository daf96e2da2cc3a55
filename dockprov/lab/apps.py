"""LAB STAND-IN application images: the tutorial's workloads (WordPress, MySQL, a pandas job, nginx) built
from Debian packages, since no public registry is reachable here. `dockprov lab up` builds them (cached by
input key, like every lab image) and pushes them to registry.lab under Docker Hub's official names
(library/wordpress, ...), so a lab host whose daemon.json lists registry.lab as registry mirror pulls
`image: wordpress` exactly as the tutorial's hosts pull from Docker Hub."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import cachekey
from .dockercli import docker, inspect

if TYPE_CHECKING:  # only for type hints: images.py imports this module
    from .images import Builder

APPS_DIR = Path(__file__).parent / "files" / "apps"
BASE = "dockprov-lab/base-bookworm"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True)
class AppImage:
    name: str  # built as dockprov-lab/<name>, pushed as library/<name>:latest
    description: str
    extra_files: tuple[str, ...] = ()

    @property
    def image(self) -> str:
        return f"dockprov-lab/{self.name}"

    @property
    def dockerfile(self) -> Path:
        return APPS_DIR / f"{self.name}.Dockerfile"

    @property
    def repository(self) -> str:
        return f"library/{self.name}"

    def inputs(self) -> list[Path]:
        return [self.dockerfile] + [APPS_DIR / f for f in self.extra_files]


APP_IMAGES: tuple[AppImage, ...] = (
    AppImage("wordpress", "WordPress: Debian's wordpress with Apache + mod_php, WORDPRESS_DB_* from the env",
             ("wordpress-config.php", "wordpress-site.conf", "wordpress-entrypoint.sh")),
    AppImage("mariadb", "mysql:5.7 stand-in: Debian's mariadb-server, MYSQL_* env on first start",
             ("mariadb-server.cnf", "mariadb-entrypoint.py")),
    AppImage("python-pandas", "Python 3 with Debian's python3-pandas (the CSV job's base)"),
    AppImage("nginx", "nginx: Debian's nginx, 'Welcome to nginx!'"),
)


def build(builder: Builder) -> None:
    """Build every app image whose inputs (its files and the base image's key) changed."""
    for app in APP_IMAGES:
        key = cachekey.key(*app.inputs(), builder.keys[BASE])
        if not builder._fresh(app.image, key):
            builder._build(app.image, key, app.dockerfile, APPS_DIR, BASE)


def registry_config_digest(port: int, repository: str, tag: str = "latest") -> str | None:
    """The config digest (= local image ID) registry.lab serves for repository:tag, or None."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v2/{repository}/manifests/{tag}",
                                     headers={"Accept": MANIFEST_V2})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback only)
            manifest = json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return (manifest.get("config") or {}).get("digest")


def stale(port: int, apps: tuple[AppImage, ...] = APP_IMAGES) -> list[AppImage]:
    """The apps whose build registry.lab does not hold yet (missing, or another image ID)."""
    out = []
    for app in apps:
        local = (inspect("image", app.image) or {}).get("Id")
        if local is not None and registry_config_digest(port, app.repository) != local:
            out.append(app)
    return out


def push(port: int, apps: list[AppImage]) -> None:
    for app in apps:
        ref = f"127.0.0.1:{port}/{app.repository}:latest"
        docker("tag", app.image, ref)
        docker("push", ref)
        docker("rmi", ref)
