"""The fleet file: its schema, loading with precise errors, and normalisation to what the generator renders.

The format is documented in docs/fleet-file.md (examples/fleet.yml is a full example).
"""

from __future__ import annotations

import ast
import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from . import collection
from .errors import Finding, FleetError, did_you_mean
from .schema import Node, enum, lst, obj, s, validate

GROUPS = ("servers", "wsl", "gpu", "auto")
BASE_GROUPS = ("servers", "wsl", "auto")  # every host is in exactly one of these
CONNECTIONS = ("ssh", "docker", "local")
APP_KINDS = ("images", "containers", "stacks", "builds", "jobs")
_URL = re.compile(r"^https?://[^/\s]+")


APT_UTILS = "plugins/module_utils/_apt.py"


def mirror_presets() -> dict[str, str]:
    """docker_repo's mirror presets, read from the one list the modules use (the collection's
    plugins/module_utils/_apt.py, see collection.own()).
    """
    content = collection.own()
    text = content.text(APT_UTILS)
    if text is None:
        raise RuntimeError(f"{APT_UTILS} is missing from {content.where}")
    presets = _presets_in(text)
    if presets is None:
        raise RuntimeError(f"MIRROR_PRESETS not found in {APT_UTILS} of {content.where}")
    return dict(presets)


