#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible's convention: imports follow DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: apt_source
short_description: Configure Docker's apt repository (deb822) with mirror presets and fallback
version_added: 0.1.0
description:
  - Writes Docker's apt repository as a deb822 file (C(/etc/apt/sources.list.d/docker.sources) by default), the way
    Docker's current documentation does.
  - O(mirrors) are tried in order; with O(probe=true) the first one whose
    C(linux/<distro>/dists/<codename>/InRelease) (or C(Release)) answers HTTP 200 is used.
  - Older setups left C(docker.list), C(download_docker_com_*.list) or other files naming the same repository, and
    two sources for one repository with different C(Signed-By) make apt fail. With O(legacy_cleanup=true) such files
    under C(/etc/apt/sources.list.d/) are removed, and Docker lines in C(/etc/apt/sources.list) are commented out.
    With O(backup=true) each file is backed up first, next to itself, so nothing is lost.
  - With O(layout=flat) it writes a flat repository instead (C(deb <base>/stable/deb/amd64 /), no components), the
    form NVIDIA's libnvidia-container repository uses; the nvidia_container_toolkit role calls it that way.
  - Does not run C(apt-get update); notify a handler or use M(ansible.builtin.apt) with
    O(ansible.builtin.apt#module:update_cache=true) when the module reports a change.
author:
  - dockprov maintainers (!UNKNOWN)
extends_documentation_fragment:
  - dockprov.docker.attributes
  - dockprov.docker.attributes.files
  - dockprov.docker.backup
  - dockprov.docker.url
attributes:
  check_mode:
    support: full
    details:
      - Mirrors are probed in check mode too, so the result names the mirror a real run would use.
  diff_mode:
    support: full
    details:
      - The diff shows O(dest) only, not the legacy files removed or rewritten.
  idempotent:
    support: full
options:
  mirrors:
    description:
      - Mirror presets or base URLs, in order of preference. A base URL is the directory that holds
        C(linux/<distro>), for example C(https://download.docker.com).
      - "Presets: V(official) (C(https://download.docker.com)), V(aliyun) (C(https://mirrors.aliyun.com/docker-ce)),
        V(ustc) (C(https://mirrors.ustc.edu.cn/docker-ce)), V(tuna) (C(https://mirrors.tuna.tsinghua.edu.cn/docker-ce)),
        V(azure-china) (C(https://mirror.azure.cn/docker-ce))."
      - "With O(layout=flat) the presets do not apply: every entry is the URL that holds O(suite)."
    type: list
    elements: str
    required: true
  layout:
    description:
      - V(docker) is Docker's tree, C(<base>/linux/<distro>) with suite O(codename) and component O(channel).
      - "V(flat) is a flat repository: C(URIs) is the mirror joined with O(suite), C(Suites) is C(/), there are no
        C(Components); it is probed at C(<base>/<suite>InRelease). O(distro), O(codename) and O(channel) are not
        used. The index's C(Filename) fields are relative to that URI, as in NVIDIA's repository."
    type: str
    choices: [docker, flat]
    default: docker
  suite:
    description:
      - The path of a flat repository below each mirror, ending in C(/) (for example C(stable/deb/amd64/)).
      - Required with O(layout=flat).
    type: str
  distro:
    description:
      - Docker repository family, usually C(dockprov_host.distro.docker_distro) from M(dockprov.docker.host_facts).
      - Required with O(layout=docker).
    type: str
    choices: [debian, ubuntu]
  codename:
    description:
      - Release codename, usually C(dockprov_host.distro.docker_codename) (for example C(bookworm), C(noble)).
      - Required with O(layout=docker).
    type: str
  arch:
    description:
      - Debian architecture (C(amd64), C(arm64), ...). Defaults to the host's, from C(uname -m).
    type: str
  channel:
    description:
      - Repository component.
    type: str
    choices: [stable, test]
    default: stable
  signed_by:
    description:
      - Keyring that signs the repository (see M(dockprov.docker.apt_key)).
      - A warning is shown when it does not exist yet.
    type: path
    default: /etc/apt/keyrings/docker.asc
  dest:
    description:
      - The deb822 file to write, with mode 0644.
    type: path
    default: /etc/apt/sources.list.d/docker.sources
  probe:
    description:
      - Check each mirror for the codename's C(InRelease)/C(Release) file and use the first that answers.
      - When V(false) the first mirror is used without any network access.
    type: bool
    default: true
  timeout:
    description:
      - Timeout in seconds of each probe request.
    default: 5
  legacy_cleanup:
    description:
      - Remove other source files that name Docker's repository (or any of O(mirrors)) from C(sources.list.d), and
        comment out such lines in C(/etc/apt/sources.list).
      - With O(backup=true) each file is backed up next to itself first (see O(backup)).
    type: bool
    default: true
  legacy_names:
    description:
      - More file name patterns (shell globs) under C(sources.list.d) that O(legacy_cleanup) removes.
      - With O(layout=flat) these and O(legacy_markers) replace Docker's names and URL fragments.
    type: list
    elements: str
    default: []
  legacy_markers:
    description:
      - More URL fragments that mark a source line or file as one O(legacy_cleanup) removes.
    type: list
    elements: str
    default: []
  backup:
    version_added: 0.2.0
  backup_dir:
    description:
      - Ignored. Before version 0.2.0 legacy source files were moved into this directory; now they are backed up
        next to themselves like every other file (see O(backup)).
      - Deprecated, will be removed in version 1.0.0.
    type: path
  root:
    description:
      - Internal, for tests. All host paths are resolved below this directory.
    type: path
    default: /
seealso:
  - module: dockprov.docker.apt_key
  - module: dockprov.docker.host_facts
"""

EXAMPLES = r"""
---
- name: Docker repo, preferring download.docker.com, falling back to USTC and Aliyun
  dockprov.docker.apt_source:
    mirrors: [official, ustc, aliyun]
    distro: "{{ dockprov_host.distro.docker_distro }}"
    codename: "{{ dockprov_host.distro.docker_codename }}"
    arch: "{{ dockprov_host.arch }}"
  notify: apt update

- name: Internal mirror, no probing
  dockprov.docker.apt_source:
    mirrors: [https://artifacts.example.internal/docker-ce]
    distro: ubuntu
    codename: noble
    probe: false

- name: NVIDIA's flat libnvidia-container repository (the nvidia_container_toolkit role)
  dockprov.docker.apt_source:
    layout: flat
    mirrors: [https://nvidia.github.io/libnvidia-container]
    suite: stable/deb/amd64/
    arch: amd64
    signed_by: /etc/apt/keyrings/nvidia-container-toolkit.asc
    dest: /etc/apt/sources.list.d/nvidia-container-toolkit.sources
    legacy_names: [nvidia-docker.list, nvidia-container-toolkit.list]
    legacy_markers: [nvidia.github.io/nvidia-docker]
"""

RETURN = r"""
mirror:
  description: The base URL chosen.
  returned: success
  type: str
  sample: https://mirrors.ustc.edu.cn/docker-ce
repo_url:
  description: The repository URL written to C(URIs).
  returned: success
  type: str
  sample: https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu
dest:
  description: The deb822 file.
  returned: always
  type: str
  sample: /etc/apt/sources.list.d/docker.sources
tried:
  description: Each mirror tried, in order, whether it served the codename, and why not.
  returned: always
  type: list
  elements: dict
  sample: [{"mirror": "https://download.docker.com", "ok": false, "error": "...: timed out", "url": null}]
removed_legacy:
  description: Legacy source files removed, and C(/etc/apt/sources.list) when lines in it were disabled.
  returned: always
  type: list
  elements: str
  sample: [/etc/apt/sources.list.d/docker.list]
backups:
  description:
    - The backup of each legacy file this run removed or rewrote, by the file's path.
    - Empty in check mode and with O(backup=false).
  returned: always
  type: dict
  sample: {"/etc/apt/sources.list.d/docker.list": "/etc/apt/sources.list.d/docker.list.4711.2026-01-31@12:00:00~"}
disabled_lines:
  description: Lines commented out in C(/etc/apt/sources.list).
  returned: always
  type: list
  elements: str
  sample: ["deb [arch=amd64] https://download.docker.com/linux/ubuntu noble stable"]
backup_file:
  description:
    - The backup of O(dest) this run made before replacing it, or V(null) (no change, no previous file, check mode
      or O(backup=false)).
  returned: success
  type: str
  sample: /etc/apt/sources.list.d/docker.sources.4711.2026-01-31@12:00:00~
  version_added: 0.2.0
content:
  description: The deb822 text of O(dest).
  returned: success
  type: str
  sample: "# Managed by dockprov\nTypes: deb\nURIs: https://download.docker.com/linux/ubuntu\nSuites: noble\n..."
diff:
  description: Before and after text of O(dest).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.dockprov.docker.plugins.module_utils._apt_source import (
    DEFAULT_DEST,
    DEFAULT_SIGNED_BY,
    run,
)
from ansible_collections.dockprov.docker.plugins.module_utils._files import ModuleFileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import (
    backup_argument_spec,
    run_and_exit,
    url_argument_spec,
)
from ansible_collections.dockprov.docker.plugins.module_utils._urls import make_probe


def main() -> None:
    argument_spec = {
        "mirrors": {"type": "list", "elements": "str", "required": True},
        "layout": {"type": "str", "choices": ["docker", "flat"], "default": "docker"},
        "suite": {"type": "str"},
        "distro": {"type": "str", "choices": ["debian", "ubuntu"]},
        "codename": {"type": "str"},
        "arch": {"type": "str"},
        "channel": {"type": "str", "choices": ["stable", "test"], "default": "stable"},
        "signed_by": {"type": "path", "default": DEFAULT_SIGNED_BY},
        "dest": {"type": "path", "default": DEFAULT_DEST},
        "probe": {"type": "bool", "default": True},
        "legacy_cleanup": {"type": "bool", "default": True},
        "legacy_names": {"type": "list", "elements": "str", "default": []},
        "legacy_markers": {"type": "list", "elements": "str", "default": []},
        "backup_dir": {
            "type": "path",
            "removed_in_version": "1.0.0",
            "removed_from_collection": "dockprov.docker",
        },
        "root": {"type": "path", "default": "/"},
        **backup_argument_spec(),
        **url_argument_spec(timeout=5),
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("layout", "docker", ["distro", "codename"]), ("layout", "flat", ["suite"])],
        supports_check_mode=True,
    )
    run_and_exit(
        module,
        lambda: run(
            dict(module.params),
            check_mode=module.check_mode,
            probe=make_probe(module, fetch_url),
            files=ModuleFileOps(module),
        ),
        path_key="dest",
    )


if __name__ == "__main__":
    main()
