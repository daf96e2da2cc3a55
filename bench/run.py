"""`make bench`: the roles against the tutorial's shell script, on fresh lab hosts, as ratios.

Each round starts three identical fresh hosts (same image, same options): `bench-script` runs the
tutorial's steps (bench/tutorial.sh), `bench-docker` gets playbooks/docker.yml (the script's scope) and
`bench-site` the whole site.yml, each a first converge and then a no-op run that must report changed=0; then
the floor under any run, one ansible.builtin.ping (bench/floor.yml) to bench-site.
Every figure is a ratio to the script's time in the same round: these machines differ in speed, and other
work on them changes from minute to minute. Then the fleet series: 1, 4 and 8 fresh hosts converged by one
docker.yml run, first run and no-op, as ratios to the one-host run.

Prints every round, the medians and the targets; writes everything to .cache/bench.json (git-ignored), with
each run's controller CPU and how busy the machine's cores were meanwhile (the fleet's limit on 2 cores).
Knobs: BENCH_ROUNDS (3), BENCH_FLEET ("1,4,8", "" for none), BENCH_KIND (deb12), BENCH_JSON (the file),
BENCH_MITOGEN=1 (runs the playbooks under Mitogen's strategy, which must be installed: the evaluation).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockprov.lab import fleet

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = str(ROOT / ".venv/bin/ansible-playbook")
TARGETS = {  # issue 14
    "docker_first": 1.10,  # x the script, in every round
    "docker_noop": 0.10,   # x the script
    "site_noop": 0.20,     # x the script
    "fleet8_first": 2.5,   # x one host
    "fleet8_noop": 1.5,    # x one host
}


class RunFailed(SystemExit):
    pass


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_busy() -> float:
    """CPU seconds all cores of this machine spent busy so far (/proc/stat: everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `cmd`; its wall time, the CPU it and its children used on this machine, and its recap.

    `busy` is the share of the machine's cores that were busy meanwhile (the lab hosts' work included): near
    1.0, the run was bound by these cores, not by waiting."""
    cpu0, busy0, start = _children_cpu(), _machine_busy(), time.monotonic()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
    wall, cpu = time.monotonic() - start, _children_cpu() - cpu0
    busy = (_machine_busy() - busy0) / wall / (os.cpu_count() or 1)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-6000:])
        raise RunFailed(f"bench: {' '.join(cmd[:1] + cmd[-1:])} failed with exit code {done.returncode}")
    recap = re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", done.stdout, re.M)
    changed = {m.group(1): int(m.group(2)) for m in recap}
    return {"wall": wall, "cpu": cpu, "busy": round(busy, 2), "changed": changed}


def fresh(names: list[str], kind: fleet.HostKind) -> None:
    """Identical fresh hosts: removed (with their inner /var/lib/docker volume) and started again."""
    for name in names:
        fleet.remove_host(name)
        fleet.start_host(kind, name)
    for name in names:  # systemd must have finished booting, as Molecule's create waits for
        subprocess.run(["docker", "exec", name, "sh", "-c",
                        "command -v systemctl >/dev/null || exit 0; systemctl is-system-running --wait || true"],
                       check=True, capture_output=True)


def remove(names: list[str]) -> None:
    for name in names:
        fleet.remove_host(name)


def inventory(names: list[str]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="bench-inv-", delete=False) as inv:
        inv.write("docker_hosts:\n  children:\n    servers:\n      hosts:\n")
        inv.writelines(f"        {name}:\n" for name in names)
    return inv.name


def ansible_env() -> tuple[dict[str, str], list[str]]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "PATH": f"{ROOT / '.venv/bin'}:{os.environ.get('PATH', '')}"}
    extra: list[str] = []
    if os.environ.get("BENCH_MITOGEN") == "1":
        import ansible_mitogen  # only for the evaluation: pip install mitogen

        env["ANSIBLE_STRATEGY_PLUGINS"] = str(Path(ansible_mitogen.__file__).parent / "plugins/strategy")
        env["ANSIBLE_STRATEGY"] = "mitogen_linear"
        # Mitogen takes over connections by their short names only.
        extra = ["-e", "ansible_connection=docker"]
    return env, extra


def playbook(play: str, hosts: list[str], inv: str) -> dict[str, object]:
    env, extra = ansible_env()
    cmd = [PLAYBOOK, "-i", str(ROOT / "inventory/lab"), "-i", inv, "--limit", ",".join(hosts), *extra,
           str(ROOT / play)]
    return timed(cmd, env=env)


def noop_checked(run: dict[str, object], what: str) -> dict[str, object]:
    changed = run["changed"]
    if any(changed.values()):  # type: ignore[union-attr]
        raise RunFailed(f"bench: the {what} no-op run changed something: {changed}")
    return run


def one_round(kind: fleet.HostKind) -> dict[str, dict[str, object]]:
    script, docker, site = "bench-script", "bench-docker", "bench-site"
    names = [script, docker, site]
    inv = inventory([docker, site])
    try:
        fresh(names, kind)
        subprocess.run(["docker", "cp", str(ROOT / "bench/tutorial.sh"), f"{script}:/root/tutorial.sh"], check=True)
        runs = {"script": timed(["docker", "exec", script, "sh", "/root/tutorial.sh"])}
        runs["docker_first"] = playbook("playbooks/docker.yml", [docker], inv)
        runs["docker_noop"] = noop_checked(playbook("playbooks/docker.yml", [docker], inv), "docker.yml")
        runs["site_first"] = playbook("site.yml", [site], inv)
        runs["site_noop"] = noop_checked(playbook("site.yml", [site], inv), "site.yml")
        # The floor: ansible-playbook itself and one module round trip, on the same host.
        runs["floor"] = playbook("bench/floor.yml", [site], inv)
        return runs
    finally:
        remove(names)
        os.unlink(inv)


def fleet_series(kind: fleet.HostKind, sizes: list[int]) -> dict[int, dict[str, dict[str, object]]]:
    out: dict[int, dict[str, dict[str, object]]] = {}
    for size in sizes:
        names = [f"bench-fleet-{i}" for i in range(1, size + 1)]
        inv = inventory(names)
        try:
            fresh(names, kind)
            first = playbook("playbooks/docker.yml", names, inv)
            noop = noop_checked(playbook("playbooks/docker.yml", names, inv), f"{size}-host docker.yml")
            out[size] = {"first": first, "noop": noop}
        finally:
            remove(names)
            os.unlink(inv)
        print(f"fleet of {size}: first {first['wall']:.1f} s (cores {first['busy']:.0%} busy), "
              f"no-op {noop['wall']:.1f} s (cores {noop['busy']:.0%} busy)", flush=True)
    return out


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> int:
    kind = fleet.host_kind(os.environ.get("BENCH_KIND", "deb12"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    sizes = [int(s) for s in os.environ.get("BENCH_FLEET", "1,4,8").split(",") if s.strip()]
    out_file = Path(os.environ.get("BENCH_JSON", ROOT / ".cache/bench.json"))
    started = datetime.datetime.now(datetime.UTC)
    mitogen = os.environ.get("BENCH_MITOGEN") == "1"
    print(f"bench {started:%Y-%m-%d %H:%M} UTC: {rounds} round(s), fresh {kind.name} hosts, {os.cpu_count()} cores, "
          f"load {' '.join(map(str, _load()))}{', Mitogen' if mitogen else ''}", flush=True)

    keys = ("docker_first", "docker_noop", "site_first", "site_noop", "floor")
    results = []
    for n in range(rounds):
        runs = one_round(kind)
        ratios = {k: runs[k]["wall"] / runs["script"]["wall"] for k in keys}  # type: ignore[operator]
        results.append({"runs": runs, "ratios": ratios, "load": _load()})
        print(f"round {n + 1}: script {runs['script']['wall']:.1f} s | docker.yml first {ratios['docker_first']:.2f}x, "
              f"no-op {ratios['docker_noop']:.2f}x | site.yml first {ratios['site_first']:.2f}x, "
              f"no-op {ratios['site_noop']:.2f}x | one ping {ratios['floor']:.2f}x", flush=True)
    fleet_runs = fleet_series(kind, sizes)

    summary: dict[str, object] = {}
    if results:
        med = {k: statistics.median(r["ratios"][k] for r in results) for k in keys}
        worst_first = max(r["ratios"]["docker_first"] for r in results)
        summary.update({f"{k}_median": med[k] for k in keys}, docker_first_worst=worst_first,
                       script_median_s=statistics.median(r["runs"]["script"]["wall"] for r in results))
        print(f"ratios to the tutorial script on an identical fresh host (median of {rounds}; "
              f"script median {summary['script_median_s']:.1f} s here):")
        met = "met" if worst_first <= TARGETS["docker_first"] else "NOT met"
        print(f"  docker.yml first converge  {med['docker_first']:.2f}x  (worst round {worst_first:.2f}x; "
              f"target <= {TARGETS['docker_first']:.2f}x every round: {met})")
        print(f"  docker.yml no-op           {med['docker_noop']:.2f}x  (target <= {TARGETS['docker_noop']:.2f}x: "
              f"{'met' if med['docker_noop'] <= TARGETS['docker_noop'] else 'NOT met'}; changed=0)")
        print(f"  site.yml first converge    {med['site_first']:.2f}x")
        print(f"  site.yml no-op             {med['site_noop']:.2f}x  (target <= {TARGETS['site_noop']:.2f}x: "
              f"{'met' if med['site_noop'] <= TARGETS['site_noop'] else 'NOT met'}; changed=0)")
        print(f"  floor: one ping            {med['floor']:.2f}x  (ansible-playbook and one module round trip)")
    if 1 in fleet_runs:
        base = fleet_runs[1]
        print("fleet, one docker.yml run over N fresh hosts, ratio to the one-host run "
              f"(one host: first {base['first']['wall']:.1f} s, no-op {base['noop']['wall']:.1f} s):")
        for size, runs in fleet_runs.items():
            first = runs["first"]["wall"] / base["first"]["wall"]  # type: ignore[operator]
            noop = runs["noop"]["wall"] / base["noop"]["wall"]  # type: ignore[operator]
            summary[f"fleet{size}_first"], summary[f"fleet{size}_noop"] = first, noop
            target = ""
            if size == 8:
                met_first = "met" if first <= TARGETS["fleet8_first"] else "NOT met"
                met_noop = "met" if noop <= TARGETS["fleet8_noop"] else "NOT met"
                target = (f"  (targets <= {TARGETS['fleet8_first']}x: {met_first}"
                          f", <= {TARGETS['fleet8_noop']}x: {met_noop})")
            print(f"  {size} host(s): first {first:.2f}x, no-op {noop:.2f}x{target}")

    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps({
        "date": started.isoformat(timespec="seconds"), "kind": kind.name, "cores": os.cpu_count(),
        "mitogen": mitogen, "targets": TARGETS, "summary": summary, "rounds": results,
        "fleet": {str(k): v for k, v in fleet_runs.items()}, "load_end": _load(),
    }, indent=2) + "\n")
    print(f"figures: {out_file.relative_to(ROOT) if out_file.is_relative_to(ROOT) else out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