@cache
def _presets_in(text: str) -> dict[str, str] | None:
    """Read with ast, not imported: the file is a module_utils file meant for managed hosts."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "MIRROR_PRESETS" for t in targets):
                return dict(ast.literal_eval(node.value))
    return None


def _repo_mirror(value: str) -> tuple[str, str] | None:
    presets = mirror_presets()
    if value in presets or _URL.match(value):
        return None
    if "://" in value:
        return (f"mirror URL '{value}' has a scheme other than http or https",
                f"use http:// or https://, or a preset ({', '.join(presets)})")
    if "." in value or "/" in value:
        return (f"mirror URL '{value}' has no scheme",
                f"write 'https://{value}' (or 'http://{value}' for a plain-HTTP internal mirror)")
    return (f"unknown mirror preset '{value}'",
            f"{did_you_mean(value, presets)} (the list docker_repo uses, {APT_UTILS} in {collection.FQCN}), "
            "or a base URL such as https://mirrors.example.internal/docker-ce")


def _registry_mirror(value: str) -> tuple[str, str] | None:
    if _URL.match(value):
        return None
    if "://" in value:
        return (f"registry mirror '{value}' has a scheme other than http or https", "use http:// or https://")
    return (f"registry mirror URL '{value}' has no scheme",
            f"write 'https://{value}' (dockerd refuses a registry-mirrors entry without http:// or https://)")


def _insecure_registry(value: str) -> tuple[str, str] | None:
    if "://" in value:
        bare = value.split("://", 1)[1].rstrip("/")
        return (f"insecure registry '{value}' carries a scheme", f"write it as host:port, e.g. '{bare}'")
    return None


def _fingerprint(value: str) -> tuple[str, str] | None:
    if re.fullmatch(r"[0-9A-Fa-f]{40}", value.replace(" ", "")) or "{{" in value:
        return None
    return (f"'{value}' is not a 40-hex-digit OpenPGP fingerprint",
            "copy the full fingerprint (spaces allowed), e.g. '9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88'")


def _name(value: str) -> tuple[str, str] | None:
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value):
        return None
    return (f"'{value}' is not usable as an inventory name", "use letters, digits, '.', '-' and '_' only")


HOST = obj({
    "address": s(example="192.0.2.10"),
    "user": s(example="ubuntu"),
    "port": Node("int"),
    "connection": enum(*CONNECTIONS),
    "become": Node("bool"),
    "python": s(example="/usr/bin/python3"),
    "groups": lst(enum(*GROUPS), example="[servers]"),
    "vars": Node("any_dict"),
})

FLEET = obj({
    "version": Node("int"),
    "name": s(_name, example="my-fleet"),
    "defaults": obj({
        "user": s(example="ubuntu"),
        "port": Node("int"),
        "connection": enum(*CONNECTIONS),
        "become": Node("bool"),
        "python": s(example="/usr/bin/python3"),
    }),
    "repo": obj({
        "mirrors": lst(s(_repo_mirror), example="[ustc, official]"),
        "key_fingerprints": lst(s(_fingerprint), example="['9DC8 5822 ...']"),
        "key_file": s(example="keys/docker.asc"),
        "channel": enum("stable", "test"),
    }),
    "engine": obj({
        "version": s(example="26.1.5"),
        "hold": Node("bool"),
        "upgrade": Node("bool"),
    }),
    "daemon": obj({
        "registry_mirrors": lst(s(_registry_mirror), example="['https://<id>.mirror.aliyuncs.com']"),
        "insecure_registries": lst(s(_insecure_registry), example="['registry.internal:5000']"),
        "log_driver": s(example="json-file"),
        "log_opts": Node("map", item=s()),
        "data_root": s(example="/srv/docker"),
        "live_restore": Node("bool"),
        "proxy": obj({"http": s(), "https": s(), "no_proxy": s()}),
    }),
    "users": lst(s(_name), example="[alice, deploy]"),
    "registries": lst(obj({"url": s(example="registry.example.com"), "username": s(), "user": s(_name)},
                          required=("url",)),
                      example="[{url: registry.example.com, username: alice}]"),
    # Workloads, one list per kind; each item is a docker_apps_<kind> entry (see roles/docker_apps/README.md).
    "apps": obj({kind: lst(Node("any_dict"), example="[{name: web, image: 'nginx:1.27'}]") for kind in APP_KINDS}),
    "hosts": Node("map", item=HOST),
}, required=("hosts",))


def check(data: Any, file: str) -> list[Finding]:
    """Every problem in a parsed fleet file (empty when it is valid)."""
    out: list[Finding] = []
    if not isinstance(data, dict):
        return [Finding(file, "(top level)", "the fleet file is not a mapping",
                        "start from examples/fleet.yml: a mapping with at least `hosts:`")]
    validate(FLEET, data, "", file, out)
    if out:
        return out
    if data.get("version", 1) != 1:
        out.append(Finding(file, "version", f"unsupported version {data['version']}", "write version: 1"))
    hosts = data["hosts"] or {}
    if not hosts:
        out.append(Finding(file, "hosts", "no hosts", "add at least one host under hosts:"))
    defaults = data.get("defaults") or {}
    for name, host in hosts.items():
        host = host or {}
        path = f"hosts.{name}"
        if (problem := _name(str(name))) is not None:
            out.append(Finding(file, path, *problem))
        groups = host.get("groups") or []
        base = [g for g in groups if g in BASE_GROUPS]
        if not groups:
            out.append(Finding(file, f"{path}.groups", "the host is in no group",
                               f"add groups: [servers], [wsl] or [auto] (and gpu for GPU hosts); "
                               f"known groups: {', '.join(GROUPS)}"))
        elif not base:
            out.append(Finding(file, f"{path}.groups", f"the host is only in {groups}, not in a base group",
                               "add servers, wsl or auto as well: gpu hosts are servers or WSL machines too"))
        elif len(base) > 1:
            out.append(Finding(file, f"{path}.groups", f"the host is in {len(base)} base groups {base}",
                               "keep exactly one of servers, wsl, auto"))
        if len(set(groups)) != len(groups):
            out.append(Finding(file, f"{path}.groups", "a group is listed twice", "list each group once"))
        connection = host.get("connection", defaults.get("connection", "ssh"))
        if connection == "ssh" and not host.get("address"):
            out.append(Finding(file, f"{path}.address", "missing (ssh hosts need an address)",
                               "add address: <IP or DNS name>, or connection: local/docker"))
    out.extend(_role_checks(data, file))
    if "key_file" in (data.get("repo") or {}):
        key = _key_path(data, file)
        if not key.is_file():
            out.append(Finding(file, "repo.key_file", f"no such file {key}",
                               "give the armored key's path, relative to the fleet file"))
    return out


def _role_checks(data: dict[str, Any], file: str) -> list[Finding]:
    """apps.<kind> items and hosts.<name>.vars against the roles' argument specs, as `dockprov validate` checks
    the generated project, so a typo in a container entry stops `init` before anything is written."""
    from .validate import check_vars, role_specs  # validate imports this module

    specs = role_specs(collection.own())
    out: list[Finding] = []
    if "docker_apps" in specs:
        for kind, items in (data.get("apps") or {}).items():
            for f in check_vars({f"docker_apps_{kind}": items}, file, specs):
                out.append(Finding(f.file, f.key.replace(f"docker_apps_{kind}", f"apps.{kind}", 1), f.problem, f.fix))
    for name, host in (data.get("hosts") or {}).items():
        out.extend(check_vars((host or {}).get("vars") or {}, file, specs, f"hosts.{name}.vars."))
    return out


def _key_path(data: dict[str, Any], file: str) -> Path:
    key = Path(data["repo"]["key_file"])
    return key if key.is_absolute() else Path(file).resolve().parent / key


def normalise(data: dict[str, Any], file: str) -> dict[str, Any]:
    """The fleet with every default filled in, plus `key_text` (the offline key) when repo.key_file is set."""
    fleet = copy.deepcopy(data)
    fleet.setdefault("version", 1)
    fleet.setdefault("name", "fleet")
    defaults = {"connection": "ssh", "become": True, **(fleet.get("defaults") or {})}
    fleet["defaults"] = defaults
    fleet["repo"] = {"mirrors": ["official"], "key_fingerprints": [], "channel": "stable",
                     **(fleet.get("repo") or {})}
    fleet["engine"] = {"version": "", "hold": False, "upgrade": False, **(fleet.get("engine") or {})}
    fleet["daemon"] = {"registry_mirrors": [], "insecure_registries": [], **(fleet.get("daemon") or {})}
    for key in ("users", "registries"):
        fleet[key] = fleet.get(key) or []
    fleet["apps"] = {kind: items for kind, items in (fleet.get("apps") or {}).items() if items}
    hosts = {}
    for name, host in (fleet["hosts"] or {}).items():
        host = dict(host or {})
        for key in ("connection", "user", "port", "become", "python"):
            if key not in host and key in defaults:
                host[key] = defaults[key]
        host.setdefault("vars", {})
        hosts[str(name)] = host
    fleet["hosts"] = hosts
    if "key_file" in fleet["repo"]:
        fleet["key_text"] = _key_path(data, file).read_text()
    return fleet


def load(path: Path) -> dict[str, Any]:
    """Read, check and normalise a fleet file; FleetError lists every problem."""
    file = str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise FleetError([Finding(file, "(file)", "no such file", "give the path of a fleet file")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise FleetError([Finding(file, where, f"not valid YAML ({getattr(exc, 'problem', exc)})",
                                  "fix the YAML syntax (indentation, quoting) at that place")]) from None
    return from_data(data, file)


def from_data(data: Any, file: str) -> dict[str, Any]:
    findings = check(data, file)
    if findings:
        raise FleetError(findings)
    return normalise(data, file)
