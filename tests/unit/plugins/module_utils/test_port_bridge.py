"""Tests of module_utils/_port_bridge.py (engine_upgrade's states bridged and unbridged) against a fake iptables:
it holds the rules it is given as iptables-save text, answers iptables-save, applies -N -A -I -D -F -X as
iptables does (refusing what iptables refuses) and records every command."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _port_bridge as pb
from ansible_collections.dockprov.docker.plugins.module_utils._engine_upgrade import run
from ansible_collections.dockprov.docker.plugins.module_utils._module import ModuleError

BUILTIN = {"nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"], "filter": ["INPUT", "FORWARD", "OUTPUT"]}

# What dockerd 26.1 had on a lab host (Debian 12, iptables-nft) with nginx published as 8080:80; the lab host
# being itself a container on a user-defined network adds the DOCKER_OUTPUT DNAT rules of that Docker's DNS.
DOCKER_NAT = """
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:45205
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:33892
-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p tcp -m tcp --sport 45205 -j SNAT --to-source :53
"""
DOCKER_FILTER = """
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
"""
NAT_CHAINS = ["DOCKER", "DOCKER_OUTPUT", "DOCKER_POSTROUTING"]
FILTER_CHAINS = ["DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"]

IPT = ["iptables", "-w", "30"]
BRIDGE_COMMANDS = [
    [*IPT, "-t", "filter", "-N", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "filter", "-A", "DOCKPROV-BRIDGE", "-j", "DOCKER-USER"],
    [*IPT, "-t", "filter", "-A", "DOCKPROV-BRIDGE", "-o", "docker0", "-m", "conntrack", "--ctstate",
     "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    [*IPT, "-t", "filter", "-A", "DOCKPROV-BRIDGE", "-i", "docker0", "-m", "conntrack", "--ctstate",
     "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    [*IPT, "-t", "filter", "-A", "DOCKPROV-BRIDGE", "-d", "172.17.0.2/32", "!", "-i", "docker0", "-o", "docker0",
     "-p", "tcp", "-m", "tcp", "--dport", "80", "-j", "ACCEPT"],
    [*IPT, "-t", "filter", "-I", "FORWARD", "1", "-j", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "nat", "-N", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "nat", "-A", "DOCKPROV-BRIDGE", "!", "-i", "docker0", "-p", "tcp", "-m", "tcp", "--dport", "8080",
     "-j", "DNAT", "--to-destination", "172.17.0.2:80"],
    [*IPT, "-t", "nat", "-I", "OUTPUT", "1", "!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL",
     "-j", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "nat", "-I", "PREROUTING", "1", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKPROV-BRIDGE"],
]
UNBRIDGE_COMMANDS = [
    [*IPT, "-t", "nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "nat", "-D", "OUTPUT", "!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL",
     "-j", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "nat", "-F", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "nat", "-X", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "filter", "-D", "FORWARD", "-j", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "filter", "-F", "DOCKPROV-BRIDGE"],
    [*IPT, "-t", "filter", "-X", "DOCKPROV-BRIDGE"],
]


def _quote(word: str) -> str:
    return f'"{word}"' if " " in word or not word else word


class FakeTables:
    """One family's nat and filter tables: chains in order, each a list of rules (argument tuples)."""

    def __init__(self, nat: str = "", filter_: str = "", nat_chains: Sequence[str] = (),
                 filter_chains: Sequence[str] = ()) -> None:
        self.tables: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        for table, text, chains in (("nat", nat, nat_chains), ("filter", filter_, filter_chains)):
            self.tables[table] = {name: [] for name in [*BUILTIN[table], *chains]}
            self.load(table, text)

    def load(self, table: str, text: str) -> None:
        for line in text.strip().splitlines():
            words = shlex.split(line)
            assert words[0] == "-A"
            self.tables[table].setdefault(words[1], []).append(tuple(words[2:]))

    def save(self, table: str) -> str:
        chains = self.tables[table]
        lines = ["# Generated by fake iptables-save", f"*{table}"]
        lines += [f":{name} {'ACCEPT' if name in BUILTIN[table] else '-'} [0:0]" for name in chains]
        lines += [" ".join(["-A", name, *map(_quote, rule)]) for name, rules in chains.items() for rule in rules]
        return "\n".join([*lines, "COMMIT", "# Completed"]) + "\n"

    def apply(self, table: str, args: list[str]) -> tuple[int, str, str]:
        chains = self.tables[table]
        op, chain, rest = args[0], args[1], tuple(args[2:])
        if op == "-N":
            if chain in chains:
                return 1, "", "iptables: Chain already exists."
            chains[chain] = []
            return 0, "", ""
        if chain not in chains:
            return 1, "", f"iptables: No chain/target/match by that name ({chain})."
        jumps_to = [r for rules in chains.values() for r in rules if pb.target(r) == chain]
        if op == "-A":
            chains[chain].append(rest)
        elif op == "-I":
            chains[chain].insert(int(rest[0]) - 1, rest[1:])
        elif op == "-D":
            if rest not in chains[chain]:
                return 1, "", "iptables: Bad rule (does a matching rule exist in that chain?)."
            chains[chain].remove(rest)
        elif op == "-F":
            chains[chain] = []
        elif op == "-X":
            if chains[chain] or jumps_to:
                return 1, "", "iptables: Directory not empty / Too many links."
            del chains[chain]
        else:
            raise AssertionError(f"the fake does not know {op}")
        return 0, "", ""


