#!/usr/bin/python
"""Ansible module dockprov.docker.wsl_conf: start Docker from the [boot] section of /etc/wsl.conf."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsl_conf
short_description: Make WSL start Docker at boot through the [boot] section of /etc/wsl.conf
description:
  - Ensures the C([boot]) section of C(/etc/wsl.conf) has a C(command) that starts Docker. An existing boot
    command is kept and ours appended (C(existing; ours)) unless it already contains ours.
  - Optionally sets C(systemd=true) in C([boot]).
  - The edit is line-based. Other sections, keys, comments and their order are never changed.
  - A missing file is created with just the C([boot]) section.
version_added: "0.1.0"
author:
  - dockprov
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
  backup:
    description: Before changing an existing file, copy it to C(<path>.dockprov-previous).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Changes to wsl.conf apply when the distribution next starts, after C(wsl --shutdown) from Windows.
"""

EXAMPLES = r"""
- name: Start Docker when the WSL distribution boots
  docker_wsl_conf:
  when: docker_host_is_wsl

- name: Boot the distribution with systemd instead
  docker_wsl_conf:
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
  description: The backup written, or null.
  returned: always
  type: str
  sample: /etc/wsl.conf.dockprov-previous
diff:
  description: Before and after text.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.dockprov.docker.plugins.module_utils._module import run_and_exit  # noqa: E402
from ansible_collections.dockprov.docker.plugins.module_utils._wsl_conf import (  # noqa: E402
    DEFAULT_COMMAND,
    DEFAULT_PATH,
    WslConfError,
    run,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": DEFAULT_PATH},
            "boot_command": {"type": "str", "default": DEFAULT_COMMAND},
            "systemd": {"type": "bool", "default": False},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    run_and_exit(module, lambda: run(dict(module.params), check_mode=module.check_mode), (WslConfError,))


if __name__ == "__main__":
    main()
