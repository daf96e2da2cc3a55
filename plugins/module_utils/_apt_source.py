# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Logic of the apt_source module: an apt repository as a deb822 file from the first mirror that serves it,
and the older source files and lines for the same repository out of apt's way.

Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import glob
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._apt import (
    DOCKER_URL_MARKERS,
    LEGACY_SOURCE_NAMES,
    MirrorAttempt,
    check_flat_suite,
    choose_mirror,
    disable_docker_lines,
    dpkg_arch,
    ensure_dir,
    find_legacy_sources,
    flat_release_urls,
    flat_repo_url,
    host_path,
    render_deb822,
    repo_url,
    resolve_mirror,
    shown_path,
)
from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError
from ansible_collections.dockprov.docker.plugins.module_utils._urls import Probe

SOURCES_DIR = "/etc/apt/sources.list.d"
SOURCES_LIST = "/etc/apt/sources.list"
DEFAULT_DEST = "/etc/apt/sources.list.d/docker.sources"
DEFAULT_SIGNED_BY = "/etc/apt/keyrings/docker.asc"
SOURCE_MODE = 0o644
PRESET_NAMES = "official, aliyun, ustc, tuna, azure-china"


class AptSourceError(ModuleError):
    """A failure the module reports with fail_json (nothing was written)."""


@dataclass
class Repo:
    """The repository the options describe."""

    flat: bool
    bases: list[str]  # mirror base URLs, in order
    suite: str  # a flat repository's path ("" for Docker's layout)
    codename: str  # Docker's suite (the release codename), or the flat suite
    arch: str
    distro: str | None = None

    def release_urls_for(self) -> Callable[[str], list[str]] | None:
        """A flat repository's own InRelease/Release URLs per base (None: Docker's dists/<codename>)."""
        return (lambda base: flat_release_urls(base, self.suite)) if self.flat else None

    def url(self, base: str) -> str:
        """The URI apt is given for ``base``."""
        return flat_repo_url(base, self.suite) if self.flat else repo_url(base, self.distro or "")


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def repo_from_params(params: dict[str, Any], machine: str | None = None) -> Repo:
    """The repository from the options; raises ValueError naming the bad value."""
    mirrors = list(params.get("mirrors") or [])
    if not mirrors:
        raise ValueError("mirrors must name at least one preset or URL")
    flat = params.get("layout", "docker") == "flat"
    bases = [resolve_mirror(m, {} if flat else None) for m in mirrors]
    suite = check_flat_suite(params.get("suite") or "") if flat else ""
    codename = suite if flat else (params.get("codename") or "").strip()
    if not flat and (not codename or "/" in codename or " " in codename):
        raise ValueError(f"invalid codename {params.get('codename')!r}")
    try:
        arch = params.get("arch") or dpkg_arch(machine if machine is not None else platform.machine())
    except ValueError as exc:
        raise ValueError(f"{exc}; set arch explicitly") from None
    return Repo(flat, bases, suite, codename, arch, params.get("distro"))


def pick_mirror(repo: Repo, probe: Probe | None) -> tuple[str | None, list[MirrorAttempt], str]:
    """(base URL chosen or None, attempts, the error message when none serves the repository)."""
    base, attempts = choose_mirror(repo.bases, repo.distro or "", repo.codename, probe, repo.release_urls_for())
    if base is not None:
        return base, attempts, ""
    details = "; ".join(f"{a.mirror}: {a.error}" for a in attempts)
    if repo.flat:
        return None, attempts, (
            f"no mirror serves {repo.suite}: {details}. Check the host's network or proxy, or add another mirror URL"
        )
    return None, attempts, (
        f"no mirror serves {repo.distro} {repo.codename}: {details}. Check the codename, the host's network "
        f"or proxy, or add another mirror (presets: {PRESET_NAMES})"
    )


def legacy_markers(repo: Repo, params: dict[str, Any]) -> tuple[list[str], list[str], tuple[str, ...]]:
    """(URL fragments, file name patterns, builtin URL fragments) that mark a legacy source of this repo."""
    extra = list(params.get("legacy_markers") or [])
    if repo.flat:  # only this repository's own names and URLs: Docker's sources are none of its business
        return [*repo.bases, *extra], list(params.get("legacy_names") or []), ()
    markers = [repo_url(b, d) for b in repo.bases for d in ("debian", "ubuntu")] + extra
    return markers, [*LEGACY_SOURCE_NAMES, *(params.get("legacy_names") or [])], DOCKER_URL_MARKERS


def source_files(root: str) -> dict[str, str]:
    """{host path: text} of the *.list and *.sources files in sources.list.d."""
    real_dir = host_path(root, SOURCES_DIR)
    found: dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(real_dir, "*.list")) + glob.glob(os.path.join(real_dir, "*.sources"))):
        if os.path.isfile(path):
            found[f"{SOURCES_DIR}/{os.path.basename(path)}"] = read_text(path) or ""
    return found


