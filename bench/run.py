"""`make bench`: site.yml against the tutorial's shell script, each on a fresh lab host.

Prints: the script's time to "hello-world via mirror", site.yml's first run, its no-op second run, and
the ratio. Targets (README): first run <= 1.15x the script, no-op run a few seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockprov.lab import fleet

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], **kwargs) -> float:
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.monotonic() - start


def main() -> int:
    kind = fleet.host_kind(os.environ.get("BENCH_KIND", "deb12"))
    script_host, role_host = "bench-script", "bench-roles"
    try:
        for name in (script_host, role_host):
            fleet.remove_host(name)
            fleet.start_host(kind, name)
        time.sleep(3)  # let PID 1 settle on both
        script_src = str(ROOT / "bench/tutorial.sh")
        subprocess.run(["docker", "cp", script_src, f"{script_host}:/root/tutorial.sh"], check=True)
        script = timed(["docker", "exec", script_host, "sh", "/root/tutorial.sh"])
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as inv:
            inv.write(f"docker_hosts:\n  children:\n    servers:\n      hosts:\n        {role_host}:\n")
        play = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(ROOT / "inventory/lab"), "-i", inv.name,
                "--limit", role_host, str(ROOT / "site.yml")]
        env = {**os.environ, "ANSIBLE_CALLBACKS_ENABLED": ""}
        first = timed(play, cwd=ROOT, env=env)
        noop = timed(play, cwd=ROOT, env=env)
        os.unlink(inv.name)
    finally:
        for name in (script_host, role_host):
            fleet.remove_host(name)
    print(f"tutorial script, fresh {kind.name} host: {script:6.1f} s")
    print(f"site.yml first run, fresh host:    {first:6.1f} s  ({first / script:.2f}x the script; target <= 1.15x)")
    print(f"site.yml no-op second run:         {noop:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
