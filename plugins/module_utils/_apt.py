# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Docker apt repository helpers: mirror presets, deb822 rendering, legacy source detection.

Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from ansible_collections.dockprov.docker.plugins.module_utils._urls import Probe

MIRROR_PRESETS: dict[str, str] = {
    "official": "https://download.docker.com",
    "aliyun": "https://mirrors.aliyun.com/docker-ce",
    "ustc": "https://mirrors.ustc.edu.cn/docker-ce",
    "tuna": "https://mirrors.tuna.tsinghua.edu.cn/docker-ce",
    "azure-china": "https://mirror.azure.cn/docker-ce",
}

DOCKER_DISTROS = ("debian", "ubuntu")
CHANNELS = ("stable", "test")
MANAGED_HEADER = "# Managed by dockprov"

_DPKG_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "armhf",
    "armv8l": "armhf",
    "armhf": "armhf",
    "armv6l": "armel",
    "armel": "armel",
    "ppc64le": "ppc64el",
    "ppc64el": "ppc64el",
    "s390x": "s390x",
    "i386": "i386",
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "riscv64": "riscv64",
}

LEGACY_SOURCE_NAMES = ("docker.list", "download_docker_com_*.list")
DOCKER_URL_MARKERS = ("download.docker.com", "/docker-ce/linux/")


def resolve_mirror(name_or_url: str, presets: dict[str, str] | None = None) -> str:
    """A preset name, an http(s) base URL or a file:/// directory -> base URL without trailing slash.

    ``presets`` defaults to Docker's; a flat repository passes its own (or none: URLs only).
    """
    presets = MIRROR_PRESETS if presets is None else presets
    value = (name_or_url or "").strip()
    if value in presets:
        return presets[value]
    parsed = urlparse(value)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return value.rstrip("/")
    if parsed.scheme == "file" and not parsed.netloc and parsed.path.startswith("/"):
        return value.rstrip("/")  # an air-gapped bundle copied to the host (docker_repo_bundle)
    if not presets:
        raise ValueError(f"unknown mirror {name_or_url!r}: use an http(s):// base URL")
    raise ValueError(
        f"unknown mirror {name_or_url!r}: use an http(s):// base URL or one of the presets "
        f"{', '.join(sorted(presets))}"
    )


def repo_url(base: str, distro: str) -> str:
    if distro not in DOCKER_DISTROS:
        raise ValueError(f"unsupported distro {distro!r}: Docker's apt repos are {', '.join(DOCKER_DISTROS)}")
    return f"{base.rstrip('/')}/linux/{distro}"


def release_urls(repo: str, codename: str) -> list[str]:
    base = f"{repo.rstrip('/')}/dists/{codename}"
    return [f"{base}/InRelease", f"{base}/Release"]


def flat_release_urls(base: str, suite: str) -> list[str]:
    """InRelease/Release of a flat repository (``deb <base> <suite>`` where the suite is a path ending in /)."""
    prefix = f"{base.rstrip('/')}/{suite.strip('/')}/" if suite.strip("/") else f"{base.rstrip('/')}/"
    return [f"{prefix}InRelease", f"{prefix}Release"]


def flat_repo_url(base: str, suite: str) -> str:
    """The URI apt is given for a flat repository: ``deb <base>/<suite> /``.

    apt resolves a flat index's ``Filename: ./x.deb`` against this URI, so the path goes into the URI and the
    suite is "/" (NVIDIA's own one-line source: ``deb <base>/stable/deb/$(ARCH) /``).
    """
    path = suite.strip("/")
    return f"{base.rstrip('/')}/{path}" if path else base.rstrip("/")


def check_flat_suite(suite: str) -> str:
    """A flat repository's suite: a relative path that ends in "/" (sources.list(5): no components then)."""
    value = (suite or "").strip()
    if not value.endswith("/") or value.startswith("/") and value != "/" or " " in value or ".." in value.split("/"):
        raise ValueError(f"invalid flat suite {suite!r}: a relative path ending in '/', e.g. 'stable/deb/amd64/'")
    return value


def dpkg_arch(machine: str) -> str:
    """uname -m value -> Debian architecture name."""
    key = (machine or "").strip().lower()
    try:
        return _DPKG_ARCH[key]
    except KeyError:
        raise ValueError(f"unknown machine architecture {machine!r}; known: {', '.join(sorted(_DPKG_ARCH))}") from None


def render_deb822(
    uris: list[str] | str,
    suites: list[str] | str,
    components: list[str] | str,
    architectures: list[str] | str,
    signed_by: str,
    enabled: bool = True,
) -> str:
    def words(value: list[str] | str) -> str:
        return value if isinstance(value, str) else " ".join(value)

    lines = [
        MANAGED_HEADER,
        "Types: deb",
        f"URIs: {words(uris)}",
        f"Suites: {words(suites)}",
        f"Components: {words(components)}",
        f"Architectures: {words(architectures)}",
        f"Signed-By: {signed_by}",
    ]
    if not words(components):  # a flat repository (suite is a path ending in /) has no components
        lines.remove("Components: ")
    if not enabled:
        lines.append("Enabled: no")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- mirror choice


