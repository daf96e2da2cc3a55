# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""The port bridge: published ports that take new connections through a dockerd restart (module
dockprov.docker.engine_upgrade, states ``bridged`` and ``unbridged``).

With live-restore the containers run on while dockerd restarts, and so do open connections (conntrack keeps
their translation). But dockerd 26.1, when it starts, deletes and re-creates its iptables chains (DOCKER in
nat and filter, its jumps from PREROUTING, OUTPUT and FORWARD) and re-adds the port mappings of the running
containers only after that: for a moment a new connection to a published port finds no DNAT rule and is
refused (docker-proxy, which would otherwise take it, ends with the old dockerd too).

The bridge, made before the engine restarts, is a copy of those rules in chains of dockprov's own, which
dockerd never touches:

  nat     DOCKPROV-BRIDGE: Docker's DNAT rules of its DOCKER chain, verbatim, jumped to from the top of
          PREROUTING and OUTPUT with the very matches of Docker's own jumps to DOCKER (so 127.0.0.1 stays out
          where Docker keeps it out, with its userland proxy)
  filter  DOCKPROV-BRIDGE, jumped to from the top of FORWARD (forwarded traffic from other machines, where
          FORWARD's policy is DROP): first the user's DOCKER-USER chain (its rules still decide first), then
          replies and established flows of Docker's bridge interfaces, then Docker's ACCEPT rules of its
          DOCKER chain (the containers' ip:port), verbatim

Removing the bridge waits (a state read, polled) until dockerd holds every bridged rule again, then deletes
the jumps and the chains; it does so also where dockerd does not come back within the timeout (a stale copy
must not shadow Docker's rules for good), and reports what it missed. Both are idempotent: the bridge in
iptables is its own state, so a bridge an interrupted run left is found and removed by the next run, and
where there is none, nothing changes. IPv6 (ip6tables) is handled alike where Docker has DNAT rules there.

Every function takes ``run``, a callable like AnsibleModule.run_command (argv -> (rc, stdout, stderr)); rc 127
means the tool is not installed. Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError

CHAIN = "DOCKPROV-BRIDGE"
DOCKER = "DOCKER"
DOCKER_USER = "DOCKER-USER"
TABLES = ("nat", "filter")
# Docker's jumps to its nat DOCKER chain, mirrored by the bridge's own.
NAT_HOOKS = ("PREROUTING", "OUTPUT")
# Seconds iptables waits for the xtables lock (iptables-legacy; iptables-nft accepts and ignores it).
LOCK_WAIT = "30"
DEFAULT_TIMEOUT = 30
POLL_INTERVAL = 1.0
_ESTABLISHED = ("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")

Runner = Callable[[Sequence[str]], tuple[int, str, str]]
Args = tuple[str, ...]  # a rule's arguments after "-A CHAIN", as iptables-save prints them
Rule = tuple[str, Args]  # (chain, arguments)


@dataclass(frozen=True)
class Family:
    name: str
    iptables: str
    save: str


FAMILIES = (Family("ipv4", "iptables", "iptables-save"), Family("ipv6", "ip6tables", "ip6tables-save"))


@dataclass
class Table:
    """One table of iptables-save's output: the chains declared and the rules in order."""

    chains: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Bridge:
    """A bridge in one family, per table: the rules of its chain and the jumps to it ((chain, arguments))."""

    chains: list[str] = field(default_factory=list)  # tables where the chain exists (or is to exist)
    rules: dict[str, list[Args]] = field(default_factory=dict)
    jumps: dict[str, list[Rule]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.chains or any(self.jumps.values()))

    def key(self) -> tuple[Any, ...]:
        """What makes two bridges the same (jumps in any order: they all lead to the same chain)."""
        return (sorted(self.chains), {t: list(r) for t, r in self.rules.items() if r},
                {t: sorted(j) for t, j in self.jumps.items() if j})


def subprocess_runner(argv: Sequence[str]) -> tuple[int, str, str]:
    """``run`` without Ansible (rc 127 when the tool is missing)."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        return 127, "", str(exc)
    return proc.returncode, proc.stdout, proc.stderr


def parse_save(text: str) -> dict[str, Table]:
    """iptables-save's output by table."""
    tables: dict[str, Table] = {}
    current: Table | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("*"):
            current = tables.setdefault(line[1:], Table())
        elif current is None or not line or line.startswith("#") or line == "COMMIT":
            continue
        elif line.startswith(":"):
            current.chains.append(line[1:].split()[0])
        elif line.startswith("-A "):
            words = shlex.split(line)
            current.rules.append((words[1], tuple(words[2:])))
    return tables


def target(args: Args) -> str | None:
    """The chain or target a rule jumps (-j) or goes (-g) to."""
    for index in range(len(args) - 2, -1, -1):
        if args[index] in ("-j", "--jump", "-g", "--goto"):
            return args[index + 1]
    return None


def _retarget(args: Args, new: str) -> Args:
    for index in range(len(args) - 2, -1, -1):
        if args[index] in ("-j", "--jump", "-g", "--goto"):
            return (*args[:index + 1], new, *args[index + 2:])
    return args


def _option(args: Args, name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def read(run: Runner, family: Family) -> dict[str, Table] | None:
    """nat and filter of one family; None where its tools are not installed (or, for IPv6, do not work)."""
    tables: dict[str, Table] = {}
    for table in TABLES:
        rc, out, err = run([family.save, "-t", table])
        if rc == 127:
            return None
        if rc != 0:
            if "does not exist" in err or "doesn't exist" in err:  # a table no one uses yet: empty
                tables[table] = Table()
                continue
            if family.name == "ipv6":
                return None
            raise ModuleError(f"{family.save} -t {table} failed (rc {rc}): {err.strip() or out.strip()}")
        tables[table] = parse_save(out).get(table, Table())
    return tables


def present(tables: dict[str, Table]) -> Bridge:
    """The bridge as iptables holds it now (its chains, their rules, every jump to them)."""
    bridge = Bridge()
    for name in TABLES:
        table = tables[name]
        if CHAIN in table.chains:
            bridge.chains.append(name)
        bridge.rules[name] = [args for chain, args in table.rules if chain == CHAIN]
        bridge.jumps[name] = [(chain, args) for chain, args in table.rules if chain != CHAIN and target(args) == CHAIN]
    return bridge


def wanted(tables: dict[str, Table]) -> Bridge:
    """The bridge Docker's rules call for now: empty where Docker has no DNAT rule it jumps to."""
    nat, filt = tables["nat"], tables["filter"]
    dnat = [args for chain, args in nat.rules if chain == DOCKER and target(args) == "DNAT"]
    nat_jumps = [(chain, _retarget(args, CHAIN)) for chain, args in nat.rules
                 if chain in NAT_HOOKS and target(args) == DOCKER]
    bridge = Bridge()
    if not dnat or not nat_jumps:
        return bridge
    bridge.chains.append("nat")
    bridge.rules["nat"] = dnat
    bridge.jumps["nat"] = nat_jumps
    accepts = [args for chain, args in filt.rules if chain == DOCKER and target(args) == "ACCEPT"]
    if accepts:
        interfaces = list(dict.fromkeys(i for i in (_option(args, "-o") for args in accepts) if i))
        rules: list[Args] = [("-j", DOCKER_USER)] if DOCKER_USER in filt.chains else []
        for interface in interfaces:
            rules += [("-o", interface, *_ESTABLISHED), ("-i", interface, *_ESTABLISHED)]
        bridge.chains.append("filter")
        bridge.rules["filter"] = rules + accepts
        bridge.jumps["filter"] = [("FORWARD", ("-j", CHAIN))]
    return bridge


def _cmd(family: Family, table: str, *args: str) -> list[str]:
    return [family.iptables, "-w", LOCK_WAIT, "-t", table, *args]


def install_commands(family: Family, bridge: Bridge) -> list[list[str]]:
    """The chain filled first, then the jumps at the top (filter before nat: the path is open before
    traffic is steered onto it)."""
    commands = []
    for table in ("filter", "nat"):
        if table not in bridge.chains:
            continue
        commands.append(_cmd(family, table, "-N", CHAIN))
        commands += [_cmd(family, table, "-A", CHAIN, *args) for args in bridge.rules.get(table, [])]
        # Inserted at 1 in reverse, so they keep their order at the top.
        commands += [_cmd(family, table, "-I", chain, "1", *args)
                     for chain, args in reversed(bridge.jumps.get(table, []))]
    return commands


def remove_commands(family: Family, bridge: Bridge) -> list[list[str]]:
    """Every jump to the chain first (a chain still jumped to cannot be deleted), then the chain."""
    commands = []
    for table in ("nat", "filter"):
        commands += [_cmd(family, table, "-D", chain, *args) for chain, args in bridge.jumps.get(table, [])]
        if table in bridge.chains:
            commands += [_cmd(family, table, "-F", CHAIN), _cmd(family, table, "-X", CHAIN)]
    return commands


def missing(tables: dict[str, Table], bridge: Bridge) -> list[str]:
    """What of the bridge dockerd does not hold (again): its DNAT rules and jumps in nat, its ACCEPT rules for
    the containers' ports in filter and a jump to its filter DOCKER chain."""
    nat, filt = tables["nat"], tables["filter"]
    out = []
    for args in bridge.rules.get("nat", []):
        if target(args) == "DNAT" and (DOCKER, args) not in nat.rules:
            out.append(f"nat DNAT {describe(args)}")
    for chain, args in bridge.jumps.get("nat", []):
        if (chain, _retarget(args, DOCKER)) not in nat.rules:
            out.append(f"nat {chain} jump to {DOCKER}")
    copied = [args for args in bridge.rules.get("filter", []) if target(args) == "ACCEPT" and "conntrack" not in args]
    for args in copied:
        if (DOCKER, args) not in filt.rules:
            out.append(f"filter ACCEPT {describe(args)}")
    if copied and not any(target(args) == DOCKER for chain, args in filt.rules if chain != DOCKER):
        out.append(f"filter jump to {DOCKER}")
    return out


def describe(args: Args) -> str:
    """A DNAT or ACCEPT rule of Docker's, in words: 'tcp 0.0.0.0:8080 -> 172.17.0.2:80'."""
    proto = _option(args, "-p") or "all"
    port = _option(args, "--dport") or "*"
    to = _option(args, "--to-destination")
    dest = (_option(args, "-d") or "").split("/")[0]
    if to is not None:
        return f"{proto} {dest or '*'}:{port} -> {to}"
    return f"{proto} -> {dest or '*'}:{port}"


def render(family: Family, bridge: Bridge) -> str:
    """The bridge as iptables-save lines (the diff)."""
    lines = []
    for table in ("nat", "filter"):
        jumps, rules = bridge.jumps.get(table, []), bridge.rules.get(table, [])
        if table not in bridge.chains and not jumps:
            continue
        lines.append(f"# {family.name} *{table}")
        if table in bridge.chains:
            lines.append(f":{CHAIN}")
        lines += [" ".join(["-A", chain, *map(_quote, args)]) for chain, args in jumps]
        lines += [" ".join(["-A", CHAIN, *map(_quote, args)]) for args in rules]
    return "".join(line + "\n" for line in lines)


def _quote(word: str) -> str:
    return word if word and all(c.isalnum() or c in "-_.:/,!=+@[]" for c in word) else '"' + word + '"'


def _show(command: Sequence[str]) -> str:
    return " ".join(shlex.quote(word) for word in command)


def _execute(run: Runner, commands: list[list[str]]) -> None:
    for command in commands:
        rc, out, err = run(command)
        if rc != 0:
            raise ModuleError(f"{_show(command)} failed (rc {rc}): {err.strip() or out.strip()}")


def _families(run: Runner) -> list[tuple[Family, dict[str, Table]]]:
    return [(family, tables) for family in FAMILIES if (tables := read(run, family)) is not None]


def make_bridge(run: Runner, *, check_mode: bool) -> dict[str, Any]:
    """Make the bridge match Docker's port mappings now (a stale one is replaced; with no mapping, none)."""
    commands: list[list[str]] = []
    mappings: list[str] = []
    before = after = ""
    done: list[tuple[Family, list[list[str]]]] = []
    for family, tables in _families(run):
        now, want = present(tables), wanted(tables)
        before += render(family, now)
        after += render(family, want)
        mappings += [f"{family.name} {describe(args)}" for args in want.rules.get("nat", [])]
        if now.key() == want.key():
            continue
        todo = (remove_commands(family, now) if now else []) + install_commands(family, want)
        commands += todo
        done.append((family, todo))
    if not check_mode:
        for family, todo in done:
            try:
                _execute(run, todo)
            except ModuleError as exc:
                # Never leave half a bridge: what was made of it goes again (best effort), then the failure.
                tables = read(run, family)
                if tables is not None:
                    leftover = present(tables)
                    for command in remove_commands(family, leftover):
                        run(command)
                raise ModuleError(f"the port bridge could not be made, nothing of it is left: {exc}",
                                  commands=[_show(c) for c in commands]) from None
    if not mappings:
        msg = "dockerd has no DNAT rule for a published port: nothing to bridge"
    else:
        msg = (f"{'would bridge' if check_mode and commands else 'bridged'} {len(mappings)} published port(s) "
               f"through the dockerd restart: {', '.join(mappings)}")
    return {"changed": bool(commands), "commands": [_show(c) for c in commands], "mappings": mappings, "msg": msg,
            "diff": {"before_header": f"iptables: {CHAIN}", "after_header": f"iptables: {CHAIN}",
                     "before": before, "after": after}}


def remove_bridge(run: Runner, *, check_mode: bool, timeout: float = DEFAULT_TIMEOUT,
                  sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Remove the bridge once dockerd holds every bridged rule again (or the timeout passed: then it is
    removed too, and what dockerd lacks is reported in ``missing``). Nothing to do where there is none."""
    start = clock()
    deadline = start + timeout
    while True:
        found = [(family, tables, present(tables)) for family, tables in _families(run)]
        found = [(family, tables, bridge) for family, tables, bridge in found if bridge]
        lacking = [f"{family.name} {what}" for family, tables, bridge in found for what in missing(tables, bridge)]
        if not found or not lacking or check_mode or clock() >= deadline:
            break
        sleep(POLL_INTERVAL)
    waited = round(clock() - start, 1)
    commands = [command for family, _tables, bridge in found for command in remove_commands(family, bridge)]
    before = "".join(render(family, bridge) for family, _tables, bridge in found)
    if not check_mode:
        _execute(run, commands)
    result: dict[str, Any] = {
        "changed": bool(commands), "commands": [_show(c) for c in commands], "missing": lacking, "waited": waited,
        "mappings": [f"{family.name} {describe(args)}" for family, _tables, bridge in found
                     for args in bridge.rules.get("nat", [])],
        "diff": {"before_header": f"iptables: {CHAIN}", "after_header": f"iptables: {CHAIN}",
                 "before": before, "after": ""}}
    if not found:
        result["msg"] = "no port bridge: nothing to remove"
    elif check_mode:
        result["msg"] = (f"would remove the port bridge once dockerd holds its port mappings again"
                         f"{' (it lacks now: ' + '; '.join(lacking) + ')' if lacking else ''}")
    elif lacking:
        result["msg"] = (f"removed the port bridge, but dockerd did not hold every port mapping again within "
                         f"{timeout:g} s: it lacks {'; '.join(lacking)}")
        result["warnings"] = [result["msg"]]
    else:
        result["msg"] = f"removed the port bridge: dockerd holds every port mapping again (after {waited:g} s)"
    return result