class FakeIptables:
    """iptables and iptables-save (ip6tables too, where given) as `run` sees them."""

    def __init__(self, v4: FakeTables | None, v6: FakeTables | None = None) -> None:
        self.families = {"iptables": v4, "ip6tables": v6}
        self.commands: list[list[str]] = []
        self.fail_on: list[str] | None = None

    def __call__(self, argv: Sequence[str]) -> tuple[int, str, str]:
        argv = list(argv)
        self.commands.append(argv)
        tables = self.families[argv[0].replace("-save", "")]
        if tables is None:
            return 127, "", f"{argv[0]}: command not found"
        if argv[0].endswith("-save"):
            assert argv[1] == "-t"
            return 0, tables.save(argv[2]), ""
        assert argv[1:3] == ["-w", "30"] and argv[3] == "-t", argv
        if self.fail_on is not None and argv[5:5 + len(self.fail_on)] == self.fail_on:
            return 1, "", "iptables: injected failure"
        return tables.apply(argv[4], argv[5:])

    @property
    def changing(self) -> list[list[str]]:
        return [c for c in self.commands if not c[0].endswith("-save")]

    def reset(self) -> None:
        self.commands = []


def docker_tables() -> FakeTables:
    return FakeTables(DOCKER_NAT, DOCKER_FILTER, NAT_CHAINS, FILTER_CHAINS)


class Clock:
    def __init__(self, on_sleep: Callable[[int], None] | None = None) -> None:
        self.now = 1000.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        if self.on_sleep:
            self.on_sleep(self.sleeps)


def test_parse_save_reads_chains_and_quoted_rules() -> None:
    tables = pb.parse_save('*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n'
                           '-A DOCKER -p tcp -m comment --comment "web port" -j DNAT --to-destination 10.0.0.2:80\n'
                           'COMMIT\n')
    assert tables["nat"].chains == ["PREROUTING", "DOCKER"]
    assert tables["nat"].rules == [("DOCKER", ("-p", "tcp", "-m", "comment", "--comment", "web port", "-j", "DNAT",
                                               "--to-destination", "10.0.0.2:80"))]


def test_bridge_copies_dockers_dnat_and_accept_rules_with_its_jumps() -> None:
    fake = FakeIptables(docker_tables())
    result = pb.make_bridge(fake, check_mode=False)
    assert fake.changing == BRIDGE_COMMANDS
    assert result["changed"] is True
    assert result["mappings"] == ["ipv4 tcp *:8080 -> 172.17.0.2:80"]
    assert result["commands"][0] == "iptables -w 30 -t filter -N DOCKPROV-BRIDGE"
    nat = fake.families["iptables"].save("nat")
    # At the top of PREROUTING and OUTPUT, with Docker's matches; only DOCKER's DNAT (not DOCKER_OUTPUT's).
    assert "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKPROV-BRIDGE\n-A PREROUTING -m addrtype" in nat
    assert "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKPROV-BRIDGE\n-A OUTPUT -d 127" in nat
    assert [line for line in nat.splitlines() if line.startswith("-A DOCKPROV-BRIDGE")] == [
        "-A DOCKPROV-BRIDGE ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80"]
    filt = fake.families["iptables"].save("filter")
    assert "-A FORWARD -j DOCKPROV-BRIDGE\n-A FORWARD -j DOCKER-USER\n" in filt
    assert "+-A DOCKPROV-BRIDGE ! -i docker0 -p tcp" in "".join(
        "+" + line + "\n" for line in result["diff"]["after"].splitlines())
    assert result["diff"]["before"] == ""


def test_bridge_twice_changes_nothing() -> None:
    fake = FakeIptables(docker_tables())
    pb.make_bridge(fake, check_mode=False)
    fake.reset()
    again = pb.make_bridge(fake, check_mode=False)
    assert again["changed"] is False and again["commands"] == [] and fake.changing == []
    assert again["mappings"] == ["ipv4 tcp *:8080 -> 172.17.0.2:80"]
    assert again["diff"]["before"] == again["diff"]["after"]


