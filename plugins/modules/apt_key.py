#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible's convention: imports follow DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: apt_key
short_description: Install an apt repository's signing key, verified by fingerprint
version_added: 0.1.0
description:
  - Downloads the OpenPGP key that signs an apt repository (Docker's by default), trying several URLs in order, or
    takes it inline from the controller (O(content), the offline path). Checks that every primary key in it has one
    of the accepted O(fingerprints), and writes it atomically to O(dest) with mode 0644.
  - A key with an unexpected fingerprint fails the task and nothing is written or removed.
  - When O(dest) already holds an accepted key and O(force=false), no network access happens at all.
  - Optionally removes the key from the legacy places older instructions used (C(/etc/apt/trusted.gpg.d/*.gpg),
    C(/etc/apt/trusted.gpg.d/*.asc) and apt-key's C(/etc/apt/trusted.gpg)), keeping other keys.
  - Pure Python; the C(gpg) binary is not needed on the host.
author:
  - dockprov maintainers (!UNKNOWN)
extends_documentation_fragment:
  - dockprov.docker.attributes
  - dockprov.docker.attributes.files
  - dockprov.docker.backup
  - dockprov.docker.url
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - For binary keys the diff shows a one-line summary with fingerprints instead of the key bytes.
  idempotent:
    support: full
options:
  dest:
    description:
      - Where to write the key. Docker's documentation uses C(/etc/apt/keyrings/docker.asc).
      - The parent directory is created with mode 0755 when missing.
      - A file there that holds no readable OpenPGP key (for example an HTML error page saved by C(curl)) is
        replaced, with a warning; with O(backup=true) it is kept as a backup first.
    type: path
    default: /etc/apt/keyrings/docker.asc
  urls:
    description:
      - URLs to download the key from, tried in order. A URL that cannot be reached, answers with a status other
        than 200 or does not return OpenPGP data is skipped in favour of the next one.
      - Ignored when O(content) is set.
    type: list
    elements: str
    default: [https://download.docker.com/linux/ubuntu/gpg]
  content:
    description:
      - The key itself (ASCII-armored text), for example read on the controller with the
        P(ansible.builtin.file#lookup) lookup. Used instead of O(urls) for hosts that cannot reach any key URL.
    type: str
  fingerprints:
    description:
      - Accepted primary key fingerprints (40 or 64 hex digits; spaces and a C(0x) prefix are allowed).
      - Docker's is C(9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88).
    type: list
    elements: str
    required: true
  format:
    description:
      - How to write O(dest). V(auto) writes binary when O(dest) ends in C(.gpg), armored text otherwise.
    type: str
    choices: [auto, armored, binary]
    default: auto
  force:
    description:
      - When V(false) and O(dest) already holds only accepted keys in the wanted format (and, when O(content) is
        given, the same key as O(content)), nothing is downloaded.
      - When V(true) the key is always fetched and compared.
    type: bool
    default: false
  timeout:
    description:
      - Timeout in seconds for each download.
  legacy_cleanup:
    description:
      - Remove the key from O(legacy_paths) once the key at O(dest) is verified.
      - Each file removed or rewritten is backed up first when O(backup=true).
    type: bool
    default: true
  legacy_paths:
    description:
      - Legacy key locations. A directory is scanned for C(*.gpg) and C(*.asc) files, and a file there is deleted
        when all its primary keys are in O(fingerprints); files holding other keys are left alone.
      - A file is treated as a keyring (like apt-key's C(/etc/apt/trusted.gpg)) from which the accepted keys are
        removed while the other keys are kept; it is deleted when no key remains.
      - A file that cannot be parsed as OpenPGP data is left alone, with a warning.
      - O(dest) itself is never touched by the cleanup.
    type: list
    elements: path
    default: [/etc/apt/trusted.gpg.d, /etc/apt/trusted.gpg]
  backup:
    version_added: 0.2.0
  root:
    description:
      - Internal, for tests. All host paths are resolved below this directory.
    type: path
    default: /
seealso:
  - module: dockprov.docker.apt_source
  - module: dockprov.docker.host_facts
"""

EXAMPLES = r"""
---
- name: Docker's key from download.docker.com, falling back to a mirror
  dockprov.docker.apt_key:
    urls:
      - https://download.docker.com/linux/ubuntu/gpg
      - https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu/gpg
    fingerprints: ["9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"]

- name: Offline hosts get the key from the controller
  dockprov.docker.apt_key:
    content: "{{ lookup('ansible.builtin.file', 'files/docker.asc') }}"
    fingerprints: [9DC858229FC7DD38854AE2D88D81803C0EBFCD88]

- name: Keep a binary keyring like older instructions did, without touching legacy locations
  dockprov.docker.apt_key:
    dest: /etc/apt/keyrings/docker.gpg
    fingerprints: [9DC858229FC7DD38854AE2D88D81803C0EBFCD88]
    legacy_cleanup: false
"""

RETURN = r"""
dest:
  description: Path of the key file.
  returned: always
  type: str
  sample: /etc/apt/keyrings/docker.asc
fingerprint:
  description: The accepted primary fingerprint found in the key.
  returned: success
  type: str
  sample: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88
subkey_fingerprints:
  description: Fingerprints of the subkeys in the key.
  returned: success
  type: list
  elements: str
source:
  description: Where the key came from, V(content), the URL it was downloaded from, or V(existing).
  returned: success
  type: str
  sample: https://download.docker.com/linux/ubuntu/gpg
tried:
  description: Each URL tried, with the error when it failed.
  returned: always
  type: list
  elements: dict
  sample: [{"url": "https://download.docker.com/linux/ubuntu/gpg", "ok": true, "error": null}]
removed_legacy:
  description: "Legacy files deleted, and C(<path>: <fingerprint>) entries for keys removed from keyrings."
  returned: always
  type: list
  elements: str
  sample: ["/etc/apt/trusted.gpg.d/docker.gpg", "/etc/apt/trusted.gpg: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88"]
backup_file:
  description:
    - The backup of O(dest) this run made before replacing it, or V(null) (no change, no previous file, check mode
      or O(backup=false)).
  returned: success
  type: str
  sample: /etc/apt/keyrings/docker.asc.4711.2026-01-31@12:00:00~
  version_added: 0.2.0
backups:
  description: The backup of each legacy file this run removed or rewrote, by the file's path.
  returned: success
  type: dict
  sample: {"/etc/apt/trusted.gpg": "/etc/apt/trusted.gpg.4711.2026-01-31@12:00:00~"}
  version_added: 0.2.0
diff:
  description: Before and after contents of O(dest) (armored text, or a summary line for binary keys).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.dockprov.docker.plugins.module_utils._apt_key import (
    DEFAULT_DEST,
    DEFAULT_LEGACY_PATHS,
    DEFAULT_URLS,
    run,
)
from ansible_collections.dockprov.docker.plugins.module_utils._files import ModuleFileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import (
    backup_argument_spec,
    run_and_exit,
    url_argument_spec,
)
from ansible_collections.dockprov.docker.plugins.module_utils._urls import make_fetch


def main() -> None:
    argument_spec = {
        "dest": {"type": "path", "default": DEFAULT_DEST},
        "urls": {"type": "list", "elements": "str", "default": list(DEFAULT_URLS)},
        "content": {"type": "str"},
        "fingerprints": {"type": "list", "elements": "str", "required": True},
        "format": {"type": "str", "choices": ["auto", "armored", "binary"], "default": "auto"},
        "force": {"type": "bool", "default": False},
        "legacy_cleanup": {"type": "bool", "default": True},
        "legacy_paths": {"type": "list", "elements": "path", "default": list(DEFAULT_LEGACY_PATHS)},
        "root": {"type": "path", "default": "/"},
        **backup_argument_spec(),
        **url_argument_spec(timeout=10),
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_and_exit(
        module,
        lambda: run(
            dict(module.params),
            check_mode=module.check_mode,
            fetch=make_fetch(module, fetch_url),
            files=ModuleFileOps(module),
        ),
        path_key="dest",
    )


if __name__ == "__main__":
    main()
