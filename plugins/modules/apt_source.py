#!/usr/bin/python
"""Ansible module dockprov.docker.apt_source: Docker's apt repository as a deb822 source, with mirror fallback."""

from __future__ import annotations

# Ansible convention: imports follow DOCUMENTATION/EXAMPLES/RETURN.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: apt_source
short_description: Configure Docker's apt repository (deb822) with mirror presets and fallback
description:
  - Writes Docker's apt repository as a deb822 file (C(/etc/apt/sources.list.d/docker.sources) by default),
    the way Docker's current documentation does.
  - O(mirrors) are tried in order; with O(probe=true) the first one whose
    C(linux/<distro>/dists/<codename>/InRelease) (or C(Release)) answers HTTP 200 is used.
  - Older setups left C(docker.list), C(download_docker_com_*.list) or other files naming the same repo,
    and two sources for one repo with different C(Signed-By) make apt fail. With O(legacy_cleanup=true)
    such files under C(/etc/apt/sources.list.d/) are moved into O(backup_dir), and Docker lines in
    C(/etc/apt/sources.list) are commented out (after a backup copy), so nothing is lost.
  - With O(layout=flat) it writes a flat repository instead (C(deb <base>/stable/deb/amd64 /), no components),
    the form NVIDIA's libnvidia-container repository uses; the nvidia_container_toolkit role calls it that way.
  - Does not run C(apt-get update); notify a handler or use M(ansible.builtin.apt) with C(update_cache) when
    the module reports a change.
version_added: "0.1.0"
author:
  - dockprov maintainers
