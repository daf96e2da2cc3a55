#!/usr/bin/python
#
# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible's convention: imports follow DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
module: subid
short_description: Give users subordinate uid and gid ranges that overlap no one else's
version_added: 0.1.0
description:
  - Ensures each user in O(users) has a range of at least O(users[].count) ids in C(/etc/subuid) and
    C(/etc/subgid), as rootless Docker (newuidmap, newgidmap) needs.
  - A user whose range is big enough keeps it. A user without one gets the lowest start, never below 100000
    (login.defs' C(SUB_UID_MIN)), whose ids are free in both files; the same start in both.
  - Checks before it writes anything, and fails naming the lines when two ranges in either file share ids
    (whoever owns them), a line is malformed, a user's existing range is too small, or an explicit
    O(users[].start) would overlap another range.
  - Only missing lines are added (or, with an explicit start, the user's lines replaced); every other line,
    comment and their order stay as they are. Files are written atomically (mode and owner kept).
author:
  - dockprov maintainers (!UNKNOWN)
attributes:
  check_mode:
    description: Can run in check mode and return the changes it would make.
    support: full
  diff_mode:
    description: Returns the before and after text of both files in diff mode.
    support: full
  idempotent:
    description: A second run with the same arguments reports no change.
    support: full
options:
  users:
    description: The users and the ranges they need.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: User name; the user must exist.
        type: str
        required: true
      count:
        description: Number of subordinate ids (at least 65536).
        type: int
        default: 65536
      start:
        description:
          - First id of the range. Unset, the user's existing range is kept or a free one chosen.
          - Set, the user's lines become exactly O(users[].start):O(users[].count) in both files.
        type: int
  subuid_path:
    description: The subordinate uid file.
    type: path
    default: /etc/subuid
  subgid_path:
    description: The subordinate gid file.
    type: path
    default: /etc/subgid
notes:
  - Changing a user's range leaves files that the old range mapped with ids the user no longer owns (a
    rootless Docker's images, for one); the module never moves a range unless O(users[].start) asks it to.
seealso:
  - name: subuid(5)
    description: The file format.
    link: https://man7.org/linux/man-pages/man5/subuid.5.html
"""

EXAMPLES = r"""
---
- name: Ranges for two rootless Docker users
  dockprov.docker.subid:
    users:
      - name: alice
      - name: bob
        start: 300000
"""

RETURN = r"""
ranges:
  description: Each user's range in each file, after the change (or as it would be, in check mode).
  returned: always
  type: dict
  sample: {"alice": {"subuid": {"start": 100000, "count": 65536}, "subgid": {"start": 100000, "count": 65536}}}
diff:
  description: Before and after text of each file that changes.
  returned: when diff mode is on and a file changes
  type: list
  elements: dict
"""

import os
import pwd
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._subid import Request, SubidError, plan


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _write(module: AnsibleModule, path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".dockprov-subid.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if not os.path.exists(path):
            os.chmod(tmp, 0o644)
        # atomic_move keeps an existing file's mode and owner.
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "users": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "count": {"type": "int", "default": 65536},
                    "start": {"type": "int"},
                },
            },
            "subuid_path": {"type": "path", "default": "/etc/subuid"},
            "subgid_path": {"type": "path", "default": "/etc/subgid"},
        },
        supports_check_mode=True,
    )
    paths = {"subuid": module.params["subuid_path"], "subgid": module.params["subgid_path"]}
    requests = []
    for user in module.params["users"]:
        try:
            uid = pwd.getpwnam(user["name"]).pw_uid
        except KeyError:
            module.fail_json(msg=f"user {user['name']!r} does not exist; create it before giving it subordinate ids")
        if uid == 0:
            module.fail_json(msg=f"{user['name']!r} is root; rootless Docker is for unprivileged users")
        requests.append(Request(user["name"], uid, user["count"], user["start"]))
    try:
        before = {path: _read(path) for path in paths.values()}
        after, by_path = plan(before, requests)
    except (SubidError, OSError) as exc:
        module.fail_json(msg=str(exc))
    changed = [path for path in paths.values() if after[path] != before[path]]
    result: dict[str, Any] = {
        "changed": bool(changed),
        "ranges": {name: {kind: by_path[name][path] for kind, path in paths.items()} for name in by_path},
    }
    if module._diff and changed:
        result["diff"] = [
            {"before": before[p], "after": after[p], "before_header": p, "after_header": p} for p in changed
        ]
    if not module.check_mode:
        for path in changed:
            try:
                _write(module, path, after[path])
            except OSError as exc:
                module.fail_json(msg=f"{path}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
