"""`make bench`: playbooks/docker.yml (and site.yml) against the tutorial's shell script, each on a fresh lab host.

Prints: the script's time to "hello-world via mirror", site.yml's first run, its no-op second run, and
the ratio. Targets (README): first run <= 1.15x the script, no-op run a few seconds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockprov.lab import fleet

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], **kwargs) -> float:
    start = time.monotonic()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:])
        raise SystemExit(f"bench: {cmd[0]} failed with exit code {done.returncode}")
    return time.monotonic() - start


def settle(host: str) -> None:
    """Wait for systemd in the fresh host to finish booting, as Molecule's create does."""
    subprocess.run(["docker", "exec", host, "sh", "-c",
                    "command -v systemctl >/dev/null || exit 0; systemctl is-system-running --wait || true"],
                   check=True, capture_output=True)


def one_round(kind: fleet.HostKind, inv: str) -> dict[str, float]:
    """Fresh hosts for the script and the roles; every timing of one round."""
    script_host, role_host = "bench-script", "bench-roles"
    try:
        for name in (script_host, role_host):
            fleet.remove_host(name)
            fleet.start_host(kind, name)
        for name in (script_host, role_host):
            settle(name)
        subprocess.run(["docker", "cp", str(ROOT / "bench/tutorial.sh"), f"{script_host}:/root/tutorial.sh"],
                       check=True)
        times = {"script": timed(["docker", "exec", script_host, "sh", "/root/tutorial.sh"])}
        # The script's scope (repo, engine, daemon.json, hello-world) is playbooks/docker.yml; site.yml adds
        # the GPU play (nothing here) and the lab's registry login, timed as a no-op run too.
        base = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(ROOT / "inventory/lab"), "-i", inv,
                "--limit", role_host]
        times["first"] = timed([*base, str(ROOT / "playbooks/docker.yml")], cwd=ROOT)
        times["noop"] = timed([*base, str(ROOT / "playbooks/docker.yml")], cwd=ROOT)
        timed([*base, str(ROOT / "site.yml")], cwd=ROOT)
        times["site_noop"] = timed([*base, str(ROOT / "site.yml")], cwd=ROOT)
        return times
    finally:
        for name in (script_host, role_host):
            fleet.remove_host(name)


def main() -> int:
    kind = fleet.host_kind(os.environ.get("BENCH_KIND", "deb12"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as inv:
        inv.write("docker_hosts:\n  children:\n    servers:\n      hosts:\n        bench-roles:\n")
    try:
        results = []
        for n in range(rounds):
            results.append(one_round(kind, inv.name))
            r = results[-1]
            print(f"round {n + 1}: script {r['script']:.1f} s, docker.yml {r['first']:.1f} s "
                  f"({r['first'] / r['script']:.2f}x), no-op {r['noop']:.1f} s, site.yml no-op {r['site_noop']:.1f} s",
                  flush=True)
    finally:
        os.unlink(inv.name)
    med = {key: statistics.median(r[key] for r in results) for key in results[0]}
    print(f"median of {rounds} round(s), fresh {kind.name} hosts:")
    print(f"  tutorial script:                {med['script']:6.1f} s")
    print(f"  docker.yml first run:           {med['first']:6.1f} s  "
          f"({med['first'] / med['script']:.2f}x the script; target <= 1.15x)")
    print(f"  docker.yml no-op second run:    {med['noop']:6.1f} s")
    print(f"  site.yml no-op run (all plays): {med['site_noop']:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
