# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller-side filters for the dockprov roles: mirror key URLs, Docker package versions, daemon.json merges.

The mirror presets live in the collection's module_utils (the modules need them on the hosts), so the
controller and the hosts share one list. Documentation: key_urls.yml, resolve_version.yml and
upstream_version.yml and upgrade_kind.yml next to this file.
"""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.dockprov.docker.plugins.module_utils._apt import repo_url, resolve_mirror
from ansible_collections.dockprov.docker.plugins.module_utils._daemon_json import DaemonJsonError, merge


def key_urls(mirrors: list[str], distro: str) -> list[str]:
    """The signing-key URL of each mirror (preset name or URL), in order: <base>/linux/<distro>/gpg."""
    urls = []
    for mirror in mirrors:
        try:
            urls.append(repo_url(resolve_mirror(mirror), distro) + "/gpg")
        except ValueError as exc:
            raise AnsibleFilterError(f"docker_repo_mirrors: {exc}") from exc
    return urls


def resolve_version(madison: str, package: str, version: str) -> str:
    """Resolve a plain version ("26.1.5") to the repo's full string ("5:26.1.5-1~debian.12~bookworm").

    `madison` is the output of `apt-cache madison <package>`; a full version string is returned as is
    when the repo has it. Raises when the repo has no match, listing what it has.
    """
    available = []
    for line in madison.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 2 and parts[0] == package:
            available.append(parts[1])
    if version in available:
        return version
    pattern = re.compile(rf"^(\d+:)?{re.escape(version)}([-~+]|$)")
    matches = [v for v in available if pattern.match(v)]
    if not matches:
        raise AnsibleFilterError(
            f"docker_engine_version: {package} {version!r} is not in the repository; it has: "
            + (", ".join(available) or "nothing (is the repo configured?)")
            + ". Set docker_engine_version to one of these, or to '' for the newest."
        )
    return matches[0]  # madison lists newest first


def _engine_upgrade() -> Any:
    """module_utils/_engine_upgrade, imported on first use: it brings the Docker API client and the port bridge,
    and every task whose template uses any of these filters loads this file in its own worker process."""
    from ansible_collections.dockprov.docker.plugins.module_utils import _engine_upgrade

    return _engine_upgrade


def upstream_version(version: str) -> str:
    """The upstream part of a Debian version: "5:26.1.5-1~debian.12~bookworm" -> "26.1.5".

    The parser is module_utils' (the engine_upgrade module's release lines use the same); None from it is an error.
    """
    parsed = _engine_upgrade().upstream(version)
    if parsed is None:
        raise AnsibleFilterError(f"not a Docker package version: {version!r}")
    return parsed


def upgrade_kind(installed: str | None, wanted: str) -> str:
    """module_utils' upgrade_kind (none, patch, major or install); a version it cannot parse fails the template."""
    try:
        return _engine_upgrade().upgrade_kind(installed, wanted)
    except ValueError as exc:
        raise AnsibleFilterError(f"upgrade_kind: {exc}") from exc


def daemon_json_merge(current: Any, settings: dict[str, Any], merge_lists: list[str] | None = None,
                      remove: list[str] | None = None) -> dict[str, Any] | None:
    """daemon.json `current` with `settings` merged in, exactly as dockprov.docker.daemon_json merges them.

    None when `current` is not an object or the settings conflict (the module then runs and says why).
    """
    if not isinstance(current, dict):
        return None
    try:
        return merge(current, dict(settings or {}), list(merge_lists or []), list(remove or []))
    except DaemonJsonError:
        return None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "daemon_json_merge": daemon_json_merge,
            "key_urls": key_urls,
            "resolve_version": resolve_version,
            "upstream_version": upstream_version,
            "upgrade_kind": upgrade_kind,
        }
