# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Logic of the apt_key module: fetch an apt repository's signing key, check its fingerprint, install it,
and remove the same key from the legacy places older instructions put it.

Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._apt import ensure_dir, host_path, shown_path
from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError
from ansible_collections.dockprov.docker.plugins.module_utils._openpgp import (
    LegacyAction,
    OpenPGPError,
    describe_keys,
    enarmor,
    is_armored,
    load_key_material,
    normalize_fingerprint,
    plan_keyring_cleanup,
    plan_whole_file_removal,
    split_keyring,
)
from ansible_collections.dockprov.docker.plugins.module_utils._urls import Fetch

DEFAULT_DEST = "/etc/apt/keyrings/docker.asc"
DEFAULT_URLS = ("https://download.docker.com/linux/ubuntu/gpg",)
DEFAULT_LEGACY_PATHS = ("/etc/apt/trusted.gpg.d", "/etc/apt/trusted.gpg")
KEY_MODE = 0o644


class AptKeyError(ModuleError):
    """A failure the module reports with fail_json (nothing was written)."""


@dataclass
class ExistingKey:
    """What ``dest`` holds now."""

    data: bytes | None = None  # the file's bytes; None when there is no file
    binary: bytes | None = None  # its OpenPGP packets; None when it holds none we can read
    ok: bool = False  # only accepted keys, in the wanted format
    error: str | None = None  # why ``binary`` is None although there is a file


def accepted_fingerprints(values: list[str]) -> list[str]:
    """The ``fingerprints`` option, normalized; raises ValueError for a bad or empty list."""
    accepted = [normalize_fingerprint(value) for value in values]
    if not accepted:
        raise ValueError("fingerprints must list at least one accepted fingerprint")
    return accepted


def key_format(fmt: str, dest: str) -> str:
    """``format`` resolved: V(auto) is binary for a C(.gpg) dest, armored otherwise."""
    if fmt == "auto":
        return "binary" if dest.endswith(".gpg") else "armored"
    return fmt


def check_key(binary: bytes, accepted: list[str]) -> tuple[list[str], list[str], str | None]:
    """(primaries found, subkeys, error) for key material against the accepted fingerprints."""
    keys = split_keyring(binary)
    primaries = [k.fingerprint for k in keys if k.fingerprint]
    subkeys = [s for k in keys for s in k.subkey_fingerprints]
    if not primaries:
        return primaries, subkeys, "no OpenPGP public key found"
    bad = [f for f in primaries if f not in accepted]
    if bad or len(primaries) != len(keys):
        return (
            primaries,
            subkeys,
            f"key fingerprint not accepted: found {', '.join(primaries) or 'none'}; "
            f"expected one of {', '.join(accepted)}",
        )
    return primaries, subkeys, None


def render_key(binary: bytes, original: bytes | None, fmt: str) -> bytes:
    """File content for ``fmt``; keeps the original armored text when it was armored already."""
    if fmt == "binary":
        return binary
    if original is not None and is_armored(original):
        text = original.decode("ascii", "replace").strip() + "\n"
        return text.encode("ascii", "replace")
    return enarmor(binary).encode("ascii")


def diff_text(data: bytes | None, binary_format: bool) -> str:
    """Text for the diff: armored text as is, a one-line summary for a binary keyring."""
    if data is None:
        return ""
    if binary_format and not is_armored(data[:4096]):
        try:
            return describe_keys(split_keyring(load_key_material(data))) + "\n"
        except OpenPGPError as exc:
            return f"unparseable binary data ({len(data)} bytes): {exc}\n"
    return data.decode("utf-8", "replace")


def read_existing(real_dest: str, dest: str, accepted: list[str], fmt: str) -> ExistingKey:
    """Read ``dest``; raises AptKeyError when it exists and is not a regular file."""
    if not os.path.isfile(real_dest):
        if os.path.exists(real_dest):
            raise AptKeyError(f"{dest} exists and is not a regular file")
        return ExistingKey()
    with open(real_dest, "rb") as handle:
        data = handle.read()
    try:
        binary = load_key_material(data)
        err = check_key(binary, accepted)[2]
    except OpenPGPError as exc:
        return ExistingKey(data, None, False, str(exc))
    ok = err is None and (is_armored(data[:4096]) == (fmt == "armored"))
    return ExistingKey(data, binary, ok)


def download_key(urls: list[str], fetch: Fetch, tried: list[dict[str, Any]]) -> tuple[bytes, bytes, str] | None:
    """(binary key, the bytes as served, url) from the first URL that serves OpenPGP data, or None.

    Every URL tried is appended to ``tried`` as {url, ok, error}.
    """
    for url in urls:
        data, err = fetch(url)
        if err is None and data is not None:
            try:
                candidate = load_key_material(data)
                if not split_keyring(candidate):
                    raise OpenPGPError("no OpenPGP packets in response")
            except OpenPGPError as exc:
                err = f"not an OpenPGP key: {exc}"
            else:
                tried.append({"url": url, "ok": True, "error": None})
                return candidate, data, url
        tried.append({"url": url, "ok": False, "error": err})
    return None


def _readable(shown: str, data: bytes, warnings: list[str] | None) -> bool:
    """Whether ``data`` is OpenPGP data; a file that is not is reported in ``warnings`` and left alone."""
    try:
        split_keyring(load_key_material(data))
    except OpenPGPError as exc:
        if warnings is not None:
            warnings.append(f"{shown} is not OpenPGP data dockprov can read ({exc}); left as it is")
        return False
    return True