@dataclass
class MirrorAttempt:
    mirror: str
    ok: bool
    error: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"mirror": self.mirror, "ok": self.ok, "error": self.error, "url": self.url}


# A probe (module_utils/_urls.py) answers None for HTTP 200, else an error message. Messages starting with
# "HTTP " mean the server answered (so the Release fallback is worth trying); anything else (DNS, refused,
# timeout) skips the mirror's remaining URLs, which would fail the same way.


def choose_mirror(
    bases: list[str],
    distro: str,
    codename: str,
    probe: Probe | None,
    release_urls_for: Callable[[str], list[str]] | None = None,
) -> tuple[str | None, list[MirrorAttempt]]:
    """First base URL whose dists/<codename>/InRelease (or Release) answers; (None, attempts) if none.

    ``release_urls_for(base)`` replaces Docker's dists/<codename> URLs (a flat repository's own).
    """
    attempts: list[MirrorAttempt] = []
    for base in bases:
        if probe is None:
            attempts.append(MirrorAttempt(base, True, None, None))
            return base, attempts
        errors = []
        urls = release_urls_for(base) if release_urls_for else release_urls(repo_url(base, distro), codename)
        for url in urls:
            err = probe(url)
            if err is None:
                attempts.append(MirrorAttempt(base, True, None, url))
                return base, attempts
            errors.append(f"{url}: {err}")
            if not err.startswith("HTTP "):
                break
        attempts.append(MirrorAttempt(base, False, "; ".join(errors), None))
    return None, attempts


# --------------------------------------------------------------------------- legacy sources


def _active_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def references_docker(
    text: str,
    repo_markers: list[str] | tuple[str, ...] = (),
    builtin_markers: list[str] | tuple[str, ...] = DOCKER_URL_MARKERS,
) -> bool:
    markers = [m for m in (*builtin_markers, *repo_markers) if m]
    return any(any(m.rstrip("/") in line for m in markers) for line in _active_lines(text))


def find_legacy_sources(
    files: dict[str, str],
    repo_markers: list[str] | tuple[str, ...] = (),
    exclude: str | None = None,
    names: list[str] | tuple[str, ...] = LEGACY_SOURCE_NAMES,
    builtin_markers: list[str] | tuple[str, ...] = DOCKER_URL_MARKERS,
) -> list[str]:
    """Which of ``files`` ({path: content}) under sources.list.d are Docker repo sources.

    Matches docker.list and download_docker_com_*.list by name, and any *.list / *.sources whose
    non-comment lines mention download.docker.com, /docker-ce/linux/ or one of ``repo_markers``
    (e.g. the candidate mirror repo URLs). ``exclude`` (the managed file) is never returned.
    ``names`` and ``builtin_markers`` replace Docker's file names and URL fragments for another repository.
    """
    found = []
    for path in sorted(files):
        if exclude and posixpath.normpath(path) == posixpath.normpath(exclude):
            continue
        name = posixpath.basename(path)
        if not (name.endswith(".list") or name.endswith(".sources")):
            continue
        if any(fnmatch.fnmatch(name, pat) for pat in names) or references_docker(
            files[path], repo_markers, builtin_markers
        ):
            found.append(path)
    return found


# --------------------------------------------------------------------------- files


def host_path(root: str, path: str) -> str:
    """``path`` (absolute, as seen on the host) inside ``root`` (the test tree or "/")."""
    if not root or root == "/":
        return path
    return os.path.join(root, path.lstrip("/"))


def shown_path(root: str, real: str) -> str:
    """The host's view of ``real`` (a path below ``root``): the inverse of host_path."""
    if not root or root == "/":
        return real
    return "/" + os.path.relpath(real, root)


def ensure_dir(path: str, mode: int = 0o755) -> bool:
    """Create ``path`` (and parents) if missing; True when something was created."""
    if os.path.isdir(path):
        return False
    os.makedirs(path, mode=mode, exist_ok=True)
    os.chmod(path, mode)
    return True


def disable_docker_lines(
    text: str,
    repo_markers: list[str] | tuple[str, ...] = (),
    builtin_markers: list[str] | tuple[str, ...] = DOCKER_URL_MARKERS,
) -> tuple[str, list[str]]:
    """Comment out active one-line sources in ``text`` (e.g. /etc/apt/sources.list) naming Docker's repo
    (or, with other ``builtin_markers``, another repository).

    Returns (new text, the lines that were disabled).
    """
    markers = [m.rstrip("/") for m in (*builtin_markers, *repo_markers) if m]
    out: list[str] = []
    disabled: list[str] = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and any(m in stripped for m in markers):
            out.append(f"# disabled by dockprov: {line.lstrip()}")
            disabled.append(stripped)
        else:
            out.append(line)
    return "".join(out), disabled