def test_check_mode_reports_the_bridge_and_issues_no_changing_command() -> None:
    fake = FakeIptables(docker_tables())
    before = (fake.families["iptables"].save("nat"), fake.families["iptables"].save("filter"))
    result = pb.make_bridge(fake, check_mode=True)
    assert result["changed"] is True and fake.changing == []
    assert result["commands"] == [" ".join(shlex.quote(w) for w in c) for c in BRIDGE_COMMANDS]
    assert result["msg"].startswith("would bridge 1 published port(s)")
    assert (fake.families["iptables"].save("nat"), fake.families["iptables"].save("filter")) == before
    # And its removal, in check mode with a bridge there: reported, not done, no wait.
    pb.make_bridge(fake, check_mode=False)
    fake.reset()
    clock = Clock()
    removal = pb.remove_bridge(fake, check_mode=True, sleep=clock.sleep, clock=clock)
    assert removal["changed"] is True and fake.changing == [] and clock.sleeps == 0
    assert removal["commands"] == [" ".join(shlex.quote(w) for w in c) for c in UNBRIDGE_COMMANDS]


def test_nothing_to_bridge_without_dockers_dnat_rules() -> None:
    # dockerd publishes no port: only the DNS rules of an outer Docker, no DNAT in DOCKER.
    nat = "\n".join(line for line in DOCKER_NAT.strip().splitlines() if "172.17.0.2:80" not in line)
    filt = "\n".join(line for line in DOCKER_FILTER.strip().splitlines() if "--dport 80" not in line)
    fake = FakeIptables(FakeTables(nat, filt, NAT_CHAINS, FILTER_CHAINS))
    result = pb.make_bridge(fake, check_mode=False)
    assert result["changed"] is False and result["mappings"] == [] and fake.changing == []
    assert "nothing to bridge" in result["msg"]
    assert pb.remove_bridge(fake, check_mode=False)["changed"] is False
    assert fake.changing == []


def test_no_iptables_at_all_is_nothing_to_do() -> None:
    fake = FakeIptables(None)
    assert pb.make_bridge(fake, check_mode=False)["changed"] is False
    assert pb.remove_bridge(fake, check_mode=False)["changed"] is False
    assert fake.changing == []


def test_unbridge_restores_the_tables_exactly_and_is_idempotent() -> None:
    fake = FakeIptables(docker_tables())
    original = (fake.families["iptables"].save("nat"), fake.families["iptables"].save("filter"))
    pb.make_bridge(fake, check_mode=False)
    fake.reset()
    clock = Clock()
    result = pb.remove_bridge(fake, check_mode=False, sleep=clock.sleep, clock=clock)
    assert fake.changing == UNBRIDGE_COMMANDS
    assert result["changed"] is True and result["missing"] == [] and clock.sleeps == 0
    assert "dockerd holds every port mapping again" in result["msg"] and "warnings" not in result
    assert (fake.families["iptables"].save("nat"), fake.families["iptables"].save("filter")) == original
    fake.reset()
    again = pb.remove_bridge(fake, check_mode=False, sleep=clock.sleep, clock=clock)
    assert again["changed"] is False and again["commands"] == [] and fake.changing == []
    assert again["msg"] == "no port bridge: nothing to remove"


def _docker_restarting(tables: FakeTables) -> None:
    """What dockerd 26.1 does first when it starts: its jumps and chains go, and come back empty."""
    nat, filt = tables.tables["nat"], tables.tables["filter"]
    for hook in ("PREROUTING", "OUTPUT"):
        nat[hook] = [rule for rule in nat[hook] if pb.target(rule) != "DOCKER"]
    nat["DOCKER"] = []
    filt["DOCKER"] = []
    filt["FORWARD"] = [rule for rule in filt["FORWARD"] if pb.target(rule) not in ("DOCKER", "ACCEPT")]