def legacy_plan(
    root: str, paths: list[str], dest: str, accepted: set[str], warnings: list[str] | None = None
) -> list[LegacyAction]:
    """What the cleanup does to each legacy location (never to ``dest`` itself).

    A directory's C(*.gpg)/C(*.asc) files are deleted when all their keys are accepted ones; a file is a
    keyring from which the accepted keys are dropped (deleted when none is left). Files that cannot be
    parsed are never touched; they are reported in ``warnings``.
    """
    actions: list[LegacyAction] = []
    dest_norm = os.path.normpath(dest)
    for legacy in paths:
        real = host_path(root, legacy)
        if os.path.isdir(real):
            for file in sorted(glob.glob(os.path.join(real, "*.gpg")) + glob.glob(os.path.join(real, "*.asc"))):
                shown = os.path.join(legacy, os.path.basename(file))
                if os.path.normpath(shown) == dest_norm or not os.path.isfile(file):
                    continue
                with open(file, "rb") as handle:
                    data = handle.read()
                if not _readable(shown, data, warnings):
                    continue
                action = plan_whole_file_removal(shown, data, accepted)
                if action:
                    actions.append(action)
        elif os.path.isfile(real):
            if os.path.normpath(legacy) == dest_norm:
                continue
            with open(real, "rb") as handle:
                data = handle.read()
            if not data or not _readable(legacy, data, warnings):
                continue
            action = plan_keyring_cleanup(legacy, data, accepted)
            if action:
                actions.append(action)
    return actions


def run(
    params: dict[str, Any],
    check_mode: bool = False,
    fetch: Fetch | None = None,
    files: FileOps | None = None,
) -> dict[str, Any]:
    """Everything the module does; raises AptKeyError (with the partial result) before anything is written."""
    files = files or FileOps()
    dest = params.get("dest") or DEFAULT_DEST
    root = params.get("root") or "/"
    backup = params.get("backup", True)
    real_dest = host_path(root, dest)
    tried: list[dict[str, Any]] = []
    result: dict[str, Any] = {"changed": False, "dest": dest, "tried": tried, "removed_legacy": []}

    try:
        accepted = accepted_fingerprints(params.get("fingerprints") or [])
    except ValueError as exc:
        raise AptKeyError(str(exc), **result) from None
    fmt = key_format(params.get("format") or "auto", dest)
    try:
        existing = read_existing(real_dest, dest, accepted, fmt)
    except AptKeyError as exc:
        raise AptKeyError(str(exc), **result) from None

    # ---- the wanted key
    content = params.get("content")
    if content is not None:
        source, original = "content", content.encode("utf-8")
        try:
            binary = load_key_material(content)
        except OpenPGPError as exc:
            raise AptKeyError(f"content is not a usable OpenPGP key: {exc}", **result) from None
    elif existing.ok and existing.binary is not None and not params.get("force"):
        source, original, binary = "existing", existing.data, existing.binary
    else:
        urls = list(params.get("urls") or [])
        if not urls:
            raise AptKeyError("no urls to fetch the key from and no content given", **result)
        if fetch is None:
            raise AptKeyError("no way to download the key (no fetch given)", **result)
        got = download_key(urls, fetch, tried)
        if got is None:
            lines = "; ".join(f"{t['url']}: {t['error']}" for t in tried)
            raise AptKeyError(
                f"could not download the key from any URL ({lines}). For hosts without access, pass "
                "the key from the controller with content: \"{{ lookup('file', 'docker.asc') }}\"",
                **result,
            )
        binary, original, source = got

    try:
        primaries, subkeys, err = check_key(binary, accepted)
    except OpenPGPError as exc:
        raise AptKeyError(f"key from {source} is not valid OpenPGP data: {exc}", **result) from None
    if err:
        raise AptKeyError(f"{err} (source: {source}); nothing was written", found=primaries, **result)
    result.update(fingerprint=primaries[0], subkey_fingerprints=subkeys, source=source)

    # ---- dest
    new_content = render_key(binary, original, fmt)
    same = existing.data is not None and existing.binary == binary and existing.ok
    result["backup_file"] = None
    result["backups"] = {}
    warnings: list[str] = []
    if existing.data is not None and existing.binary is None:
        warnings.append(f"{dest} held no readable OpenPGP key ({existing.error}); it is replaced")
    if not same:
        result["changed"] = True
        if not check_mode:
            ensure_dir(os.path.dirname(real_dest))
            if backup and existing.data is not None:
                result["backup_file"] = _shown(root, files.backup(real_dest))
            files.write(real_dest, new_content, mode=KEY_MODE)
    elif os.stat(real_dest).st_mode & 0o777 != KEY_MODE:
        result["changed"] = True
        if not check_mode:
            os.chmod(real_dest, KEY_MODE)
    result["diff"] = {
        "before_header": dest,
        "after_header": dest,
        "before": diff_text(existing.data, fmt == "binary"),
        "after": diff_text(existing.data if same else new_content, fmt == "binary"),
    }

    # ---- legacy locations
    if params.get("legacy_cleanup", True):
        paths = list(params.get("legacy_paths") or [])
        for action in legacy_plan(root, paths, dest, set(accepted), warnings):
            result["removed_legacy"].extend(action.describe())
            result["changed"] = True
            if check_mode:
                continue
            real = host_path(root, action.path)
            if backup:
                result["backups"][action.path] = _shown(root, files.backup(real))
            if action.action == "delete":
                files.remove(real)
            else:
                files.write(real, action.new_content or b"")
    if warnings:
        result["warnings"] = warnings
    return result


def _shown(root: str, real: str | None) -> str | None:
    return None if real is None else shown_path(root, real)
