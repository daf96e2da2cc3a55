#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible's convention: imports follow DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: daemon_json
short_description: Merge settings into daemon.json, validate them, say whether to reload or restart
version_added: 0.1.0
description:
  - Merges O(settings) into the Docker daemon configuration file without clobbering keys it is not told
    about, and writes the file only when the resulting configuration differs (compared as parsed JSON, so a
    hand-formatted file with the same content is not rewritten).
  - Output is stable JSON (sorted keys, two-space indent).
  - Reports whether a running daemon picks the change up with a reload (SIGHUP) or needs a restart,
    from the list of options moby documents under "Configuration reload behavior".
  - Validates the candidate file with C(dockerd --validate) (Docker Engine 23 and later) or a builtin type
    check; a failed validation writes nothing.
  - Before each write it backs up the file (O(backup)), or, when there was no file, leaves the marker
    C(<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>.absent~). O(state=restore) puts back what the last write replaced.
  - A file that is not valid JSON (or not a JSON object) is reported with its line and column and never overwritten.
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
    details:
      - O(state=restore) is idempotent as well, it makes no backup of the file it replaces.
options:
  path:
    description: Path of the daemon configuration file. Its directory is created (mode 0755) if missing.
    type: path
    default: /etc/docker/daemon.json
  settings:
    description:
      - Keys to set. Dict values are merged key by key, recursively (adding C(runtimes.nvidia) keeps the
        other runtimes). List values replace the current list unless the key is named in O(merge_lists).
      - A value of V(null) means "leave as is", so a role can pass optional settings unconditionally.
    type: dict
    default: {}
  merge_lists:
    description:
      - Keys (dotted paths for nested ones) whose list values are merged instead of replaced. Items are
        appended when absent; order is kept and no duplicates are added.
    type: list
    elements: str
    default: []
  remove:
    description:
      - Keys to delete; dotted paths such as V(runtimes.nvidia) reach into nested objects. Absent keys are
        ignored. A key may not be both set and removed.
    type: list
    elements: str
    default: []
  validate:
    description:
      - V(auto) validates with C(dockerd --validate --config-file) when dockerd supports it, else with the
        builtin type check.
      - V(dockerd) requires dockerd validation and fails when dockerd is missing or too old (before 23.0).
      - V(builtin) only runs the builtin type check of known keys. V(none) skips validation.
    type: str
    choices: [auto, dockerd, builtin, none]
    default: auto
  dockerd_path:
    description: Name or path of the dockerd binary used for validation.
    type: str
    default: dockerd
  state:
    description:
      - V(present) merges O(settings).
      - V(restore) puts back what the last write replaced, atomically. That is the newest backup of O(path)
        (C(<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~)), or, when the newest is an C(.absent~) marker because the last write
        created the file, no file at all. Without either it reads dockprov 0.1's C(<path>.dockprov-previous) and
        C(<path>.dockprov-previous.none). The docker_daemon role's rollback uses it when dockerd does not start.
      - V(restore) makes no backup of the file it replaces, which is the configuration the last write produced, so
        restoring twice gives the same result. It fails when there is nothing to restore.
    type: str
    choices: [present, restore]
    default: present
notes:
  - Only keys in the builtin table are type-checked by V(builtin); unknown keys are left to dockerd.
  - Removing a reloadable key (for example C(registry-mirrors)) is classified as V(restart), because dockerd
    keeps the old value on SIGHUP when the key is absent.
"""

EXAMPLES = r"""
---
- name: Add a registry mirror, keeping other mirrors and keys
  dockprov.docker.daemon_json:
    settings:
      registry-mirrors: ["http://registry.lab:5000"]
    merge_lists: [registry-mirrors]
  register: daemon_json

- name: Reload or restart as needed
  ansible.builtin.service:
    name: docker
    state: "{{ 'reloaded' if daemon_json.action == 'reload' else 'restarted' }}"
  when: daemon_json.action != 'none'

- name: Register the NVIDIA runtime
  dockprov.docker.daemon_json:
    settings:
      runtimes:
        nvidia: {path: nvidia-container-runtime, args: []}

- name: Drop the NVIDIA runtime
  dockprov.docker.daemon_json:
    remove: [runtimes.nvidia]

- name: Roll back the last write
  dockprov.docker.daemon_json:
    state: restore
"""

RETURN = r"""
path:
  description: The configuration file.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
action:
  description: What a running daemon needs to pick the change up.
  returned: always
  type: str
  choices: [none, reload, restart]
  sample: reload
dockerd_pid:
  description:
    - PID of the dockerd running when the module ran (its pid file, checked against C(/proc)), or null.
    - The role's handler signals this PID for a reload, and does nothing to a daemon that does not run.
  returned: always
  type: int
  sample: 4211
changed_keys:
  description: Top-level keys that were added, removed or changed, sorted.
  returned: always
  type: list
  elements: str
  sample: [registry-mirrors]
config:
  description: The resulting configuration.
  returned: always
  type: dict
  sample: {"registry-mirrors": ["http://registry.lab:5000"]}
backup_file:
  description:
    - With O(state=present), the backup this run made before writing, or the C(.absent~) marker when there was no
      file. V(null) when nothing was written (no change, check mode) or O(backup=false).
    - With O(state=restore), the backup (or marker) that was put back.
  returned: always
  type: str
  sample: /etc/docker/daemon.json.4711.2026-01-31@12:00:00~
validated_with:
  description: How the new configuration was validated.
  returned: always
  type: str
  choices: [dockerd, builtin, none]
  sample: builtin
diff:
  description: Before and after text of the file.
  returned: when diff mode is on
  type: dict
  contains:
    before: {description: Previous text, type: str}
    after: {description: New text, type: str}
    before_header: {description: Path, type: str}
    after_header: {description: Path, type: str}
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._daemon_json import DEFAULT_PATH, run
from ansible_collections.dockprov.docker.plugins.module_utils._files import ModuleFileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import backup_argument_spec, run_and_exit


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": DEFAULT_PATH},
            "settings": {"type": "dict", "default": {}},
            "merge_lists": {"type": "list", "elements": "str", "default": []},
            "remove": {"type": "list", "elements": "str", "default": []},
            "validate": {"type": "str", "default": "auto", "choices": ["auto", "dockerd", "builtin", "none"]},
            "dockerd_path": {"type": "str", "default": "dockerd"},
            "state": {"type": "str", "default": "present", "choices": ["present", "restore"]},
            **backup_argument_spec(),
        },
        supports_check_mode=True,
    )
    params: dict[str, Any] = dict(module.params)
    if params["state"] == "present" and params["validate"] in ("auto", "dockerd"):
        params["dockerd_resolved"] = module.get_bin_path(params["dockerd_path"], required=False)

    def runner(argv: list[str]) -> tuple[int, str, str]:
        return module.run_command(argv, check_rc=False)

    run_and_exit(
        module,
        lambda: run(params, check_mode=module.check_mode, runner=runner, files=ModuleFileOps(module)),
    )


if __name__ == "__main__":
    main()
