#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: engine_upgrade
short_description: Record a Docker Engine upgrade on a host, drain its containers and bring them back
version_added: 0.3.0
description:
  - Keeps the record of one host's engine upgrade in a JSON file (written atomically) - the package version
    before and after, how the upgrade runs (V(live) with live-restore, or V(drain)), every container that was
    running with its start time and PID, and the phase reached.
  - O(state=prepared) writes the record before anything changes. A record an interrupted run left unfinished is
    taken over, with its list of containers (those are the ones to bring back).
  - O(state=drained) stops the recorded containers cleanly (as C(docker stop -t)).
  - O(state=restored) is the containers' half of the health gate - every recorded container runs again; a
    drained one is started, and after a live upgrade each must be the very same process (start time and PID
    unchanged). It fails naming each container that does not pass.
  - O(state=finished) marks the record done once the whole health gate passed; the next upgrade starts a new one.
  - O(state=read) returns the record (what a rollback goes back to).
  - Talks to dockerd over its Unix socket with Python's standard library (no Docker SDK, no requests).
author:
  - dockprov maintainers (!UNKNOWN)
extends_documentation_fragment:
  - dockprov.docker.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: partial
    details: O(state=prepared) and O(state=restored) write the record only when it changes.
options:
  state:
    description: The phase to reach, or V(read).
    type: str
    choices: [prepared, drained, restored, finished, read]
    required: true
  path:
    description: The record file. A file that does not parse is reported and never overwritten.
    type: path
    default: /var/lib/dockprov/engine-upgrade.json
  previous:
    description: The installed docker-ce version (the repository's full string). Required with O(state=prepared).
    type: str
  target:
    description: The docker-ce version the upgrade installs. Required with O(state=prepared).
    type: str
  mode:
    description:
      - V(live) - containers keep running through the dockerd restart (needs C(live-restore) in daemon.json);
        V(drain) - they are stopped before and started after. Required with O(state=prepared).
    type: str
    choices: [live, drain]
  rollback:
    description:
      - With O(state=prepared) - this move goes back to the version before the last upgrade (recorded, so that a
        second rollback stays where the first one went).
    type: bool
    default: false
  stop_timeout:
    description: Seconds each container gets to stop before it is killed (O(state=drained)).
    type: int
    default: 30
  start_timeout:
    description: Seconds a started container gets to be running (O(state=restored)).
    type: int
    default: 60
  socket:
    description: dockerd's API socket.
    type: path
    default: /var/run/docker.sock
seealso:
  - module: dockprov.docker.host_facts
"""

EXAMPLES = r"""
---
- name: Record the upgrade and the running containers
  dockprov.docker.engine_upgrade:
    state: prepared
    previous: "5:26.1.5-1~debian.12~bookworm"
    target: "5:26.1.5-2~debian.12~bookworm"
    mode: live

- name: After the new engine runs - every container runs again, the very same process
  dockprov.docker.engine_upgrade:
    state: restored
"""

RETURN = r"""
path:
  description: The record file.
  returned: always
  type: str
  sample: /var/lib/dockprov/engine-upgrade.json
record:
  description:
    - The record after this call (null with O(state=read) when there is none) - C(previous), C(target), C(mode),
      C(phase), C(started), C(finished) and C(containers) (C(id), C(name), C(image), C(started_at), C(pid)).
  returned: always
  type: dict
  sample: {"previous": "5:26.1.5-1~debian.12~bookworm", "target": "5:26.1.5-2~debian.12~bookworm",
           "mode": "live", "phase": "prepared", "containers": [{"name": "web", "pid": 4711}]}
resumed:
  description: O(state=prepared) took over a record that an earlier run left unfinished.
  returned: when O(state=prepared)
  type: bool
stopped:
  description: Names of the containers stopped (O(state=drained)).
  returned: when O(state=drained)
  type: list
  elements: str
started:
  description: Names of the containers started again (O(state=restored)).
  returned: when O(state=restored)
  type: list
  elements: str
containers:
  description: Each recorded container's state after the gate, with C(started_at_now) and C(pid_now).
  returned: when O(state=restored)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._docker_api import DEFAULT_SOCKET
from ansible_collections.dockprov.docker.plugins.module_utils._engine_upgrade import DEFAULT_PATH, MODES, run
from ansible_collections.dockprov.docker.plugins.module_utils._files import ModuleFileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import run_and_exit


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True,
                      "choices": ["prepared", "drained", "restored", "finished", "read"]},
            "path": {"type": "path", "default": DEFAULT_PATH},
            "previous": {"type": "str"},
            "target": {"type": "str"},
            "mode": {"type": "str", "choices": list(MODES)},
            "rollback": {"type": "bool", "default": False},
            "stop_timeout": {"type": "int", "default": 30},
            "start_timeout": {"type": "int", "default": 60},
            "socket": {"type": "path", "default": DEFAULT_SOCKET},
        },
        required_if=[("state", "prepared", ("previous", "target", "mode"))],
        supports_check_mode=True,
    )
    run_and_exit(module, lambda: run(dict(module.params), check_mode=module.check_mode, files=ModuleFileOps(module)))


if __name__ == "__main__":
    main()
