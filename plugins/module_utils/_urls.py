# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""HTTP for the apt modules, as plain callables the logic is handed.

``Fetch`` returns a URL's body or an error message, ``Probe`` only whether a URL answers 200. The modules
build them from Ansible's ``fetch_url`` (proxy settings, ``validate_certs``, the module's ``timeout``); tests
hand the logic their own.

Standard library only (besides the fetch_url passed in): this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

# fetch(url) -> (body, None) on HTTP 200, else (None, error message).
Fetch = Callable[[str], "tuple[bytes | None, str | None]"]
# probe(url) -> None when the URL answered 200, else an error message. Messages starting with "HTTP " mean
# the server answered; anything else (DNS, refused, timeout, TLS) means it did not.
Probe = Callable[[str], "str | None"]


def _error(info: dict[str, Any]) -> str:
    status = info.get("status")
    msg = info.get("msg") or "request failed"
    if isinstance(status, int) and status > 0:
        return f"HTTP {status}: {msg}"
    return msg  # no HTTP answer: DNS failure, connection refused, timeout, TLS error


def make_fetch(module: Any, fetch_url: Callable[..., Any]) -> Fetch:
    """A Fetch that GETs with ``fetch_url(module, url, ...)`` and the module's ``timeout``."""

    def fetch(url: str) -> tuple[bytes | None, str | None]:
        try:
            resp, info = fetch_url(module, url, timeout=module.params["timeout"], force=True)
        except Exception as exc:  # fetch_url reports most failures in info, but be safe
            return None, f"{type(exc).__name__}: {exc}"
        if info.get("status") != 200 or resp is None:
            return None, _error(info)
        try:
            return resp.read(), None
        except Exception as exc:
            return None, f"reading response failed: {exc}"

    return fetch


def make_probe(module: Any, fetch_url: Callable[..., Any]) -> Probe:
    """A Probe that GETs with ``fetch_url`` and reads only the status."""

    def probe(url: str) -> str | None:
        if url.startswith("file:"):  # a bundle on the host: apt reads the file itself
            return None if os.path.isfile(urlparse(url).path) else "no such file"
        try:
            resp, info = fetch_url(module, url, method="GET", timeout=module.params["timeout"], force=True)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        if resp is not None:
            with contextlib.suppress(Exception):
                resp.close()
        return None if info.get("status") == 200 else _error(info)

    return probe
