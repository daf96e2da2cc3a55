# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Load image archives (what ``docker save`` writes) into dockerd when it lacks their images (module
dockprov.docker.image_load).

Each archive comes with the names of the images it holds (a bundle's manifest says them). An archive is
loaded when dockerd lacks at least one of its images; afterwards each of them must be there, or the archive
does not hold what the manifest says. Every archive file is checked first, so a bundle with a file missing
fails before anything is loaded.

Standard library only: this file runs on managed hosts (Python 3.9+), air-gapped ones among them.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._docker_api import (
    DEFAULT_SOCKET,
    DockerApi,
    DockerApiError,
    image_id,
    load_images,
)
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError

DEFAULT_TIMEOUT = 300
DIFF_HEADER = "images in dockerd"


def normalize(name: str) -> str:
    """`name` as dockerd lists it: without a tag it means ``:latest`` (``registry.lab:5000/app`` too: the colon
    there is the registry's port); a name with a digest (``@sha256:...``) is left as it is."""
    name = name.strip()
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return f"{name}:latest"


def archive_list(archives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The archives as ``{path, images}`` with normalized image names (in their order, no duplicates);
    ModuleError for an entry without a path or without images."""
    out = []
    for number, entry in enumerate(archives or [], start=1):
        path = str((entry or {}).get("path") or "")
        if not path:
            raise ModuleError(f"archive {number} has no path")
        images: list[str] = []
        for name in (entry or {}).get("images") or []:
            if str(name).strip() and normalize(str(name)) not in images:
                images.append(normalize(str(name)))
        if not images:
            raise ModuleError(f"{path}: no image names are given for it. Fix: list the images the archive holds "
                              "(its repository tags, e.g. hello-world:latest)")
        out.append({"path": path, "images": images})
    return out


def missing_files(archives: list[dict[str, Any]]) -> list[str]:
    """The archive paths that are not a file on this host."""
    return [a["path"] for a in archives if not os.path.isfile(a["path"])]


def _text(names: list[str]) -> str:
    return "".join(f"{name}\n" for name in sorted(names))


def load_archives(archives: list[dict[str, Any]], api: DockerApi, *, check_mode: bool,
                  timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Load each archive of which dockerd lacks at least one image (none in check mode: those are only
    reported). Returns ``changed``, ``loaded`` (the archive paths, in order), ``images`` ({name: ID after the
    run, None when missing; in check mode also for one that would be loaded}) and a ``diff`` of the image names
    present before and after. ModuleError (with ``changed`` and ``loaded`` so far) when a file is missing, dockerd
    fails, or an image is still missing after its archive was loaded."""
    archives = archive_list(archives)
    absent = missing_files(archives)
    if absent:
        raise ModuleError(f"image archive{'s' if len(absent) > 1 else ''} not found on the host: {', '.join(absent)}."
                          " Fix: copy the archives (what `docker save` wrote) to the host before this task, or"
                          " correct the path", changed=False, loaded=[])
    names = list(dict.fromkeys(name for archive in archives for name in archive["images"]))
    try:
        ids = {name: image_id(api, name) for name in names}
    except DockerApiError as exc:
        raise ModuleError(f"cannot ask dockerd which images it has: {exc}", changed=False, loaded=[]) from None
    before = [name for name, image in ids.items() if image]
    after = set(before)
    loaded: list[str] = []
    for archive in archives:
        path, wanted = archive["path"], archive["images"]
        if all(name in after for name in wanted):
            continue  # an archive loaded before may have brought them
        if check_mode:
            loaded.append(path)
            after.update(wanted)
            continue
        try:
            said = load_images(api, path, timeout=timeout)
        except DockerApiError as exc:
            raise ModuleError(f"{path}: dockerd did not load it: {exc}", changed=bool(loaded), loaded=loaded) from None
        loaded.append(path)
        try:
            for name in names:
                if name not in after:
                    ids[name] = image_id(api, name)
        except DockerApiError as exc:
            raise ModuleError(f"{path} was loaded, then dockerd did not say which images it has: {exc}",
                              changed=True, loaded=loaded) from None
        after.update(name for name in names if ids[name])
        still = [name for name in wanted if not ids[name]]
        if still:
            holds = ", ".join(said) if said else "nothing dockerd named"
            raise ModuleError(f"{path} was loaded, yet dockerd still has no {', '.join(still)}: the archive does not"
                              f" hold what its list of images says (dockerd loaded: {holds}). Fix: list the"
                              " archive's own images (`tar -xOf ARCHIVE manifest.json` shows its RepoTags), or"
                              " rebuild it with `docker save`", changed=True, loaded=loaded)
    return {
        "changed": bool(loaded),
        "loaded": loaded,
        "images": {name: ids[name] for name in names},
        "diff": {"before_header": DIFF_HEADER, "after_header": DIFF_HEADER,
                 "before": _text(before), "after": _text(sorted(after))},
    }


def run(params: dict[str, Any], check_mode: bool = False, api: DockerApi | None = None) -> dict[str, Any]:
    """What the module does."""
    timeout = int(params.get("timeout") or DEFAULT_TIMEOUT)
    api = api or DockerApi(params.get("socket") or DEFAULT_SOCKET, timeout=timeout)
    return load_archives(params.get("archives") or [], api, check_mode=check_mode, timeout=timeout)
