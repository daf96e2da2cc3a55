"""Fleets that do not come from a fleet file: command-line flags, the lab, and questions on a terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from .collection import CHECKOUT
from .fleet import mirror_presets

LAB_INVENTORY = CHECKOUT / "inventory" / "lab"  # the lab is test infrastructure of the checkout


def from_flags(hosts: list[str], user: str | None, mirror_presets_: list[str], repo_mirrors: list[str],
               registry_mirrors: list[str], docker_users: list[str], name: str | None) -> dict[str, Any]:
    """--host NAME=ADDRESS[,wsl|gpu|server|auto|docker|local...]; the result is checked like a fleet file."""
    fleet_hosts: dict[str, Any] = {}
    for spec in hosts:
        name_part, _, rest = spec.partition("=")
        address, *flags = rest.split(",") if rest else [""]
        host: dict[str, Any] = {}
        if address:
            host["address"] = address
        groups = []
        for flag in flags:
            if flag in ("docker", "local", "ssh"):
                host["connection"] = flag
            elif flag == "server":
                groups.append("servers")
            else:
                groups.append(flag)  # wsl, gpu, auto; anything else is reported by the schema
        if not any(g in ("servers", "wsl", "auto") for g in groups):
            groups.insert(0, "servers")
        host["groups"] = groups
        fleet_hosts[name_part] = host
    data: dict[str, Any] = {"version": 1, "name": name or "fleet", "hosts": fleet_hosts}
    if user:
        data["defaults"] = {"user": user}
    mirrors = list(mirror_presets_) + list(repo_mirrors)
    if mirrors:
        data["repo"] = {"mirrors": mirrors}
    if registry_mirrors:
        data["daemon"] = {"registry_mirrors": list(registry_mirrors)}
    if docker_users:
        data["users"] = list(docker_users)
    return data


def lab(hosts: list[str] | None = None) -> tuple[dict[str, Any], str]:
    """The lab fleet (inventory/lab), with the lab's connection values and mirror key.

    LAB STAND-IN: mirror.lab and registry.lab stand in for Docker's repo and a registry accelerator, and the
    hosts are containers reached with community.docker.docker. The key and fingerprint are the ones
    `dockprov lab up` generated (inventory/lab/group_vars/all/lab_generated.yml); the project carries the
    key as an offline key file, which is how an air-gapped fleet would get it too.
    """
    if not (LAB_INVENTORY / "hosts.yml").is_file():
        raise FileNotFoundError(f"--lab needs dockprov's checkout (its lab inventory {LAB_INVENTORY} is missing)")
    inventory = yaml.safe_load((LAB_INVENTORY / "hosts.yml").read_text())
    generated_file = LAB_INVENTORY / "group_vars" / "all" / "lab_generated.yml"
    if not generated_file.is_file():
        raise FileNotFoundError(f"{generated_file} is missing: run `dockprov lab up` first")
    generated = yaml.safe_load(generated_file.read_text())
    connection = yaml.safe_load((LAB_INVENTORY / "group_vars" / "all" / "connection.yml").read_text())
    lab_vars = yaml.safe_load((LAB_INVENTORY / "group_vars" / "all" / "lab.yml").read_text())
    fleet_hosts: dict[str, Any] = {}
    for group, body in inventory["docker_hosts"]["children"].items():
        for name in (body or {}).get("hosts") or {}:
            if hosts is None or name in hosts or name.removeprefix("dockprov-") in hosts:
                fleet_hosts.setdefault(name, {"groups": []})["groups"].append(group)
    if not fleet_hosts:
        raise ValueError(f"no lab host matches {hosts}")
    data = {
        "version": 1,
        "name": "lab",
        "defaults": {
            "connection": "docker",
            "user": connection["ansible_user"],
            "become": bool(connection["ansible_become"]),
            "python": connection["ansible_python_interpreter"],
        },
        "repo": {"mirrors": lab_vars["docker_repo_mirrors"],
                 "key_fingerprints": [generated["dockprov_lab_mirror_fingerprint"]]},
        "daemon": {"registry_mirrors": lab_vars["docker_daemon_registry_mirrors"]},
        "hosts": fleet_hosts,
    }
    return data, generated["dockprov_lab_mirror_key"]


def ask(read: Callable[[str], str] = input) -> dict[str, Any]:
    """Questions on a terminal; empty answers take the default shown in brackets."""

    def q(prompt: str, default: str = "") -> str:
        answer = read(f"{prompt}{f' [{default}]' if default else ''}: ").strip()
        return answer or default

    def items(text: str) -> list[str]:
        return [i.strip() for i in text.replace(",", " ").split() if i.strip()]

    print("dockprov init: a few questions (Ctrl-C to stop; nothing is written until the end).")
    name = q("Fleet name", "fleet")
    user = q("SSH user on the hosts", "ubuntu")
    hosts: dict[str, Any] = {}
    while True:
        host = q("Host name (empty when done)" if hosts else "First host name")
        if not host:
            if hosts:
                break
            continue
        address = q(f"  {host}: address", host)
        kind = q(f"  {host}: server, wsl or auto", "server")
        gpu = q(f"  {host}: NVIDIA GPU? (y/n)", "n").lower().startswith("y")
        groups = ["servers" if kind == "server" else kind] + (["gpu"] if gpu else [])
        hosts[host] = {"address": address, "groups": groups}
    mirrors = items(q(f"Docker repo mirrors, in order ({', '.join(mirror_presets())} or URLs)", "official"))
    registry = items(q("Registry mirrors for image pulls (URLs, empty for none)"))
    users = items(q("Users to add to the docker group (empty for none)"))
    data: dict[str, Any] = {"version": 1, "name": name, "defaults": {"user": user},
                            "repo": {"mirrors": mirrors}, "hosts": hosts}
    if registry:
        data["daemon"] = {"registry_mirrors": registry}
    if users:
        data["users"] = users
    return data
