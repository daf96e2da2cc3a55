# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # The one backup scheme of every dockprov module that rewrites or removes a file.
    # Argument spec: module_utils/_module.py backup_argument_spec().
    DOCUMENTATION = r"""
options:
  backup:
    description:
      - Before the module replaces or removes a file, copy it next to itself as C(<file>.<pid>.<YYYY-MM-DD@HH:MM:SS>~),
        the name Ansible's own modules give backups (AnsibleModule's C(backup_local)). Mode, owner and times are kept.
      - The copy is never read as configuration. apt ignores names ending in C(~) in C(sources.list.d) and
        C(trusted.gpg.d), and systemd's SysV generator ignores them in C(/etc/init.d).
      - Each replacement or removal makes one backup of that file. The module never removes backups.
      - Check mode makes no backup, and RV(backup_file) is then V(null).
    type: bool
    default: true
"""