def test_unbridge_waits_until_dockerd_holds_every_mapping_again() -> None:
    tables = docker_tables()
    fake = FakeIptables(tables)
    pb.make_bridge(fake, check_mode=False)
    _docker_restarting(tables)
    restored_at: list[int] = []

    def dockerd(polls: int) -> None:  # the jumps come back first, the port mappings after the third poll
        if polls == 1:
            tables.load("nat", "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
                               "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER")
            tables.load("filter", "-A FORWARD -o docker0 -j DOCKER")
        if polls == 3:
            tables.load("nat", "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT "
                               "--to-destination 172.17.0.2:80")
        if polls == 4:
            tables.load("filter", "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 "
                                  "-j ACCEPT")
            restored_at.append(len(fake.commands))

    clock = Clock(dockerd)
    fake.reset()
    result = pb.remove_bridge(fake, check_mode=False, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == 4 and result["waited"] == 4.0 and result["missing"] == []
    # Nothing was removed before dockerd's rules were all back.
    assert fake.changing == UNBRIDGE_COMMANDS
    assert all(c[0].endswith("-save") for c in fake.commands[:restored_at[0]])
    assert pb.present({t: pb.parse_save(fake.families["iptables"].save(t))[t] for t in pb.TABLES}).chains == []


def test_unbridge_removes_the_bridge_after_the_timeout_and_says_what_dockerd_lacks() -> None:
    tables = docker_tables()
    fake = FakeIptables(tables)
    pb.make_bridge(fake, check_mode=False)
    _docker_restarting(tables)  # and dockerd never comes back
    clock = Clock()
    fake.reset()
    result = pb.remove_bridge(fake, check_mode=False, timeout=5, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == 5 and fake.changing == UNBRIDGE_COMMANDS
    assert result["changed"] is True
    assert result["missing"] == ["ipv4 nat DNAT tcp *:8080 -> 172.17.0.2:80", "ipv4 nat PREROUTING jump to DOCKER",
                                 "ipv4 nat OUTPUT jump to DOCKER", "ipv4 filter ACCEPT tcp -> 172.17.0.2:80",
                                 "ipv4 filter jump to DOCKER"]
    assert result["warnings"] == [result["msg"]] and "within 5 s" in result["msg"]


def test_a_leftover_bridge_is_replaced_by_a_new_one_and_removed_by_the_next_cleanup() -> None:
    # An interrupted run left a bridge to a container's old address; web runs at .3 now.
    tables = docker_tables()
    fake = FakeIptables(tables)
    pb.make_bridge(fake, check_mode=False)
    for table in ("nat", "filter"):
        tables.tables[table]["DOCKER"] = [tuple(w.replace("172.17.0.2", "172.17.0.3") for w in rule)
                                          for rule in tables.tables[table]["DOCKER"]]
    fake.reset()
    result = pb.make_bridge(fake, check_mode=False)
    assert result["changed"] is True and result["mappings"] == ["ipv4 tcp *:8080 -> 172.17.0.3:80"]
    removed = len(UNBRIDGE_COMMANDS)
    assert fake.changing[:removed] == UNBRIDGE_COMMANDS
    assert fake.changing[removed:] == [[w.replace("172.17.0.2", "172.17.0.3") for w in c] for c in BRIDGE_COMMANDS]
    # The next run's cleanup: a stale bridge whose rules dockerd will never hold goes after the timeout.
    for table in ("nat", "filter"):
        tables.tables[table]["DOCKPROV-BRIDGE"] = [tuple(w.replace("172.17.0.3", "172.17.0.9") for w in rule)
                                                   for rule in tables.tables[table]["DOCKPROV-BRIDGE"]]
    clock = Clock()
    fake.reset()
    cleanup = pb.remove_bridge(fake, check_mode=False, timeout=2, sleep=clock.sleep, clock=clock)
    assert cleanup["changed"] is True and fake.changing == UNBRIDGE_COMMANDS
    assert cleanup["missing"] == ["ipv4 nat DNAT tcp *:8080 -> 172.17.0.9:80",
                                  "ipv4 filter ACCEPT tcp -> 172.17.0.9:80"]
    assert "DOCKPROV" not in fake.families["iptables"].save("nat") + fake.families["iptables"].save("filter")


def test_a_half_bridge_from_an_interrupted_removal_is_removed_too() -> None:
    # Killed between deleting the jumps and the chains: only the chains are left.
    tables = docker_tables()
    fake = FakeIptables(tables)
    pb.make_bridge(fake, check_mode=False)
    tables.tables["nat"]["PREROUTING"].pop(0)
    tables.tables["nat"]["OUTPUT"].pop(0)
    tables.tables["filter"]["FORWARD"].pop(0)
    tables.tables["nat"]["DOCKPROV-BRIDGE"] = []
    fake.reset()
    result = pb.remove_bridge(fake, check_mode=False)
    assert fake.changing == [c for c in UNBRIDGE_COMMANDS if c[5] != "-D"]
    assert result["changed"] is True and result["missing"] == []


def test_a_failed_install_leaves_nothing_of_the_bridge() -> None:
    tables = docker_tables()
    original = (tables.save("nat"), tables.save("filter"))
    fake = FakeIptables(tables)
    fake.fail_on = ["-I", "OUTPUT"]  # the filter side is made, and nat's chain, then this fails
    with pytest.raises(ModuleError, match="could not be made, nothing of it is left: iptables -w 30 -t nat -I OUTPUT"):
        pb.make_bridge(fake, check_mode=False)
    assert (tables.save("nat"), tables.save("filter")) == original


def test_no_filter_side_without_dockers_accept_rules_and_no_docker_user_jump_without_its_chain() -> None:
    fake = FakeIptables(FakeTables(DOCKER_NAT, "", NAT_CHAINS, []))
    pb.make_bridge(fake, check_mode=False)
    assert [c for c in fake.changing if c[4] == "filter"] == []
    filt = DOCKER_FILTER.replace("-A FORWARD -j DOCKER-USER\n", "").replace("-A DOCKER-USER -j RETURN\n", "")
    fake = FakeIptables(FakeTables(DOCKER_NAT, filt, NAT_CHAINS, [c for c in FILTER_CHAINS if c != "DOCKER-USER"]))
    pb.make_bridge(fake, check_mode=False)
    assert [c[5:] for c in fake.changing if c[4] == "filter"][:2] == [
        ["-N", "DOCKPROV-BRIDGE"], ["-A", "DOCKPROV-BRIDGE", "-o", "docker0", "-m", "conntrack", "--ctstate",
                                    "RELATED,ESTABLISHED", "-j", "ACCEPT"]]


def test_ipv6_is_bridged_where_docker_has_dnat_rules_there() -> None:
    nat6 = ("-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
            "-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER\n"
            "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80")
    fake = FakeIptables(docker_tables(), FakeTables(nat6, "", ["DOCKER"], []))
    result = pb.make_bridge(fake, check_mode=False)
    assert result["mappings"] == ["ipv4 tcp *:8080 -> 172.17.0.2:80", "ipv6 tcp *:8080 -> [fd00::2]:80"]
    v6 = [c for c in fake.changing if c[0] == "ip6tables"]
    assert v6[-1] == ["ip6tables", "-w", "30", "-t", "nat", "-I", "PREROUTING", "1", "-m", "addrtype", "--dst-type",
                      "LOCAL", "-j", "DOCKPROV-BRIDGE"]
    assert ["ip6tables", "-w", "30", "-t", "nat", "-I", "OUTPUT", "1", "!", "-d", "::1/128", "-m", "addrtype",
            "--dst-type", "LOCAL", "-j", "DOCKPROV-BRIDGE"] in v6
    fake.reset()
    pb.remove_bridge(fake, check_mode=False)
    assert [c for c in fake.changing if c[0] == "ip6tables"][-1][5:] == ["-X", "DOCKPROV-BRIDGE"]
    assert "DOCKPROV" not in fake.families["ip6tables"].save("nat")


def test_a_host_bound_mapping_with_a_quoted_comment_round_trips() -> None:
    nat = DOCKER_NAT + ('-A DOCKER -d 10.0.0.5/32 ! -i docker0 -p udp -m udp --dport 53 -m comment --comment '
                        '"dns port" -j DNAT --to-destination 172.17.0.3:53\n')
    tables = FakeTables(nat, DOCKER_FILTER, NAT_CHAINS, FILTER_CHAINS)
    fake = FakeIptables(tables)
    result = pb.make_bridge(fake, check_mode=False)
    assert result["mappings"][1] == "ipv4 udp 10.0.0.5:53 -> 172.17.0.3:53"
    assert [*IPT, "-t", "nat", "-A", "DOCKPROV-BRIDGE", "-d", "10.0.0.5/32", "!", "-i", "docker0", "-p", "udp", "-m",
            "udp", "--dport", "53", "-m", "comment", "--comment", "dns port", "-j", "DNAT", "--to-destination",
            "172.17.0.3:53"] in fake.changing
    assert pb.make_bridge(fake, check_mode=False)["changed"] is False
    assert pb.remove_bridge(fake, check_mode=False)["missing"] == []


def test_engine_upgrade_run_has_the_two_states(tmp_path: Path) -> None:
    fake = FakeIptables(docker_tables())
    params = {"state": "bridged", "path": str(tmp_path / "record.json")}
    made = run(params, command=fake)
    assert made["changed"] is True and made["path"] == params["path"] and "record" not in made
    assert not (tmp_path / "record.json").exists()
    removed = run({**params, "state": "unbridged", "bridge_timeout": 0}, command=fake)
    assert removed["changed"] is True and removed["missing"] == []
    assert run({**params, "state": "unbridged"}, command=fake)["changed"] is False
