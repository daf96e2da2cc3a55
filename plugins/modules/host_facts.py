#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible's convention: imports follow DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: host_facts
short_description: Fast host facts for Docker provisioning (init system, WSL, GPU, packages, distro)
version_added: 0.1.0
description:
  - Reads a handful of files instead of running full fact gathering, and returns them as the
    C(dockprov_host) fact.
  - Detects the init system (PID 1), whether systemd is running, WSL 1/2, NVIDIA GPUs (native or through WSL),
    the installed Docker-related packages from the dpkg database, the Debian architecture, and the Docker
    repository family and codename for the distribution (derivatives such as Linux Mint map to Ubuntu).
  - Never changes anything.
author:
  - dockprov maintainers (!UNKNOWN)
extends_documentation_fragment:
  - dockprov.docker.attributes
  - dockprov.docker.attributes.facts
options:
  packages:
    description: Package names whose installed versions are reported.
    type: list
    elements: str
    default: [ca-certificates, python3-apt, python3-requests, docker-ce, docker-ce-cli, containerd.io,
              docker-buildx-plugin, docker-compose-plugin, docker.io, docker-doc, docker-compose, docker-compose-v2,
              podman-docker, containerd, runc, docker, docker-engine, nvidia-container-toolkit]
  root:
    description:
      - Internal, for tests. All host paths are read below this directory.
    type: path
    default: /
  machine:
    description:
      - Internal, for tests. Overrides C(uname -m) when computing the Debian architecture.
    type: str
  check_users:
    description:
      - User names that must exist on the host (read from C(/etc/passwd)); those missing are returned in
        C(dockprov_host.checks.missing_users). Used by the M(dockprov.docker.preflight) action.
    type: list
    elements: str
    default: []
  check_json:
    description:
      - JSON files that must parse as an object when they exist (such as C(/etc/docker/daemon.json)); why one
        does not is returned in C(dockprov_host.checks.json_errors). Used by the preflight action.
    type: list
    elements: path
    default: []
  check_files:
    description:
      - Paths whose state is returned in C(dockprov_host.checks.files) (type, mode, owner, SHA-1 of a regular
        file; null when missing), so roles skip a task whose file is already as wanted. Used by the preflight action.
    type: list
    elements: path
    default: []
  check_user_files:
    description:
      - Paths relative to the home of each of O(check_users) whose state (type, mode, owner; never a checksum)
        is returned in C(dockprov_host.checks.accounts[user].files). Used by the preflight action.
    type: list
    elements: str
    default: []
  docker_repo_plan:
    description:
      - docker_repo's inputs (C(key_path), C(fingerprints), C(content), C(legacy_cleanup), C(mirrors), C(probe),
        C(channel)). The check-mode code of M(dockprov.docker.apt_key) and M(dockprov.docker.apt_source) runs
        with them, nothing fetched or probed, and C(dockprov_host.checks.docker_repo) says whether each would
        change nothing (C(key) and C(source), booleans) and the source's C(repo_url). Used by the preflight action,
        which moves it out of the facts.
    type: dict
seealso:
  - module: dockprov.docker.apt_source
  - module: dockprov.docker.init_ulimit
  - module: dockprov.docker.wsl_conf
"""

EXAMPLES = r"""
---
- name: Host facts for dockprov
  dockprov.docker.host_facts:

- name: Use the init.d service where systemd is not running (WSL without systemd)
  ansible.builtin.service:
    name: docker
    state: started
    use: "{{ 'systemd' if dockprov_host.systemd_running else 'sysvinit' }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    dockprov_host:
      description: The facts.
      type: dict
      contains:
        init_system:
          description: V(systemd), V(sysvinit) (PID 1 is C(init), as on WSL without systemd) or V(other).
          type: str
          sample: systemd
        pid1_comm:
          description: Raw C(/proc/1/comm).
          type: str
          sample: systemd
        systemd_running:
          description: PID 1 is systemd and C(/run/systemd/system) exists.
          type: bool
        wsl:
          description: C(detected) (bool), C(version) (1, 2 or null) and C(evidence) (list of strings).
          type: dict
          sample: {"detected": true, "version": 2, "evidence": ["kernel release 5.15.153.1-microsoft-standard-WSL2"]}
        gpu:
          description: C(present) (bool), C(kind) (V(nvidia), V(wsl) or null) and C(evidence).
          type: dict
          sample: {"present": true, "kind": "nvidia", "evidence": ["/dev/nvidia0 exists"]}
        packages:
          description: Installed versions of the O(packages) that are installed.
          type: dict
          sample: {"docker-ce": "5:27.5.1-1~debian.12~bookworm"}
        held:
          description: Those of the O(packages) that are installed and on hold.
          type: list
          elements: str
          sample: ["docker-ce", "docker-ce-cli"]
        machine:
          description: C(uname -m).
          type: str
          sample: x86_64
        arch:
          description: Debian architecture, or null when unknown.
          type: str
          sample: amd64
        distro:
          description:
            - C(id), C(version_id), C(codename), C(ubuntu_codename), C(id_like) (list), C(pretty_name) from os-release,
            - C(docker_distro) (V(ubuntu) or V(debian), the Docker repository family, null when not Debian-like)
              and C(docker_codename) (the codename to use in that repository).
          type: dict
          sample: {"id": "linuxmint", "docker_distro": "ubuntu", "docker_codename": "jammy"}
        docker_binary:
          description: Path of C(dockerd) when present.
          type: str
          sample: /usr/bin/dockerd
        docker_cli:
          description: Path of the C(docker) CLI when present.
          type: str
          sample: /usr/bin/docker
        dockerd:
          description:
            - C(running) and C(pid) (from the pid file, checked against C(/proc)), and C(enabled) (a systemd
              C(*.wants/docker.service) link or an C(/etc/rc[2-5].d/S*docker) link).
          type: dict
          sample: {"running": true, "pid": 4211, "enabled": true}
        checks:
          description:
            - C(missing_users) (those of O(check_users) the host lacks), C(json_errors) ({path, why} for
              O(check_json)), C(json_data) ({path, object} for those of O(check_json) that parse; null when
              missing; the preflight action moves it out of the facts, so it is never in a fact cache),
              C(dpkg_interrupted) (bool), C(accounts) ({user, {uid, gid, home, files}} for the O(check_users)
              that exist, with the state of O(check_user_files)), C(files) ({path, state} for O(check_files)) and
              C(docker_repo) (for O(docker_repo_plan); the preflight action moves it out of the facts too).
          type: dict
          sample: {"missing_users": [], "json_errors": {}, "dpkg_interrupted": false,
                   "accounts": {"root": {"uid": 0, "gid": 0, "home": "/root", "files": {
                       ".docker": {"type": "directory", "mode": "0700", "uid": 0, "gid": 0}}}},
                   "files": {"/etc/docker/certs.d/registry.example.com/ca.crt": null},
                   "docker_repo": {"key": true, "source": true,
                                   "repo_url": "https://download.docker.com/linux/debian"}}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._host_checks import host_checks
from ansible_collections.dockprov.docker.plugins.module_utils._host_facts import DEFAULT_PACKAGES, gather
from ansible_collections.dockprov.docker.plugins.module_utils._repo_plan import docker_repo_as_wanted


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "packages": {"type": "list", "elements": "str", "default": list(DEFAULT_PACKAGES)},
            "root": {"type": "path", "default": "/"},
            "machine": {"type": "str"},
            "check_users": {"type": "list", "elements": "str", "default": []},
            "check_json": {"type": "list", "elements": "path", "default": []},
            "check_files": {"type": "list", "elements": "path", "default": []},
            "check_user_files": {"type": "list", "elements": "str", "default": []},
            "docker_repo_plan": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    p = module.params
    facts = gather(root=p["root"], packages=p["packages"], machine=p["machine"], environ=dict(os.environ))
    facts["checks"] = host_checks(p["root"], p["check_users"], p["check_json"], p["check_files"],
                                  p["check_user_files"])
    if p["docker_repo_plan"]:
        facts["checks"]["docker_repo"] = docker_repo_as_wanted(p["docker_repo_plan"], facts["distro"], facts["arch"],
                                                               root=p["root"])
    module.exit_json(changed=False, ansible_facts={"dockprov_host": facts})


if __name__ == "__main__":
    main()
