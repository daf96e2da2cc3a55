# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The meaning of every role variable, checked before any host changes: one source of truth.

The argument specs (roles/*/meta/argument_specs.yml) say what type a variable has; this says whether a value
of that type can work: URLs and schemes, fingerprints and key material, absolute paths, CIDRs and addresses,
version pins apt accepts, ranges, daemon.json keys no engine knows or that were removed, secrets present.

Three callers use it: the `dockprov.docker.preflight` action (first in site.yml and in every playbook, and
at the start of each role), `dockprov validate` (offline, no host), and the unit tests. Each problem names
the variable as the user wrote it (with the item index for lists), the bad value (never a secret), what is
wrong and the fix.

Standard library only, Python 3.9+.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from ansible_collections.dockprov.docker.plugins.module_utils._apt import MIRROR_PRESETS
from ansible_collections.dockprov.docker.plugins.module_utils._daemon_json import TYPE_CHECKS
from ansible_collections.dockprov.docker.plugins.module_utils._openpgp import (
    normalize_fingerprint,
    primary_fingerprints,
)

SECRET = "<secret>"


@dataclass(frozen=True)
class Problem:
    variable: str  # as the user wrote it: docker_apps_containers[2].ports[0]
    value: str  # repr of the bad value, or SECRET
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.variable} = {self.value}: {self.problem}. Fix: {self.fix}"


# A check returns (suffix of the variable path, problem, fix) triples; the suffix is "" for the value itself.
Found = list[tuple[str, str, str]]
Check = Callable[[Any, "Context"], Found]


@dataclass
class Context:
    """What some checks need besides the value: every variable of the host (cross-variable rules) and,
    on the controller, whether a file exists (templates, CA files). None: unknown, the check is skipped."""

    variables: dict[str, Any]
    controller_file_exists: Callable[[str], bool] | None = None


# ------------------------------------------------------------------------------------------- value rules

_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
_HOST_PORT = re.compile(rf"^(?:{_HOST}|\[[0-9A-Fa-f:.]+\])(?::(\d{{1,5}}))?$")
_APT_VERSION = re.compile(r"^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$")
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")
# name[:tag][@digest] with an optional registry host[:port]/ (docker's reference grammar, simplified).
_IMAGE = re.compile(
    r"^(?:(?:[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_LOG_DRIVER = re.compile(r"^[a-z0-9][a-z0-9_./:-]*$")
_PORT = re.compile(r"^(?:(?P<ip>[0-9.]+|\[[0-9a-fA-F:]+\]):)?(?:(?P<host>\d+(?:-\d+)?)?:)?"
                   r"(?P<ctr>\d+(?:-\d+)?)(?:/(?P<proto>tcp|udp|sctp))?$")

# daemon.json keys dockerd reads (moby's daemon/config, Docker Engine 20.10 to 28). An unknown key makes
# dockerd refuse to start ("the following directives don't match any configuration option").
DAEMON_KEYS = frozenset({
    "allow-direct-routing", "allow-nondistributable-artifacts", "api-cors-header", "authorization-plugins",
    "bip", "bip6", "bridge", "builder", "cdi-spec-dirs", "cgroup-parent", "containerd", "containerd-namespace",
    "containerd-plugins-namespace", "cpu-rt-period", "cpu-rt-runtime", "data-root", "debug",
    "default-address-pools", "default-cgroupns-mode", "default-gateway", "default-gateway-v6",
    "default-ipc-mode", "default-network-opts", "default-runtime", "default-shm-size", "default-ulimits", "dns",
    "dns-opts", "dns-search", "exec-opts", "exec-root", "experimental", "features", "firewall-backend",
    "fixed-cidr", "fixed-cidr-v6", "group", "host-gateway-ip", "host-gateway-ips", "hosts", "icc", "init",
    "init-path", "insecure-registries", "ip", "ip-forward", "ip-forward-no-drop", "ip-masq", "ip6tables",
    "iptables", "ipv6", "labels", "live-restore", "log-driver", "log-format", "log-level", "log-opts",
    "max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts", "metrics-addr", "mtu",
    "network-control-plane-mtu", "no-new-privileges", "node-generic-resources", "oom-score-adjust", "pidfile",
    "proxies", "raw-logs", "registry-mirrors", "runtimes", "seccomp-profile", "selinux-enabled",
    "shutdown-timeout", "storage-driver", "storage-opts", "swarm-default-advertise-addr", "tls", "tlscacert",
    "tlscert", "tlskey", "tlsverify", "userland-proxy", "userland-proxy-path", "userns-remap",
})
# Keys older engines knew and current ones refuse, with what replaces them.
DAEMON_REMOVED_KEYS = {
    "graph": "data-root (renamed in Docker 17.05)",
    "cluster-store": "nothing (legacy overlay networks were removed in Docker 23; use swarm)",
    "cluster-advertise": "nothing (removed in Docker 23)",
    "cluster-store-opts": "nothing (removed in Docker 23)",
    "disable-legacy-registry": "nothing (v1 registries are gone since Docker 17.12)",
    "deprecated-key-path": "nothing (removed in Docker 20.10)",
    "restart": "each container's restart policy (docker_apps_containers[].restart_policy)",
}
VOLUME_OPTIONS = frozenset({"ro", "rw", "z", "Z", "shared", "slave", "private", "rshared", "rslave", "rprivate",
                            "nocopy"})
NVIDIA_ENABLED = ("auto", "true", "false", "yes", "no", "on", "off")


def _closest(word: str, choices: Any) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'? " if match else ""


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _url(value: Any, schemes: tuple[str, ...] = ("http", "https"), what: str = "URL") -> Found:
    if not isinstance(value, str) or _is_template(value):
        return []
    parsed = urlparse(value)
    if not parsed.scheme or "://" not in value:
        return [("", f"is not a {what}: it has no scheme",
                 f"write '{schemes[-1]}://{value}' (or {' / '.join(s + '://' for s in schemes)})")]
    if parsed.scheme not in schemes:
        return [("", f"has the scheme {parsed.scheme}://, a {what} needs {' or '.join(schemes)}",
                 f"use {' or '.join(s + '://' for s in schemes)}")]
    if not parsed.netloc or " " in value:
        return [("", f"is not a {what}: no host", f"write {schemes[-1]}://<host>[:port][/path]")]
    return []


def _abs_path(value: Any, _ctx: Any = None) -> Found:
    if isinstance(value, str) and value and not _is_template(value) and not value.startswith("/"):
        return [("", "is not an absolute path", f"write it from the root, e.g. /{value.lstrip('./')}")]
    return []


def _abs_path_or_empty(value: Any, ctx: Any = None) -> Found:
    return [] if value in ("", None) else _abs_path(value, ctx)


def _each(check: Callable[[Any], Found]) -> Check:
    def run(value: Any, _ctx: Context) -> Found:
        if not isinstance(value, list):
            return []
        return [(f"[{i}]{suffix}", problem, fix)
                for i, item in enumerate(value) for suffix, problem, fix in check(item)]
    return run


def _fingerprint(value: Any) -> Found:
    if not isinstance(value, str) or _is_template(value):
        return []
    try:
        normalize_fingerprint(value)
    except ValueError:
        return [("", "is not an OpenPGP fingerprint (40 or 64 hex digits; spaces allowed)",
                 "copy the full fingerprint, e.g. '9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88'; "
                 "short key IDs are not accepted")]
    return []


def _key_content(fingerprints_var: str) -> Check:
    """An offline key must be OpenPGP key material whose primary fingerprint is one of the pinned ones."""
    def run(value: Any, ctx: Context) -> Found:
        if not isinstance(value, str) or not value.strip() or _is_template(value):
            return []
        try:
            found = primary_fingerprints(value)
        except ValueError:
            found = []
        if not found:
            return [("", "is not an OpenPGP public key (no key packet found)",
                     "paste the armored key, from '-----BEGIN PGP PUBLIC KEY BLOCK-----' to its END line, "
                     "or use lookup('file', 'docker.asc')")]
        pinned = []
        for fpr in ctx.variables.get(fingerprints_var) or []:
            try:
                pinned.append(normalize_fingerprint(fpr))
            except (TypeError, ValueError):
                return []  # reported on the fingerprints variable itself
        if pinned and not set(found) & set(pinned):
            return [("", f"holds the key {found[0]}, which is not in {fingerprints_var}",
                     f"give the right key, or add its fingerprint to {fingerprints_var} if you trust it")]
        return []
    return run


def _mirror(presets: dict[str, str]) -> Callable[[Any], Found]:
    def run(value: Any) -> Found:
        if not isinstance(value, str) or _is_template(value):
            return []
        if value in presets:
            return []
        if "://" in value or "." in value or "/" in value:
            return _url(value, what="mirror URL")
        return [("", "is not a mirror preset",
                 f"{_closest(value, presets)}use a preset ({', '.join(sorted(presets))}) or an http(s) base URL")]
    return run


def _registry_mirror(value: Any) -> Found:
    if _is_template(value):
        return []
    found = _url(value, what="registry mirror URL")
    if found:
        return found
    if isinstance(value, str) and urlparse(value).path not in ("", "/"):
        return [("", "has a path; dockerd accepts only scheme://host[:port] as a registry mirror",
                 f"drop the path: {urlparse(value).scheme}://{urlparse(value).netloc}")]
    return []


def _registry_or_cidr(value: Any) -> Found:
    if not isinstance(value, str) or _is_template(value):
        return []
    if "/" in value and "://" not in value:
        try:
            ipaddress.ip_network(value, strict=False)
            return []
        except ValueError:
            return [("", "is not a CIDR", "write a network such as 10.0.0.0/8")]
    if "://" in value:
        return [("", "has a scheme; insecure registries are written host[:port] or as a CIDR",
                 f"drop the scheme: {urlparse(value).netloc}")]
    match = _HOST_PORT.match(value)
    if not match:
        return [("", "is not host[:port] or a CIDR", "write e.g. registry.example.internal:5000 or 10.0.0.0/8")]
    if match.group(1) and not 0 < int(match.group(1)) < 65536:
        return [("", "has a port outside 1-65535", "use the registry's real port")]
    return []


def _ip(value: Any) -> Found:
    if not isinstance(value, str) or _is_template(value):
        return []
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return [("", "is not an IP address (dockerd's dns takes addresses, not names)", "write e.g. 192.0.2.53")]
    return []


def _pool(value: Any) -> Found:
    if not isinstance(value, dict):
        return []
    base, size = value.get("base"), value.get("size")
    try:
        network = ipaddress.ip_network(str(base), strict=False)
    except ValueError:
        return [(".base", "is not a CIDR", "write e.g. base: 172.30.0.0/16")]
    if isinstance(size, bool) or not isinstance(size, int) or not network.prefixlen <= size <= network.max_prefixlen:
        return [(".size", f"must be a prefix length from {network.prefixlen} to {network.max_prefixlen}",
                 "size is the prefix of each network carved from base, e.g. 24")]
    return []


def _range(low: int, high: int, unit: str = "") -> Check:
    def run(value: Any, _ctx: Context) -> Found:
        if isinstance(value, bool) or not isinstance(value, int):
            return []  # the argument spec reports the type
        if not low <= value <= high:
            return [("", f"is outside {low}-{high}{unit}", f"give a value from {low} to {high}{unit}")]
        return []
    return run


def _apt_version(variable: str, example: str) -> Check:
    """A pin apt can match: Debian version syntax, and an upstream part whose every dotted component
    starts with a digit ("1.x" or "latest" never names a package version)."""
    def run(value: Any, _ctx: Context) -> Found:
        if not isinstance(value, str) or not value or _is_template(value):
            return []
        upstream = re.split(r"[-~]", value.split(":", 1)[-1], maxsplit=1)[0]
        if _APT_VERSION.match(value) and all(part[:1].isdigit() for part in upstream.split(".")):
            return []
        return [("", "is not a version apt accepts", f"write it as apt does, e.g. {variable}: \"{example}\", "
                 "or leave it empty for the newest")]
    return run


def _package(value: Any) -> Found:
    if isinstance(value, str) and not _is_template(value) and not _PACKAGE.match(value.split("=", 1)[0]):
        return [("", "is not a Debian package name", "use lower-case names such as docker-ce")]
    return []


def _user(value: Any) -> Found:
    if isinstance(value, str) and not _is_template(value) and not _USER.match(value):
        return [("", "is not a Linux user name", "use the account's login name, e.g. alice")]
    return []


def _image(value: Any) -> Found:
    if isinstance(value, str) and not _is_template(value) and not _IMAGE.match(value):
        return [("", "is not an image reference", "write [registry[:port]/]name[:tag], lower-case, e.g. nginx:1.27")]
    return []


def _log_opts(value: Any, _ctx: Context) -> Found:
    if not isinstance(value, dict):
        return []
    return [(f".{key}", "is not a string; dockerd takes only string log options",
             f'quote it: {key}: "{item}"') for key, item in value.items() if not isinstance(item, str)]


def _daemon_settings(value: Any, ctx: Context) -> Found:
    if not isinstance(value, dict):
        return []
    out: Found = []
    check_keys = ctx.variables.get("docker_daemon_validate", "auto") != "none"
    for key, item in value.items():
        if key in DAEMON_REMOVED_KEYS:
            out.append((f".{key}", "was removed from dockerd, which refuses to start with it",
                        f"use {DAEMON_REMOVED_KEYS[key]}"))
        elif check_keys and key not in DAEMON_KEYS:
            out.append((f".{key}", "is not a daemon.json key dockerd knows (it would refuse to start)",
                        f"{_closest(key, DAEMON_KEYS)}or set docker_daemon_validate: none if your engine knows it"))
        elif key in TYPE_CHECKS and item is not None:
            problem = TYPE_CHECKS[key](item)
            if problem:
                out.append((f".{key}", problem, "give the value the type daemon.json expects"))
    return out


def _proxy(value: Any, _ctx: Context) -> Found:
    if not value:
        return []
    return _url(value, ("http", "https", "socks5"), "proxy URL")


def _port(value: Any) -> Found:
    if not isinstance(value, str) or _is_template(value):
        return []
    match = _PORT.match(value)
    if not match:
        return [("", "is not a port mapping", 'write "HOST:CONTAINER", "IP:HOST:CONTAINER" or "CONTAINER[/udp]"')]
    numbers = [int(n) for part in (match.group("host"), match.group("ctr")) if part for n in part.split("-")]
    if any(not 0 < n < 65536 for n in numbers):
        return [("", "has a port outside 1-65535", "use ports from 1 to 65535")]
    return []


def _volume(value: Any) -> Found:
    if not isinstance(value, str) or _is_template(value):
        return []
    parts = value.split(":")
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) in (2, 3):
        target = parts[1]
        if len(parts) == 3 and not set(parts[2].split(",")) <= VOLUME_OPTIONS:
            return [("", f"has unknown volume options '{parts[2]}'", "use ro or rw (and z/Z, propagation)")]
    else:
        return [("", "is not SOURCE:TARGET[:OPTIONS]", 'write e.g. "/srv/data:/data:ro" or "dbdata:/var/lib/mysql"')]
    if not target.startswith("/"):
        return [("", f"mounts at '{target}', not an absolute path in the container",
                 "the part after the first ':' is the path inside the container, e.g. /data")]
    return []


def _items(rules: dict[str, Callable[[Any], Found]], required: tuple[str, ...] = ()) -> Check:
    """Per-key rules for each item of a list of dicts."""
    def run(value: Any, _ctx: Context) -> Found:
        if not isinstance(value, list):
            return []
        out: Found = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            for key in required:
                # Removing a thing needs only its name (a container in state absent has no image to name).
                if item.get(key) in (None, "") and item.get("state") != "absent":
                    out.append((f"[{i}].{key}", "is missing", f"give every entry its {key}"))
            for key, rule in rules.items():
                if key not in item or item[key] is None:
                    continue
                sub = item[key]
                found = [(f"[{j}]{s}", p, f) for j, x in enumerate(sub) for s, p, f in rule(x)] if isinstance(
                    sub, list) and rule in (_port, _volume) else rule(sub)
                out.extend((f"[{i}].{key}{suffix}", problem, fix) for suffix, problem, fix in found)
        return out
    return run


def _unique(key: str) -> Check:
    def run(value: Any, _ctx: Context) -> Found:
        seen: dict[Any, int] = {}
        out: Found = []
        for i, item in enumerate(value if isinstance(value, list) else []):
            if isinstance(item, dict) and key in item:
                if item[key] in seen:
                    out.append((f"[{i}].{key}", f"repeats entry {seen[item[key]]}'s {key}",
                                f"give each entry its own {key}"))
                seen.setdefault(item[key], i)
        return out
    return run


def _template_dir(kind: str, marker: str) -> Check:
    """compose/<template> and build/<context> must exist under docker_apps_templates_dir (controller)."""
    def run(value: Any, ctx: Context) -> Found:
        exists = ctx.controller_file_exists
        base = ctx.variables.get("docker_apps_templates_dir")
        if (exists is None or not isinstance(value, list) or not isinstance(base, str) or _is_template(base)
                or not base.startswith("/")):
            return []
        out: Found = []
        for i, item in enumerate(value):
            name = item.get("template" if kind == "stack" else "context") if isinstance(item, dict) else None
            if isinstance(name, str) and not _is_template(name) and not exists(f"{base}/{name}/{marker}"):
                key = "template" if kind == "stack" else "context"
                out.append((f"[{i}].{key}", f"has no {marker} under docker_apps_templates_dir ({base})",
                            "use an existing directory such as "
                            f"{'compose/wordpress' if kind == 'stack' else 'build/csv_job'}, "
                            "or point docker_apps_templates_dir at yours"))
        return out
    return run


def _task_file(value: Any, ctx: Context) -> Found:
    """A task file on the controller (docker_upgrade's drain hooks): absolute, and there."""
    if not isinstance(value, str) or not value or _is_template(value):
        return []
    if not value.startswith("/"):
        return [("", "is not an absolute path", "give the task file's full path on the controller, "
                 "e.g. \"{{ inventory_dir }}/../hooks/drain.yml\"")]
    if ctx.controller_file_exists is not None and not ctx.controller_file_exists(value):
        return [("", "does not exist on the controller", "write the task file there, or leave the variable empty")]
    return []


def _logins(value: Any, _ctx: Context) -> Found:
    out: Found = []
    seen: dict[tuple[str, str], int] = {}
    for i, login in enumerate(value if isinstance(value, list) else []):
        if not isinstance(login, dict):
            continue
        registry = str(login.get("registry") or "").strip()
        if not registry:
            out.append((f"[{i}].registry", "is empty", "set host[:port], a URL, dockerhub or aliyun:<region>"))
        elif registry.lower().startswith("aliyun:") and not re.match(r"^[a-z0-9-]+$", registry[7:]):
            out.append((f"[{i}].registry", "needs a region", "write aliyun:<region>, e.g. aliyun:cn-shanghai"))
        elif not re.match(r"^([a-zA-Z]+://)?[A-Za-z0-9.-]+(:[0-9]+)?(/.*)?$", registry) and ":" not in registry[:7]:
            out.append((f"[{i}].registry", "is not host[:port] or a URL", "write e.g. registry.example.internal:5000"))
        if login.get("state", "present") == "present":
            if not str(login.get("username") or ""):
                out.append((f"[{i}].username", "is empty", "state present needs username and password"))
            if not str(login.get("password") or ""):
                out.append((f"[{i}].password", "is empty (no secret given)",
                            "set it from a vaulted variable, e.g. password: \"{{ vault_registry_password }}\""))
        user = str(login.get("user") or "root")
        host = re.sub(r"^[a-zA-Z]+://", "", registry).split("/", 1)[0].lower()
        if (user, host) in seen:
            out.append((f"[{i}]", f"repeats entry {seen[(user, host)]} (user {user}, registry {host})", "keep one"))
        seen.setdefault((user, host), i)
    return out


def _ca_certs(value: Any, ctx: Context) -> Found:
    out: Found = []
    exists = ctx.controller_file_exists
    for i, entry in enumerate(value if isinstance(value, list) else []):
        if not isinstance(entry, dict):
            continue
        registry = str(entry.get("registry") or "")
        if not re.match(r"^[A-Za-z0-9.-]+(:[0-9]+)?$", registry):
            out.append((f"[{i}].registry", "must be host or host:port as in image names, no scheme or path",
                        "write it as in image names, e.g. registry.example.internal:5000"))
        if entry.get("state", "present") != "present":
            continue
        has_cert, has_file = entry.get("cert") is not None, entry.get("cert_file") is not None
        if has_cert == has_file:
            out.append((f"[{i}]", "needs exactly one of cert or cert_file", "give the PEM text or a controller file"))
        elif has_cert and "BEGIN CERTIFICATE" not in str(entry["cert"]):
            out.append((f"[{i}].cert", "is not a PEM certificate (no BEGIN CERTIFICATE line)", "paste the CA's PEM"))
        elif (has_file and exists is not None and not _is_template(entry["cert_file"])
              and not exists(entry["cert_file"])):
            out.append((f"[{i}].cert_file", "does not exist on the controller", "give the path of the CA's PEM file"))
    return out


def _bundle(value: Any, ctx: Context) -> Found:
    exists = ctx.controller_file_exists
    if not value or not isinstance(value, str) or _is_template(value) or exists is None:
        return []
    if not exists(value.rstrip("/") + "/manifest.json"):
        return [("", "holds no manifest.json on the controller (not a bundle)",
                 "make it with `dockprov bundle create --target <distro>/<codename>/<arch> ... DIR` and give DIR")]
    return []


def _bundle_url(value: Any, ctx: Context) -> Found:
    if not ctx.variables.get("docker_repo_bundle") or ctx.variables.get("docker_repo_bundle_delivery") != "serve":
        return []
    if not value:
        return [("", "is empty while docker_repo_bundle_delivery is serve",
                 "give the URL `dockprov bundle serve` prints, e.g. http://controller.example:8808")]
    return _url(value, what="bundle URL")


def _boot_command(value: Any, ctx: Context) -> Found:
    if ctx.variables.get("docker_wsl_boot_start", True) and isinstance(value, str) and not value.strip():
        return [("", "is empty while docker_wsl_boot_start is true", "give the command, e.g. service docker start")]
    return []


def _not_empty(what: str, fix: str) -> Check:
    def run(value: Any, _ctx: Context) -> Found:
        return [("", f"is empty: {what}", fix)] if isinstance(value, list) and not value else []
    return run


def _one_of(choices: tuple[str, ...]) -> Check:
    def run(value: Any, _ctx: Context) -> Found:
        if str(value).lower() in choices:
            return []
        return [("", "is not one of " + ", ".join(choices[:3]),
                 f"{_closest(str(value), choices)}use auto, true or false")]
    return run


def _all(*checks: Check) -> Check:
    def run(value: Any, ctx: Context) -> Found:
        return [found for check in checks for found in check(value, ctx)]
    return run


def _plain(check: Callable[[Any], Found]) -> Check:
    return lambda value, _ctx: check(value)


NVIDIA_MIRROR_PRESETS = {
    "nvidia": "https://nvidia.github.io/libnvidia-container",
    "ustc": "https://mirrors.ustc.edu.cn/libnvidia-container",
    "lab": "http://mirror.lab/libnvidia-container",  # the dockprov lab's mirror.lab (LAB STAND-IN toolkit)
}

RULES: dict[str, Check] = {
    # docker_repo
    "docker_repo_mirrors": _all(_not_empty("no mirror to install from", "list at least one, e.g. [official]"),
                                _each(_mirror(MIRROR_PRESETS))),
    "docker_repo_key_fingerprints": _each(_fingerprint),
    "docker_repo_key_urls": _each(lambda v: _url(v, what="key URL")),
    "docker_repo_key_content": _key_content("docker_repo_key_fingerprints"),
    "docker_repo_key_path": _plain(_abs_path),
    "docker_repo_conflicting_packages": _each(_package),
    "docker_repo_bundle": _bundle,
    "docker_repo_bundle_url": _bundle_url,
    "docker_repo_bundle_dest": _plain(_abs_path),
    # docker_daemon
    "docker_daemon_registry_mirrors": _each(_registry_mirror),
    "docker_daemon_insecure_registries": _each(_registry_or_cidr),
    "docker_daemon_log_driver": _plain(lambda v: [] if not v or _LOG_DRIVER.match(str(v)) else [
        ("", "is not a log driver name", "use e.g. json-file, local, journald or syslog")]),
    "docker_daemon_log_opts": _log_opts,
    "docker_daemon_data_root": _plain(_abs_path_or_empty),
    "docker_daemon_default_address_pools": _each(_pool),
    "docker_daemon_dns": _each(_ip),
    "docker_daemon_settings": _daemon_settings,
    "docker_daemon_merge_settings": _daemon_settings,
    "docker_daemon_http_proxy": _proxy,
    "docker_daemon_https_proxy": _proxy,
    # docker_engine
    "docker_engine_packages": _all(_not_empty("nothing to install", "keep the default list"), _each(_package)),
    "docker_engine_version": _apt_version("docker_engine_version", "26.1.5"),
    "docker_engine_start_timeout": _range(1, 3600, " seconds"),
    "docker_engine_apt_lock_timeout": _range(0, 86400, " seconds"),
    "docker_engine_init_script": _plain(_abs_path),
    "docker_engine_users": _each(_user),
    "docker_engine_smoke_test_image": _plain(_image),
    # docker_wsl
    "docker_wsl_boot_command": _boot_command,
    # nvidia_container_toolkit
    "nvidia_container_toolkit_enabled": _one_of(NVIDIA_ENABLED),
    "nvidia_container_toolkit_mirrors": _all(
        _not_empty("no mirror to install from", "list at least one, e.g. [nvidia]"),
        _each(_mirror(NVIDIA_MIRROR_PRESETS))),
    "nvidia_container_toolkit_key_fingerprints": _each(_fingerprint),
    "nvidia_container_toolkit_key_urls": _each(lambda v: _url(v, what="key URL")),
    "nvidia_container_toolkit_key_content": _key_content("nvidia_container_toolkit_key_fingerprints"),
    "nvidia_container_toolkit_key_path": _plain(_abs_path),
    "nvidia_container_toolkit_version": _apt_version("nvidia_container_toolkit_version", "1.17.8-1"),
    "nvidia_container_toolkit_cdi_spec": _plain(_abs_path),
    "nvidia_container_toolkit_verify_image": _plain(_image),
    # docker_registry_auth
    "docker_registry_auth_logins": _logins,
    "docker_registry_auth_ca_certs": _ca_certs,
    "docker_registry_auth_certs_dir": _plain(_abs_path),
    # docker_apps
    "docker_apps_images": _items({"name": _image}),
    "docker_apps_containers": _all(
        _items({"image": _image, "ports": _port, "volumes": _volume,
                "name": lambda v: [] if _CONTAINER_NAME.match(str(v)) else [
                    ("", "is not a container name", "use letters, digits, '_', '.', '-'")]}, required=("image",)),
        _unique("name")),
    "docker_apps_stacks": _all(_unique("name"), _template_dir("stack", "compose.yaml.j2")),
    "docker_apps_builds": _all(_items({"image": _image}), _unique("name"), _template_dir("build", "")),
    "docker_apps_jobs": _all(_items({"image": _image, "data_dir": _abs_path}), _unique("name")),
    "docker_apps_root": _plain(_abs_path),
    # docker_upgrade
    "docker_upgrade_version": _apt_version("docker_upgrade_version", "26.1.6"),
    "docker_upgrade_stop_timeout": _range(0, 3600, " seconds"),
    "docker_upgrade_start_timeout": _range(1, 3600, " seconds"),
    "docker_upgrade_drain_before_tasks": _task_file,
    "docker_upgrade_drain_after_tasks": _task_file,
    "docker_upgrade_health_urls": _each(lambda v: _url(v, what="health URL")),
    "docker_upgrade_health_retries": _range(1, 1000),
    "docker_upgrade_health_delay": _range(0, 3600, " seconds"),
    "docker_upgrade_record": _plain(_abs_path),
}


def secret_options(spec_options: dict[str, Any]) -> set:
    """Option and suboption names marked no_log in an argument spec (their values are never shown)."""
    names = set()
    for name, spec in (spec_options or {}).items():
        if spec.get("no_log"):
            names.add(name)
        names |= secret_options(spec.get("options") or {})
    return names


def _shown(value: Any, secrets: set) -> str:
    def redact(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (SECRET if k in secrets else redact(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [redact(x) for x in v]
        return v
    text = repr(redact(value))
    return text if len(text) <= 160 else text[:157] + "..."


def _pick(value: Any, suffix: str) -> Any:
    """The part of `value` that `suffix` ("[2].ports[0]") names, for the message."""
    for index, key in re.findall(r"\[(\d+)\]|\.([\w-]+)", suffix):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            return value
    return value


def check(variables: dict[str, Any], names: list[str] | None = None, secrets: set | None = None,
          controller_file_exists: Callable[[str], bool] | None = None) -> list[Problem]:
    """Every problem with `variables` (name -> value, as resolved for one host), for the names given
    (default: every rule). Values that are still templates are skipped: the caller resolves them first."""
    ctx = Context(variables, controller_file_exists)
    secrets = secrets or set()
    out: list[Problem] = []
    for name in names if names is not None else sorted(RULES):
        rule = RULES.get(name)
        if rule is None or name not in variables:
            continue
        value = variables[name]
        for suffix, problem, fix in rule(value, ctx):
            part = "(not set)" if problem == "is missing" else _pick(value, suffix)
            last = re.findall(r"\.([\w-]+)$", suffix)
            shown = (SECRET if (name in secrets or (last and last[0] in secrets)) else
                     part if part == "(not set)" else _shown(part, secrets))
            out.append(Problem(name + suffix, shown, problem, fix))
    return out
