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
  - O(state=bridged) and O(state=unbridged) keep new connections to published ports working while dockerd
    restarts (live-restore keeps the containers, but dockerd re-creates its iptables chains when it starts and
    re-adds the containers' port mappings only after that). O(state=bridged) copies Docker's DNAT rules (nat
    chain C(DOCKER)) into a nat chain C(DOCKPROV-BRIDGE) jumped to from the top of C(PREROUTING) and C(OUTPUT)
    with Docker's own matches, and Docker's ACCEPT rules for the containers' ports (filter chain C(DOCKER)) into
    a filter chain C(DOCKPROV-BRIDGE) at the top of C(FORWARD), after the user's C(DOCKER-USER) rules; IPv6 too
    where Docker has DNAT rules there. A bridge that no longer matches Docker's rules is replaced; where Docker
    publishes no port, there is none.
  - O(state=unbridged) waits until dockerd holds every bridged rule again (polling C(iptables-save), at most
    O(bridge_timeout) seconds), then removes the jumps and chains - after the timeout too, reporting what dockerd
    lacks in RV(missing). Where there is no bridge (also a bridge an interrupted run left is removed), nothing
    changes.
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
    details:
      - O(state=prepared) and O(state=restored) write the record only when it changes.
      - O(state=bridged) changes nothing where the bridge matches Docker's rules, O(state=unbridged) nothing where
        there is no bridge.
options:
  state:
    description: The phase to reach, V(read), or the port bridge around the dockerd restart (V(bridged), V(unbridged)).
    type: str
    choices: [prepared, drained, restored, finished, read, bridged, unbridged]
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
  bridge_timeout:
    description:
      - Seconds O(state=unbridged) waits for dockerd to hold the bridged port mappings again before it removes
        the bridge anyway.
    type: int
    default: 30
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

- name: Keep new connections to published ports working through the dockerd restart
  dockprov.docker.engine_upgrade:
    state: bridged

- name: Once dockerd holds the port mappings again, remove the bridge
  dockprov.docker.engine_upgrade:
    state: unbridged

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
  returned: except with O(state=bridged) and O(state=unbridged)
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
commands:
  description: The iptables commands run (in check mode - that would run).
  returned: when O(state=bridged) or O(state=unbridged)
  type: list
  elements: str
  sample: ["iptables -w 30 -t nat -N DOCKPROV-BRIDGE"]
mappings:
  description: The published ports the bridge carries (or carried), as C(family protocol host:port -> container).
  returned: when O(state=bridged) or O(state=unbridged)
  type: list
  elements: str
  sample: ["ipv4 tcp *:8080 -> 172.17.0.2:80"]
missing:
  description:
    - The bridged rules dockerd did not hold again within O(bridge_timeout) (the bridge was removed all the same);
      empty when it holds them all.
  returned: when O(state=unbridged)
  type: list
  elements: str
waited:
  description: Seconds O(state=unbridged) waited for dockerd's rules.
  returned: when O(state=unbridged)
  type: float
"""

from collections.abc import Sequence

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._docker_api import DEFAULT_SOCKET
from ansible_collections.dockprov.docker.plugins.module_utils._engine_upgrade import DEFAULT_PATH, MODES, run
from ansible_collections.dockprov.docker.plugins.module_utils._files import ModuleFileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import run_and_exit


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True,
                      "choices": ["prepared", "drained", "restored", "finished", "read", "bridged", "unbridged"]},
            "path": {"type": "path", "default": DEFAULT_PATH},
            "previous": {"type": "str"},
            "target": {"type": "str"},
            "mode": {"type": "str", "choices": list(MODES)},
            "rollback": {"type": "bool", "default": False},
            "stop_timeout": {"type": "int", "default": 30},
            "start_timeout": {"type": "int", "default": 60},
            "bridge_timeout": {"type": "int", "default": 30},
            "socket": {"type": "path", "default": DEFAULT_SOCKET},
        },
        required_if=[("state", "prepared", ("previous", "target", "mode"))],
        supports_check_mode=True,
    )
    paths: dict[str, str | None] = {}

    def command(argv: Sequence[str]) -> tuple[int, str, str]:
        """iptables and its kin from the sbin directories too (rc 127 where one is not installed)."""
        if argv[0] not in paths:
            paths[argv[0]] = module.get_bin_path(argv[0], required=False)
        if paths[argv[0]] is None:
            return 127, "", f"{argv[0]}: command not found"
        return module.run_command([paths[argv[0]], *argv[1:]], check_rc=False)

    run_and_exit(module, lambda: run(dict(module.params), check_mode=module.check_mode, files=ModuleFileOps(module),
                                     command=command))


if __name__ == "__main__":
    main()
