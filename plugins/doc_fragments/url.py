# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # HTTP options of the modules that download from or probe apt repositories (Ansible's fetch_url).
    # Argument spec: module_utils/_module.py url_argument_spec().
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: int
    default: 10
  validate_certs:
    description:
      - Verify the TLS certificates of HTTPS URLs.
      - Set to V(false) only for a mirror with a self-signed certificate that you trust. The key fingerprint
        check and apt's own signature check do not depend on it.
    type: bool
    default: true
notes:
  - HTTP requests go through Ansible's C(fetch_url), so the E(http_proxy), E(https_proxy) and E(no_proxy)
    environment variables of the task apply.
"""
