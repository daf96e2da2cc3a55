#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible's convention: imports follow DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: init_ulimit
short_description: Patch the ulimit lines of Docker's SysV init script so C(service docker start) works on WSL
version_added: 0.1.0
description:
  - Debian's docker.io init script runs C(ulimit -n 1048576) and Docker 25+'s docker-ce script runs
    C(ulimit -Hn 524288), both under C(set -e). Where the hard limit cannot be raised (in containers,
    "Operation not permitted") or the soft limit is above the new hard limit (on WSL, "Invalid argument"),
    the line aborts C(service docker start).
  - >-
    O(mode=guard) rewrites each C(ulimit <flags> <number|unlimited>) line, wherever it is and however it is
    indented, into a POSIX sh one-liner that cannot fail and never raises a hard limit. The original line is
    kept in a trailing C(# dockprov: guarded (was: ...)) comment; guarded lines are left alone.
  - O(mode=seed) makes the tutorial's edit instead, C(-Hn) to C(-n) on C(ulimit -Hn) lines.
  - With O(backup=true) each change first copies the script to C(<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~); the oldest
    such copy is the script as its package installed it. systemd's SysV generator ignores these copies.
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
      - Guarded and seeded lines are recognised and left alone.
options:
  path:
    description: The init script.
    type: path
    default: /etc/init.d/docker
  mode:
    description:
      - V(guard) for a hard-only line (C(ulimit -Hn N)) lowers the hard limit to N when it is above N (the
        soft limit first when that is above N too) and otherwise keeps it; for C(ulimit -n N) or
        C(ulimit -Sn N) sets the soft limit to the smaller of N and the hard limit, keeping the hard limit;
        for C(unlimited) values tries the line and ignores failure.
      - V(seed) replaces C(-Hn) with C(-n) on C(ulimit -Hn) lines and changes nothing else. That line still
        fails where the hard limit cannot be raised.
    type: str
    choices: [guard, seed]
    default: guard
  missing_ok:
    description: When O(path) does not exist, report RV(skipped) and no change instead of failing.
    type: bool
    default: false
seealso:
  - module: dockprov.docker.host_facts
"""

EXAMPLES = r"""
---
- name: Make the init script's ulimit lines safe (WSL, containers without CAP_SYS_RESOURCE)
  dockprov.docker.init_ulimit:
  when: not dockprov_host.systemd_running

- name: The tutorial's edit, exactly
  dockprov.docker.init_ulimit:
    mode: seed
    missing_ok: true
"""

RETURN = r"""
path:
  description: The init script.
  returned: always
  type: str
  sample: /etc/init.d/docker
patched_lines:
  description: The lines changed, with their 1-based line numbers.
  returned: always
  type: list
  elements: dict
  sample: [{"line_number": 62, "before": "\t\tulimit -Hn 524288", "after": "\t\tulimit -n 524288"}]
backup_file:
  description:
    - The backup this run made before changing the script, or V(null) (no change, check mode or O(backup=false)).
    - Before version 0.2.0 this was C(<path>.dockprov-orig), written once before the first change.
  returned: always
  type: str
  sample: /etc/init.d/docker.4711.2026-01-31@12:00:00~
skipped:
  description: True when O(path) is missing and O(missing_ok=true).
  returned: when skipped
  type: bool
diff:
  description: Before and after text.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._files import ModuleFileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import backup_argument_spec, run_and_exit
from ansible_collections.dockprov.docker.plugins.module_utils._ulimit import DEFAULT_PATH, run


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": DEFAULT_PATH},
            "mode": {"type": "str", "default": "guard", "choices": ["guard", "seed"]},
            "missing_ok": {"type": "bool", "default": False},
            **backup_argument_spec(),
        },
        supports_check_mode=True,
    )
    run_and_exit(module, lambda: run(dict(module.params), check_mode=module.check_mode, files=ModuleFileOps(module)))


if __name__ == "__main__":
    main()
