#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The work is done by the action plugin of the same name (plugins/action/preflight.py), on the controller;
# this file holds its documentation, as for every action plugin.

from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Check every dockprov role's inputs for a host before anything changes
version_added: 0.2.0
description:
  - Runs on the controller. For each role named in O(roles), takes the role's variables as the role will see them
    (the user's value, templated, or the default of the role's C(meta/argument_specs.yml)), and checks them with
    Ansible's own argument spec validator (types, choices, required keys of list items).
  - Reports role-prefixed variables that no role knows (a misspelled C(docker_engine_verison)), with the closest
    real name.
  - Checks what each value means, with the rules C(dockprov validate) applies offline too
    (C(module_utils/_checks.py)), namely
    URLs and their schemes, OpenPGP fingerprints and offline key material (its fingerprint must be one of the
    pinned ones), absolute paths, CIDRs and addresses, version pins apt can match, ranges such as timeouts and
    ports, image references, daemon.json keys no engine knows or that were removed, secrets present, templates
    and CA files that must exist on the controller.
  - Then, once per run (and again only for users not checked yet), reads the host with M(dockprov.docker.host_facts),
    read-only. Users the roles will configure must exist, and an existing C(/etc/docker/daemon.json) must parse.
  - All problems of the host are reported at once, each naming the variable as the user wrote it (with the
    item index for lists), the bad value (never a secret; options marked C(no_log) are shown as C(<secret>)),
    what is wrong and the fix.
  - C(playbooks/preflight.yml) runs it for every host before any play that can change one; every role runs it
    for its own inputs first, so a role used on its own checks them too.
author:
  - dockprov maintainers (!UNKNOWN)
extends_documentation_fragment:
  - dockprov.docker.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    description: Runs on the controller as an action plugin; only the host checks reach the host.
    support: full
  idempotent:
    support: full
options:
  roles:
    description: The roles whose inputs are checked. Default every role of the collection.
    type: list
    elements: str
notes:
  - Register the result as C(dockprov_host_facts_run), the run's host-facts marker the roles look for.
seealso:
  - module: dockprov.docker.host_facts
"""

EXAMPLES = r"""
- name: Check every role's inputs for this host, and read its facts
  dockprov.docker.preflight:
  register: dockprov_host_facts_run

- name: Check one role's inputs only
  dockprov.docker.preflight:
    roles: [docker_daemon]
  register: dockprov_host_facts_run
"""

RETURN = r"""
problems:
  description: One line per problem; empty when every input is usable.
  returned: always
  type: list
  elements: str
  sample:
    - "docker_daemon_registry_mirrors[0] = 'registry.lab:5000': is not a registry mirror URL: it has no scheme.
      Fix: write 'https://registry.lab:5000' (or http:// / https://)"
roles:
  description: The roles whose inputs were checked.
  returned: always
  type: list
  elements: str
checked_users:
  description: Users whose existence on the host has been checked in this run.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: The host facts of M(dockprov.docker.host_facts), when the host was read.
  returned: when the host was read and no problem was found
  type: dict
"""
