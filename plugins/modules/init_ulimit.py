#!/usr/bin/python
"""Ansible module dockprov.docker.init_ulimit: make the ulimit lines of /etc/init.d/docker unable to abort it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: init_ulimit
short_description: Patch the ulimit lines of Docker's SysV init script so C(service docker start) works on WSL
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
version_added: "0.1.0"
author:
  - dockprov
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
  backup:
    description: Copy the script to C(<path>.dockprov-orig) before the first change, unless that copy exists.
    type: bool
    default: true
  missing_ok:
    description: When O(path) does not exist, report C(skipped) and no change instead of failing.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Make the init script's ulimit lines safe (WSL, containers without CAP_SYS_RESOURCE)
  docker_init_ulimit:
  when: not docker_host_has_systemd

- name: The tutorial's edit, exactly
  docker_init_ulimit:
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
  description: The backup written by this run, or null when none was written (no change or one existed).
  returned: always
  type: str
  sample: /etc/init.d/docker.dockprov-orig
skipped:
  description: True when O(path) is missing and O(missing_ok=true).
  returned: when skipped
  type: bool
diff:
  description: Before and after text.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.dockprov.docker.plugins.module_utils._module import run_and_exit  # noqa: E402
from ansible_collections.dockprov.docker.plugins.module_utils._ulimit import DEFAULT_PATH, UlimitError, run  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": DEFAULT_PATH},
            "mode": {"type": "str", "default": "guard", "choices": ["guard", "seed"]},
            "backup": {"type": "bool", "default": True},
            "missing_ok": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    run_and_exit(module, lambda: run(dict(module.params), check_mode=module.check_mode), (UlimitError,))


if __name__ == "__main__":
    main()