def write_source(
    root: str, dest: str, content: str, check_mode: bool, backup: bool, files: FileOps
) -> tuple[bool, str | None, str | None]:
    """Make ``dest`` hold ``content`` with mode 0644: (changed, text before, backup written)."""
    real_dest = host_path(root, dest)
    before = read_text(real_dest) if os.path.isfile(real_dest) else None
    if before == content:
        if os.stat(real_dest).st_mode & 0o777 == SOURCE_MODE:
            return False, before, None
        if not check_mode:
            os.chmod(real_dest, SOURCE_MODE)
        return True, before, None
    backup_file = None
    if not check_mode:
        ensure_dir(os.path.dirname(real_dest))
        if backup and before is not None:
            backup_file = files.backup(real_dest)
        files.write(real_dest, content.encode("utf-8"), mode=SOURCE_MODE)
    return True, before, backup_file and shown_path(root, backup_file)


def clean_legacy(
    root: str, dest: str, repo: Repo, params: dict[str, Any], check_mode: bool, backup: bool, files: FileOps
) -> dict[str, Any]:
    """Remove other source files for the repository and comment out its lines in sources.list.

    Every file removed or rewritten is backed up first (with ``backup``). Returns removed_legacy (host
    paths), backups ({path: backup}) and disabled_lines.
    """
    markers, names, builtin = legacy_markers(repo, params)
    done: dict[str, Any] = {"removed_legacy": [], "backups": {}, "disabled_lines": []}
    for path in find_legacy_sources(source_files(root), markers, exclude=dest, names=names, builtin_markers=builtin):
        done["removed_legacy"].append(path)
        if check_mode:
            continue
        real = host_path(root, path)
        if backup:
            saved = files.backup(real)
            if saved:
                done["backups"][path] = shown_path(root, saved)
        files.remove(real)

    real_list = host_path(root, SOURCES_LIST)
    text = None
    if os.path.isfile(real_list):
        with open(real_list, "rb") as handle:
            raw = handle.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:  # rewriting it would replace bytes: report, leave it
            done["warnings"] = [f"{SOURCES_LIST} is not UTF-8 text ({exc}); its lines were not checked"]
    if text:
        new_text, disabled = disable_docker_lines(text, markers, builtin)
        if disabled:
            done["removed_legacy"].append(SOURCES_LIST)
            done["disabled_lines"] = disabled
            if not check_mode:
                if backup:
                    saved = files.backup(real_list)
                    if saved:
                        done["backups"][SOURCES_LIST] = shown_path(root, saved)
                files.write(real_list, new_text.encode("utf-8"))
    return done


def run(
    params: dict[str, Any],
    check_mode: bool = False,
    probe: Probe | None = None,
    files: FileOps | None = None,
    machine: str | None = None,
) -> dict[str, Any]:
    """Everything the module does; raises AptSourceError (with the partial result) before anything is written.

    ``probe`` is used when ``params['probe']`` is true; ``machine`` stands in for C(uname -m).
    """
    files = files or FileOps()
    root = params.get("root") or "/"
    dest = params.get("dest") or DEFAULT_DEST
    signed_by = params.get("signed_by") or DEFAULT_SIGNED_BY
    backup = params.get("backup", True)
    result: dict[str, Any] = {
        "changed": False,
        "dest": dest,
        "tried": [],
        "removed_legacy": [],
        "backups": {},
        "disabled_lines": [],
    }
    try:
        repo = repo_from_params(params, machine)
    except ValueError as exc:
        raise AptSourceError(str(exc), **result) from None

    base, attempts, error = pick_mirror(repo, probe if params.get("probe", True) else None)
    result["tried"] = [a.as_dict() for a in attempts]
    if base is None:
        raise AptSourceError(error, **result)
    url = repo.url(base)
    result.update(mirror=base, repo_url=url)

    warnings: list[str] = []
    if not os.path.exists(host_path(root, signed_by)):
        warnings.append(f"signed_by {signed_by} does not exist yet; apt will reject the repository until it does")
    content = render_deb822(
        url, "/" if repo.flat else repo.codename, "" if repo.flat else params.get("channel") or "stable",
        repo.arch, signed_by,
    )
    result["content"] = content
    changed, before, backup_file = write_source(root, dest, content, check_mode, backup, files)
    result["changed"] = changed
    result["backup_file"] = backup_file
    result["diff"] = {"before_header": dest, "after_header": dest, "before": before or "", "after": content}

    if params.get("legacy_cleanup", True):
        done = clean_legacy(root, dest, repo, params, check_mode, backup, files)
        warnings.extend(done.pop("warnings", []))
        result.update(done)
        result["changed"] = result["changed"] or bool(done["removed_legacy"])
    if warnings:
        result["warnings"] = warnings
    return result
