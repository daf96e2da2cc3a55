# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Would docker_repo's key and source modules change anything? Answered inside the preflight's one host read.

A no-op run should cost one round trip, not three: dockprov.docker.host_facts runs the very check-mode code of
dockprov.docker.apt_key and dockprov.docker.apt_source (their run() functions, nothing re-implemented) with the
inputs the preflight resolved for docker_repo, and reports for each whether it would change nothing. docker_repo
skips a module only on such a positive answer for the same inputs. Anything that needs the network is never
assumed: a key that would have to be downloaded, or a choice among several mirrors that only a probe can make,
answers "not known", and the module runs as before.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils import _apt_key, _apt_source
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError


def key_params(plan: dict[str, Any], root: str = "/") -> dict[str, Any]:
    """apt_key's parameters as docker_repo passes them (its module defaults for the rest); no URL: nothing fetched."""
    return {"dest": plan["key_path"], "fingerprints": plan["fingerprints"], "content": plan.get("content") or None,
            "format": "auto", "force": False, "legacy_cleanup": plan["legacy_cleanup"],
            "legacy_paths": list(_apt_key.DEFAULT_LEGACY_PATHS), "root": root, "backup": True, "urls": []}


def source_params(plan: dict[str, Any], distro: dict[str, Any], arch: str | None, root: str = "/") -> dict[str, Any]:
    """apt_source's parameters as docker_repo passes them, with the first mirror and no probe."""
    return {"mirrors": plan["mirrors"][:1], "layout": "docker", "distro": distro.get("docker_distro"),
            "codename": distro.get("docker_codename"), "arch": arch, "channel": plan["channel"],
            "signed_by": plan["key_path"], "dest": _apt_source.DEFAULT_DEST, "probe": False,
            "legacy_cleanup": plan["legacy_cleanup"], "legacy_names": [], "legacy_markers": [], "root": root,
            "backup": True}


def docker_repo_as_wanted(plan: dict[str, Any], distro: dict[str, Any], arch: str | None,
                          root: str = "/") -> dict[str, Any]:
    """{key, source: True when the module would change nothing; repo_url: the source's URL when known}.

    ``plan``: key_path, fingerprints, content, legacy_cleanup, mirrors, probe, channel (docker_repo's inputs).
    The source is judged only where no probe could choose another mirror: one mirror, or probing off.
    """
    out: dict[str, Any] = {"key": False, "source": False, "repo_url": None}
    # Missing, wrong or unreadable: "not known", and the module itself runs (and reports it).
    with contextlib.suppress(ModuleError, OSError, ValueError, KeyError):
        out["key"] = not _apt_key.run(key_params(plan, root), check_mode=True)["changed"]
    if plan.get("mirrors") and (len(plan["mirrors"]) == 1 or not plan.get("probe", True)) \
            and distro.get("docker_distro"):
        with contextlib.suppress(ModuleError, OSError, ValueError, KeyError):
            result = _apt_source.run(source_params(plan, distro, arch, root), check_mode=True)
            out["source"] = not result["changed"] and not result.get("warnings")
            out["repo_url"] = result.get("repo_url")
    return out
