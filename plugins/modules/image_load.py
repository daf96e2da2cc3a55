#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: image_load
short_description: Load image archives (docker save) into dockerd when it lacks their images
version_added: 0.3.0
description:
  - Loads image archives - what C(docker save) writes - into the Docker daemon of the host, the way
    C(docker load) does. The docker_engine role loads an offline bundle's images with it (C(hello-world) for the
    smoke test among them).
  - Each archive is given with the names of the images it holds. An archive is loaded only when dockerd lacks at
    least one of them; afterwards every one of them must be there, or the module fails naming the archive and
    the image (the archive does not hold what its list says).
  - Every archive file is checked first - one that is not on the host fails the module before anything is loaded.
  - The archive is streamed from the file to dockerd (C(POST /images/load)); an error dockerd reports while it
    loads fails the module.
  - Talks to dockerd over its Unix socket with Python's standard library (no Docker SDK, no requests). That is
    why it exists next to M(community.docker.docker_image_load), which needs the Docker SDK for Python and
    requests on the managed host - packages an air-gapped host does not have and cannot download.
author:
  - dockprov maintainers (!UNKNOWN)
extends_documentation_fragment:
  - dockprov.docker.attributes
attributes:
  check_mode:
    support: full
    details:
      - Asks dockerd which images it has and reports the archives it would load, without loading them.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  archives:
    description: The image archives, loaded in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The archive on the host - a tar file as C(docker save) writes it (not compressed).
        type: path
        required: true
      images:
        description:
          - The names of the images the archive holds (its repository tags), for example V(hello-world:latest).
          - A name without a tag means V(:latest); V(registry.lab:5000/app) is V(registry.lab:5000/app:latest).
        type: list
        elements: str
        required: true
  socket:
    description: dockerd's API socket.
    type: path
    default: /var/run/docker.sock
  timeout:
    description:
      - Seconds each call to dockerd may wait for it - each read and write on the socket, and the answer to a load
        while dockerd unpacks the archive.
    type: int
    default: 300
notes:
  - Images are compared by name only - an image of the same name that dockerd has already (an older build) is not
    replaced. Give each build a tag of its own.
seealso:
  - module: community.docker.docker_image_load
  - module: dockprov.docker.engine_upgrade
"""

EXAMPLES = r"""
---
- name: Load the bundle's images that dockerd lacks
  dockprov.docker.image_load:
    archives:
      - path: /var/lib/dockprov/bundle/images/hello-world.tar
        images: [hello-world:latest]
      - path: /var/lib/dockprov/bundle/images/app.tar
        images:
          - registry.lab:5000/app:1.4.2
          - registry.lab:5000/app-worker:1.4.2
  register: loaded

- name: Show what was loaded
  ansible.builtin.debug:
    msg: "{{ loaded.loaded }}"
  when: loaded is changed
"""

RETURN = r"""
loaded:
  description: The archives loaded (in check mode - those that would be loaded), in the order given.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/dockprov/bundle/images/hello-world.tar]
images:
  description:
    - Each image name (with its tag) and its ID in dockerd after the run; null for an image dockerd does not have
      (in check mode - one that would be loaded).
  returned: always
  type: dict
  sample: {"hello-world:latest": "sha256:d2c94e258dcb3c5ac2798d32e1249e42ef01cba4841c2234249495f87264ac5a"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._docker_api import DEFAULT_SOCKET
from ansible_collections.dockprov.docker.plugins.module_utils._image_load import DEFAULT_TIMEOUT, run
from ansible_collections.dockprov.docker.plugins.module_utils._module import run_and_exit


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "archives": {"type": "list", "elements": "dict", "required": True, "options": {
                "path": {"type": "path", "required": True},
                "images": {"type": "list", "elements": "str", "required": True},
            }},
            "socket": {"type": "path", "default": DEFAULT_SOCKET},
            "timeout": {"type": "int", "default": DEFAULT_TIMEOUT},
        },
        supports_check_mode=True,
    )
    run_and_exit(module, lambda: run(dict(module.params), check_mode=module.check_mode), path_key="socket")


if __name__ == "__main__":
    main()
