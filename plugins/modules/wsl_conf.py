#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible's convention: imports follow DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: wsl_conf
short_description: Make WSL start Docker at boot through the [boot] section of /etc/wsl.conf
version_added: 0.1.0
description:
  - Ensures the C([boot]) section of C(/etc/wsl.conf) has a C(command) that starts Docker. An existing boot
    command is kept and ours appended (C(existing; ours)) unless it already contains ours.
  - Optionally sets C(systemd=true) in C([boot]).
  - The edit is line-based. Other sections, keys, comments and their order are never changed.
  - A missing file is created with just the C([boot]) section.
author:
  - dockprov maintainers (!UNKNOWN)
extends_documentation_fragment:
  - dockprov.docker.attributes
  - dockprov.docker.attributes.files
  - dockprov.docker.backup
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  path:
    description: The WSL configuration file.
    type: path
    default: /etc/wsl.conf
  boot_command:
    description: The command that starts Docker.
    type: str
    default: service docker start
  systemd:
    description:
      - When true, set C(systemd=true) in C([boot]). When false, an existing C(systemd) key is left as it is.
      - Takes effect after C(wsl --shutdown) from Windows.
    type: bool
    default: false
notes:
  - Changes to wsl.conf apply when the distribution next starts, after C(wsl --shutdown) from Windows.
seealso:
  - module: dockprov.docker.host_facts
"""

EXAMPLES = r"""
---
- name: Start Docker when the WSL distribution boots
  dockprov.docker.wsl_conf:
  when: dockprov_host.wsl.detected

- name: Boot the distribution with systemd instead
  dockprov.docker.wsl_conf:
    systemd: true
"""

RETURN = r"""
path:
  description: The WSL configuration file.
  returned: always
  type: str
  sample: /etc/wsl.conf
notes:
  description: What the change needs before it takes effect.
  returned: always
  type: list
  elements: str
  sample: ["[boot] systemd=true takes effect after `wsl --shutdown` (from Windows) ..."]
backup_file:
  description:
    - The backup this run made before changing the file, or V(null) (no change, no previous file, check mode or
      O(backup=false)).
  returned: always
  type: str
  sample: /etc/wsl.conf.4711.2026-01-31@12:00:00~
diff:
  description: Before and after text.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._files import ModuleFileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import backup_argument_spec, run_and_exit
from ansible_collections.dockprov.docker.plugins.module_utils._wsl_conf import DEFAULT_COMMAND, DEFAULT_PATH, run


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": DEFAULT_PATH},
            "boot_command": {"type": "str", "default": DEFAULT_COMMAND},
            "systemd": {"type": "bool", "default": False},
            **backup_argument_spec(),
        },
        supports_check_mode=True,
    )
    run_and_exit(module, lambda: run(dict(module.params), check_mode=module.check_mode, files=ModuleFileOps(module)))


if __name__ == "__main__":
    main()