options:
  mirrors:
    description:
      - Mirror presets or base URLs, in order of preference. A base URL is the directory that holds
        C(linux/<distro>), for example C(https://download.docker.com).
      - "Presets: V(official) (https://download.docker.com), V(aliyun) (https://mirrors.aliyun.com/docker-ce),
        V(ustc) (https://mirrors.ustc.edu.cn/docker-ce), V(tuna) (https://mirrors.tuna.tsinghua.edu.cn/docker-ce),
        V(azure-china) (https://mirror.azure.cn/docker-ce)."
      - With O(layout=flat) the presets do not apply: every entry is the URL that holds O(suite).
    type: list
    elements: str
    required: true
  layout:
    description:
      - V(docker) is Docker's tree, C(<base>/linux/<distro>) with suite O(codename) and component O(channel).
      - "V(flat) is a flat repository: C(URIs) is the mirror joined with O(suite), C(Suites) is C(/), no
        C(Components); probed at C(<base>/<suite>InRelease). O(distro), O(codename) and O(channel) are not used.
        The index's C(Filename) fields are relative to that URI, as in NVIDIA's repository."
    type: str
    choices: [docker, flat]
    default: docker
  suite:
    description: The path of a flat repository below each mirror, ending in C(/) (for example C(stable/deb/amd64/)).
    type: str
  distro:
    description:
      - Docker repository family, usually C(dockprov_host.distro.docker_distro) from M(docker_host_facts).
      - Required with O(layout=docker).
    type: str
    choices: [debian, ubuntu]
  codename:
    description:
      - Release codename, usually C(dockprov_host.distro.docker_codename) (for example C(bookworm), C(noble)).
      - Required with O(layout=docker).
    type: str
  arch:
    description:
      - Debian architecture (C(amd64), C(arm64), ...). Defaults to the host's, from C(uname -m).
    type: str
  channel:
    description: Repository component.
    type: str
    choices: [stable, test]
    default: stable
  signed_by:
    description: Keyring that signs the repository (see M(docker_apt_key)).
    type: path
    default: /etc/apt/keyrings/docker.asc
  dest:
    description: The deb822 file to write.
    type: path
    default: /etc/apt/sources.list.d/docker.sources
  probe:
    description:
      - Check each mirror for the codename's C(InRelease)/C(Release) file and use the first that answers.
      - When V(false) the first mirror is used without any network access.
    type: bool
    default: true
  timeout:
    description: Timeout in seconds of each probe request.
    type: int
    default: 5
  validate_certs:
    description: Verify TLS certificates when probing.
    type: bool
    default: true
  legacy_cleanup:
    description:
      - Move other source files that name Docker's repo (or any of O(mirrors)) out of C(sources.list.d)
        into O(backup_dir), and comment out such lines in C(/etc/apt/sources.list).
    type: bool
    default: true
  legacy_names:
    description:
      - More file name patterns (shell globs) under C(sources.list.d) that O(legacy_cleanup) moves away.
      - With O(layout=flat) these and O(legacy_markers) replace Docker's names and URL fragments.
    type: list
    elements: str
    default: []
  legacy_markers:
    description: More URL fragments that mark a source line or file as one O(legacy_cleanup) moves away.
    type: list
    elements: str
    default: []
  backup_dir:
    description: Where legacy source files are moved to (created with mode 0755).
    type: path
    default: /var/backups/dockprov/apt
  root:
    description:
      - Internal, for tests. All host paths are resolved below this directory.
    type: path
    default: /
notes:
  - Supports check mode and diff mode. Probing also happens in check mode.
seealso:
  - module: docker_apt_key
  - module: docker_host_facts
"""

EXAMPLES = r"""
- name: NVIDIA's flat libnvidia-container repository (the nvidia_container_toolkit role)
  docker_apt_source:
    layout: flat
    mirrors: [https://nvidia.github.io/libnvidia-container]
    suite: stable/deb/amd64/
    arch: amd64
    signed_by: /etc/apt/keyrings/nvidia-container-toolkit.asc
    dest: /etc/apt/sources.list.d/nvidia-container-toolkit.sources
    legacy_names: [nvidia-docker.list, nvidia-container-toolkit.list]
    legacy_markers: [nvidia.github.io/nvidia-docker]

- name: Docker repo, preferring download.docker.com, falling back to USTC and Aliyun
  docker_apt_source:
    mirrors: [official, ustc, aliyun]
    distro: "{{ dockprov_host.distro.docker_distro }}"
    codename: "{{ dockprov_host.distro.docker_codename }}"
    arch: "{{ dockprov_host.arch }}"
  notify: apt update

- name: Internal mirror, no probing
  docker_apt_source:
    mirrors: [https://artifacts.example.internal/docker-ce]
    distro: ubuntu
    codename: noble
    probe: false
"""

RETURN = r"""
mirror:
  description: The base URL chosen.
  returned: success
  type: str
  sample: https://mirrors.ustc.edu.cn/docker-ce
repo_url:
  description: The repository URL written to C(URIs).
  returned: success
  type: str
  sample: https://mirrors.ustc.edu.cn/docker-ce/linux/ubuntu
dest:
  description: The deb822 file.
  returned: always
  type: str
  sample: /etc/apt/sources.list.d/docker.sources
tried:
  description: Each mirror tried, in order, whether it served the codename, and why not.
  returned: always
  type: list
  elements: dict
  sample: [{"mirror": "https://download.docker.com", "ok": false, "error": "...: HTTP -1: timed out", "url": null}]
removed_legacy:
  description: Legacy source files moved away, and C(/etc/apt/sources.list) when lines in it were disabled.
  returned: success
  type: list
  elements: str
  sample: [/etc/apt/sources.list.d/docker.list]
backups:
  description: Where each legacy file was moved or copied to.
  returned: success
  type: dict
  sample: {"/etc/apt/sources.list.d/docker.list": "/var/backups/dockprov/apt/docker.list.20250101T000000"}
disabled_lines:
  description: Lines commented out in C(/etc/apt/sources.list).
  returned: success
  type: list
  elements: str
content:
  description: The deb822 text of O(dest).
  returned: success
  type: str
"""

import contextlib
import glob
import os
import platform
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockprov.docker.plugins.module_utils._apt import (
    DOCKER_URL_MARKERS,
    LEGACY_SOURCE_NAMES,
    backup_name,
    check_flat_suite,
    choose_mirror,
    disable_docker_lines,
    dpkg_arch,
    ensure_dir,
    find_legacy_sources,
    flat_release_urls,
    flat_repo_url,
    host_path,
    render_deb822,
    repo_url,
    resolve_mirror,
)
from ansible_collections.dockprov.docker.plugins.module_utils._files import atomic_write
from ansible.module_utils.urls import fetch_url

SOURCES_DIR = "/etc/apt/sources.list.d"
SOURCES_LIST = "/etc/apt/sources.list"


def _probe(module: AnsibleModule, url: str) -> str | None:
    try:
        resp, info = fetch_url(module, url, method="GET", timeout=module.params["timeout"], force=True)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if resp is not None:
        with contextlib.suppress(Exception):
            resp.close()
    status = info.get("status")
    if status == 200:
        return None
    msg = info.get("msg") or "request failed"
    if isinstance(status, int) and status > 0:
        return f"HTTP {status}: {msg}"
    return msg  # no HTTP answer: DNS failure, connection refused, timeout, TLS error


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _backup_path(backup_dir: str, path: str, stamp: str) -> str:
    candidate = os.path.join(backup_dir, backup_name(path, stamp))
    n = 1
    while os.path.lexists(candidate):
        candidate = os.path.join(backup_dir, f"{backup_name(path, stamp)}.{n}")
        n += 1
    return candidate


def run_module() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            mirrors=dict(type="list", elements="str", required=True),
            layout=dict(type="str", choices=["docker", "flat"], default="docker"),
            suite=dict(type="str"),
            distro=dict(type="str", choices=["debian", "ubuntu"]),
            codename=dict(type="str"),
            arch=dict(type="str"),
            channel=dict(type="str", choices=["stable", "test"], default="stable"),
            signed_by=dict(type="path", default="/etc/apt/keyrings/docker.asc"),
            dest=dict(type="path", default="/etc/apt/sources.list.d/docker.sources"),
            probe=dict(type="bool", default=True),
            timeout=dict(type="int", default=5),
            validate_certs=dict(type="bool", default=True),
            legacy_cleanup=dict(type="bool", default=True),
            legacy_names=dict(type="list", elements="str", default=[]),
            legacy_markers=dict(type="list", elements="str", default=[]),
            backup_dir=dict(type="path", default="/var/backups/dockprov/apt"),
            root=dict(type="path", default="/"),
        ),
        required_if=[("layout", "docker", ["distro", "codename"]), ("layout", "flat", ["suite"])],
        supports_check_mode=True,
    )
    p = module.params
    root = p["root"]
    dest = p["dest"]
    result: dict = dict(changed=False, dest=dest, tried=[], removed_legacy=[], backups={}, disabled_lines=[])

    if not p["mirrors"]:
        module.fail_json(msg="mirrors must name at least one preset or URL", **result)
    flat = p["layout"] == "flat"
    try:
        bases = [resolve_mirror(m, {} if flat else None) for m in p["mirrors"]]
        suite = check_flat_suite(p["suite"]) if flat else ""
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    codename = suite if flat else p["codename"].strip()
    if not flat and (not codename or "/" in codename or " " in codename):
        module.fail_json(msg=f"invalid codename {p['codename']!r}", **result)
    try:
        arch = p["arch"] or dpkg_arch(platform.machine())
    except ValueError as exc:
        module.fail_json(msg=f"{exc}; set arch explicitly", **result)

    probe = (lambda url: _probe(module, url)) if p["probe"] else None
    release_for = (lambda b: flat_release_urls(b, suite)) if flat else None
    base, attempts = choose_mirror(bases, p["distro"], codename, probe, release_for)
    result["tried"] = [a.as_dict() for a in attempts]
    if base is None:
        details = "; ".join(f"{a.mirror}: {a.error}" for a in attempts)
        if flat:
            module.fail_json(msg=f"no mirror serves {suite}: {details}. Check the host's network or proxy, "
                             "or add another mirror URL", **result)
        module.fail_json(
            msg=f"no mirror serves {p['distro']} {codename}: {details}. Check the codename, the host's network "
            "or proxy, or add another mirror (presets: official, aliyun, ustc, tuna, azure-china)",
            **result,
        )
    url = flat_repo_url(base, suite) if flat else repo_url(base, p["distro"])
    result["mirror"] = base
    result["repo_url"] = url

    if not os.path.exists(host_path(root, p["signed_by"])):
        module.warn(f"signed_by {p['signed_by']} does not exist yet; apt will reject the repository until it does")
    content = render_deb822(url, "/" if flat else codename, "" if flat else p["channel"], arch, p["signed_by"])
    result["content"] = content
    real_dest = host_path(root, dest)
    before = _read_text(real_dest) if os.path.isfile(real_dest) else None
    if before != content:
        result["changed"] = True
        if not module.check_mode:
            ensure_dir(os.path.dirname(real_dest))
            atomic_write(real_dest, content.encode("utf-8"), mode=0o644)
    elif os.stat(real_dest).st_mode & 0o777 != 0o644:
        result["changed"] = True
        if not module.check_mode:
            os.chmod(real_dest, 0o644)
    if module._diff:
        result["diff"] = dict(before_header=dest, after_header=dest, before=before or "", after=content)

    if p["legacy_cleanup"]:
        if flat:  # only this repository's own names and URLs: Docker's sources are none of its business
            markers = [*bases, *p["legacy_markers"]]
            names, builtin = p["legacy_names"], ()
        else:
            markers = [repo_url(b, d) for b in bases for d in ("debian", "ubuntu")] + p["legacy_markers"]
            names, builtin = [*LEGACY_SOURCE_NAMES, *p["legacy_names"]], DOCKER_URL_MARKERS
        real_dir = host_path(root, SOURCES_DIR)
        files: dict[str, str] = {}
        for path in sorted(
            glob.glob(os.path.join(real_dir, "*.list")) + glob.glob(os.path.join(real_dir, "*.sources"))
        ):
            if os.path.isfile(path):
                files[f"{SOURCES_DIR}/{os.path.basename(path)}"] = _read_text(path) or ""
        legacy = find_legacy_sources(files, markers, exclude=dest, names=names, builtin_markers=builtin)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        real_backup = host_path(root, p["backup_dir"])
        for path in legacy:
            result["changed"] = True
            result["removed_legacy"].append(path)
            target = _backup_path(real_backup, path, stamp)
            result["backups"][path] = os.path.join(p["backup_dir"], os.path.basename(target))
            if not module.check_mode:
                ensure_dir(real_backup)
                shutil.move(host_path(root, path), target)

        real_list = host_path(root, SOURCES_LIST)
        text = _read_text(real_list) if os.path.isfile(real_list) else None
        if text:
            new_text, disabled = disable_docker_lines(text, markers, builtin)
            if disabled:
                result["changed"] = True
                result["removed_legacy"].append(SOURCES_LIST)
                result["disabled_lines"] = disabled
                target = _backup_path(real_backup, SOURCES_LIST, stamp)
                result["backups"][SOURCES_LIST] = os.path.join(p["backup_dir"], os.path.basename(target))
                if not module.check_mode:
                    ensure_dir(real_backup)
                    shutil.copy2(real_list, target)
                    mode = os.stat(real_list).st_mode & 0o777
                    atomic_write(real_list, new_text.encode("utf-8"), mode=mode)

    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
