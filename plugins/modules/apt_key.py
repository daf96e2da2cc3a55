#!/usr/bin/python
"""Ansible module dockprov.docker.apt_key: fetch, verify and install Docker's apt repository signing key."""

# Ansible convention: imports follow DOCUMENTATION/EXAMPLES/RETURN.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_key
short_description: Install Docker's apt repository signing key, verified by fingerprint
description:
  - Downloads the OpenPGP key that signs Docker's apt repository (trying several URLs in order) or
    takes it inline from the controller (O(content), the offline path), checks that every primary key
    in it has one of the accepted O(fingerprints), and writes it atomically to O(dest) with mode 0644.
  - A key with an unexpected fingerprint fails the task and nothing is written or removed.
  - When O(dest) already holds an accepted key and O(force=false), no network access happens at all.
  - Optionally removes Docker's key from the legacy places older instructions used
    (C(/etc/apt/trusted.gpg.d/*.gpg|*.asc) and apt-key's C(/etc/apt/trusted.gpg)), keeping other keys.
  - Pure Python; the C(gpg) binary is not needed on the host.
version_added: "0.1.0"
author:
  - dockprov maintainers
options:
  dest:
    description:
      - Where to write the key. Docker's documentation uses C(/etc/apt/keyrings/docker.asc).
      - The parent directory is created with mode 0755 when missing.
    type: path
    default: /etc/apt/keyrings/docker.asc
  urls:
    description:
      - URLs to download the key from, tried in order. A URL that cannot be reached, answers with
        a status other than 200 or does not return OpenPGP data is skipped in favour of the next one.
      - Ignored when O(content) is set.
    type: list
    elements: str
    default: [https://download.docker.com/linux/ubuntu/gpg]
  content:
    description:
      - The key itself (ASCII-armored text), for example C({{ lookup('file', 'docker.asc') }}).
        Used instead of O(urls) for hosts that cannot reach any key URL.
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
      - When V(false) and O(dest) already holds only accepted keys in the wanted format (and, when
        O(content) is given, the same key as O(content)), nothing is downloaded.
      - When V(true) the key is always fetched and compared.
    type: bool
    default: false
  timeout:
    description: Timeout in seconds for each download.
    type: int
    default: 10
  validate_certs:
    description: Verify TLS certificates of O(urls).
    type: bool
    default: true
  legacy_cleanup:
    description:
      - Remove Docker's key from O(legacy_paths) once the key at O(dest) is verified.
    type: bool
    default: true
  legacy_paths:
    description:
      - Legacy key locations. A directory is scanned for C(*.gpg) and C(*.asc) files, and a file there is
        deleted when all its primary keys are in O(fingerprints); files holding other keys are left alone.
      - A file is treated as a keyring (like apt-key's C(/etc/apt/trusted.gpg)) from which the accepted keys
        are removed while the other keys are kept; it is deleted when no key remains.
      - O(dest) itself is never touched by the cleanup.
    type: list
    elements: path
    default: [/etc/apt/trusted.gpg.d, /etc/apt/trusted.gpg]
  root:
    description:
      - Internal, for tests. All host paths are resolved below this directory.
    type: path
    default: /
notes:
  - Supports check mode and diff mode.
  - For binary keys the diff shows a one-line summary with fingerprints instead of the key bytes.
seealso:
  - module: docker_apt_source
"""

EXAMPLES = r"""
- name: Docker's key from download.docker.com, falling back to a mirror
  docker_apt_key:
    urls:
      - https://download.docker.com/linux/ubuntu/gpg
      - https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu/gpg
    fingerprints: ["9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"]

- name: Offline hosts get the key from the controller
  docker_apt_key:
    content: "{{ lookup('ansible.builtin.file', 'files/docker.asc') }}"
    fingerprints: [9DC858229FC7DD38854AE2D88D81803C0EBFCD88]

- name: Keep a binary keyring like older instructions did, without touching legacy locations
  docker_apt_key:
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
  returned: success
  type: list
  elements: str
  sample: ["/etc/apt/trusted.gpg.d/docker.gpg", "/etc/apt/trusted.gpg: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88"]
diff:
  description: Before and after contents of O(dest) (armored text, or a summary line for binary keys).
  returned: when diff mode is on
  type: dict
"""

import glob
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._apt import ensure_dir, host_path
from ansible_collections.dockprov.docker.plugins.module_utils._files import atomic_write
from ansible_collections.dockprov.docker.plugins.module_utils._openpgp import (
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
from ansible.module_utils.urls import fetch_url

DEFAULT_URLS = ["https://download.docker.com/linux/ubuntu/gpg"]


def _render(binary: bytes, original: bytes | None, fmt: str) -> bytes:
    """File content for ``fmt``; keeps the original armored text when it was armored already."""
    if fmt == "binary":
        return binary
    if original is not None and is_armored(original):
        text = original.decode("ascii", "replace").strip() + "\n"
        return text.encode("ascii", "replace")
    return enarmor(binary).encode("ascii")


def _diff_text(data: bytes | None, fmt_binary: bool) -> str:
    if data is None:
        return ""
    if fmt_binary and not is_armored(data[:4096]):
        try:
            return describe_keys(split_keyring(load_key_material(data))) + "\n"
        except OpenPGPError as exc:
            return f"unparseable binary data ({len(data)} bytes): {exc}\n"
    return data.decode("utf-8", "replace")


def _check_key(binary: bytes, accepted: list[str]) -> tuple[list[str], list[str], str | None]:
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


def _fetch(module: AnsibleModule, url: str) -> tuple[bytes | None, str | None]:
    try:
        resp, info = fetch_url(
            module,
            url,
            timeout=module.params["timeout"],
            force=True,
        )
    except Exception as exc:  # fetch_url reports most failures in info, but be safe
        return None, f"{type(exc).__name__}: {exc}"
    status = info.get("status")
    if status != 200 or resp is None:
        msg = info.get("msg") or "request failed"
        return None, f"HTTP {status}: {msg}" if status not in (None, -1) else msg
    try:
        return resp.read(), None
    except Exception as exc:
        return None, f"reading response failed: {exc}"


def _legacy_plan(root: str, paths: list[str], dest: str, accepted: set[str], module: AnsibleModule):
    actions = []
    dest_norm = os.path.normpath(dest)
    for legacy in paths:
        real = host_path(root, legacy)
        if os.path.isdir(real):
            for file in sorted(glob.glob(os.path.join(real, "*.gpg")) + glob.glob(os.path.join(real, "*.asc"))):
                shown = os.path.join(legacy, os.path.basename(file))
                if os.path.normpath(shown) == dest_norm or not os.path.isfile(file):
                    continue
                with open(file, "rb") as fh:
                    action = plan_whole_file_removal(shown, fh.read(), accepted)
                if action:
                    actions.append(action)
        elif os.path.isfile(real):
            if os.path.normpath(legacy) == dest_norm:
                continue
            with open(real, "rb") as fh:
                data = fh.read()
            if not data:
                continue
            action = plan_keyring_cleanup(legacy, data, accepted)
            if action:
                actions.append(action)
    return actions


def run_module() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", default="/etc/apt/keyrings/docker.asc"),
            urls=dict(type="list", elements="str", default=DEFAULT_URLS),
            content=dict(type="str"),
            fingerprints=dict(type="list", elements="str", required=True),
            format=dict(type="str", choices=["auto", "armored", "binary"], default="auto"),
            force=dict(type="bool", default=False),
            timeout=dict(type="int", default=10),
            validate_certs=dict(type="bool", default=True),
            legacy_cleanup=dict(type="bool", default=True),
            legacy_paths=dict(type="list", elements="path", default=["/etc/apt/trusted.gpg.d", "/etc/apt/trusted.gpg"]),
            root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    dest = p["dest"]
    root = p["root"]
    real_dest = host_path(root, dest)
    result: dict = dict(changed=False, dest=dest, tried=[], removed_legacy=[])

    try:
        accepted = [normalize_fingerprint(f) for f in p["fingerprints"]]
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    if not accepted:
        module.fail_json(msg="fingerprints must list at least one accepted fingerprint", **result)
    fmt = p["format"]
    if fmt == "auto":
        fmt = "binary" if dest.endswith(".gpg") else "armored"

    # ---- what is there now
    existing: bytes | None = None
    existing_binary: bytes | None = None
    existing_ok = False
    if os.path.isfile(real_dest):
        with open(real_dest, "rb") as fh:
            existing = fh.read()
        try:
            existing_binary = load_key_material(existing)
            _, _, err = _check_key(existing_binary, accepted)
            existing_ok = err is None and (is_armored(existing[:4096]) == (fmt == "armored"))
        except OpenPGPError:
            existing_binary = None
    elif os.path.exists(real_dest):
        module.fail_json(msg=f"{dest} exists and is not a regular file", **result)

    # ---- the wanted key
    source: str
    original: bytes | None
    if p["content"] is not None:
        source = "content"
        original = p["content"].encode("utf-8")
        try:
            binary = load_key_material(p["content"])
        except OpenPGPError as exc:
            module.fail_json(msg=f"content is not a usable OpenPGP key: {exc}", **result)
    elif existing_ok and not p["force"]:
        source = "existing"
        original = existing
        binary = existing_binary  # type: ignore[assignment]
    else:
        if not p["urls"]:
            module.fail_json(msg="no urls to fetch the key from and no content given", **result)
        binary = None  # type: ignore[assignment]
        original = None
        source = ""
        for url in p["urls"]:
            data, err = _fetch(module, url)
            if err is None and data is not None:
                try:
                    candidate = load_key_material(data)
                    if not split_keyring(candidate):
                        raise OpenPGPError("no OpenPGP packets in response")
                except OpenPGPError as exc:
                    err = f"not an OpenPGP key: {exc}"
                else:
                    result["tried"].append(dict(url=url, ok=True, error=None))
                    binary, original, source = candidate, data, url
                    break
            result["tried"].append(dict(url=url, ok=False, error=err))
        if binary is None:
            lines = "; ".join(f"{t['url']}: {t['error']}" for t in result["tried"])
            module.fail_json(
                msg=f"could not download the key from any URL ({lines}). For hosts without access, pass "
                "the key from the controller with content: \"{{ lookup('file', 'docker.asc') }}\"",
                **result,
            )

    try:
        primaries, subkeys, err = _check_key(binary, accepted)
    except OpenPGPError as exc:
        module.fail_json(msg=f"key from {source} is not valid OpenPGP data: {exc}", **result)
    if err:
        module.fail_json(msg=f"{err} (source: {source}); nothing was written", found=primaries, **result)
    result["fingerprint"] = primaries[0]
    result["subkey_fingerprints"] = subkeys
    result["source"] = source

    # ---- write dest
    new_content = _render(binary, original, fmt)
    same = existing is not None and existing_binary == binary and existing_ok
    if not same:
        result["changed"] = True
        if not module.check_mode:
            ensure_dir(os.path.dirname(real_dest))
            atomic_write(real_dest, new_content, mode=0o644)
    elif os.stat(real_dest).st_mode & 0o777 != 0o644:
        result["changed"] = True
        if not module.check_mode:
            os.chmod(real_dest, 0o644)
    if module._diff:
        result["diff"] = dict(
            before_header=dest,
            after_header=dest,
            before=_diff_text(existing, fmt == "binary"),
            after=_diff_text(new_content if not same else existing, fmt == "binary"),
        )

    # ---- legacy locations
    if p["legacy_cleanup"]:
        for action in _legacy_plan(root, p["legacy_paths"], dest, set(accepted), module):
            result["removed_legacy"].extend(action.describe())
            result["changed"] = True
            if module.check_mode:
                continue
            real = host_path(root, action.path)
            if action.action == "delete":
                os.unlink(real)
            else:
                mode = os.stat(real).st_mode & 0o777
                atomic_write(real, action.new_content or b"", mode=mode)

    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
