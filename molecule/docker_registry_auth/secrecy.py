"""Does the registry password leak into Ansible's output at -vvv, or into any process's command line?

Run by verify.yml on the controller. It samples every process's command line (/proc/*/cmdline, what
`ps -eo args` shows) and the files in Ansible's temporary directories on the lab host (through `docker exec`)
and on the controller, in a tight loop, while
`ansible-playbook -vvv` runs secrecy_play.yml (a logout and a fresh login, so the password really travels),
then looks for the password, and for base64(user:password) as config.json stores it, in all of that.

A canary command line and a canary file on both sides prove the samplers see short-lived processes and files:
without it, an empty result could mean a broken sampler. The password is read from the lab's generated
group_vars and never printed or passed on a command line; the report is JSON with counts and verdicts.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

# Ansible's remote temporary directories (module payloads land there without pipelining), and /tmp.
HOST_DIRS = ["/root/.ansible/tmp", "/home/*/.ansible/tmp", "/tmp", "/var/tmp"]
# Its local temporary directories on the controller (one per run), not Molecule's state next to them.
CTL_TMP = str(Path.home() / ".ansible" / "tmp")

# Runs with `python3 -` (the code on stdin, so the sampler's own argv is short). It collects every distinct
# command line until the stop file exists (or the deadline), then prints them as JSON.
SAMPLER = r"""
import glob, json, os, sys, time
stop, deadline, patterns = sys.argv[1], time.monotonic() + float(sys.argv[2]), sys.argv[3:]
seen, files, rounds = set(), {}, 0
while not os.path.exists(stop) and time.monotonic() < deadline:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    raw = f.read()
            except OSError:
                continue
            if raw:
                seen.add(raw.replace(b"\0", b" ").decode(errors="replace").strip())
    for top in [d for p in patterns for d in glob.glob(p)]:
        for root, _, names in os.walk(top):
            for name in names:
                path = os.path.join(root, name)
                try:
                    if os.path.getsize(path) < 8 << 20:
                        with open(path, "rb") as f:
                            data = f.read().decode(errors="replace")
                        if path not in files or data != files[path][-1]:
                            files.setdefault(path, []).append(data)
                except OSError:
                    continue
    rounds += 1
    time.sleep(0.005)
print(json.dumps({"rounds": rounds, "cmdlines": sorted(seen), "files": files}))
"""

def start_sampler(prefix: list[str], stop: str, seconds: int, dirs: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen([*prefix, "python3", "-", stop, str(seconds), *dirs], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    proc.stdin.write(SAMPLER)
    proc.stdin.close()
    return proc


def finish(proc: subprocess.Popen) -> dict:
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=60)
    if proc.returncode != 0:
        raise SystemExit(f"sampler failed ({proc.returncode}): {err[-500:]}")
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True, help="the lab host container")
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--playbook", required=True)
    parser.add_argument("--vars-file", required=True, help="lab_generated_registry.yml")
    parser.add_argument("--max-seconds", type=int, default=600)
    parser.add_argument("--ansible-arg", action="append", default=[],
                        help="extra ansible-playbook argument; e.g. -e ansible_pipelining=false shows a leak")
    args = parser.parse_args()

    lab = yaml.safe_load(Path(args.vars_file).read_text())
    password = lab["dockprov_lab_registry_tls_password"]
    userpass = base64.b64encode(f"{lab['dockprov_lab_registry_tls_user']}:{password}".encode()).decode()
    secrets_ = {"password": password, "base64(user:password)": userpass}

    token = secrets.token_hex(4)
    host_stop, ctl_stop = f"/run/dockprov-sampler-stop-{token}", f"/tmp/dockprov-sampler-stop-{token}"
    # Files too: Ansible's temporary payload files on the host, and its local temporary files on the controller.
    host = start_sampler(["docker", "exec", "-i", args.host], host_stop, args.max_seconds, HOST_DIRS)
    ctl = start_sampler([], ctl_stop, args.max_seconds, [CTL_TMP + "/ansible-local-*"])
    time.sleep(1)

    canary = f"dockprov-canary-{secrets.token_hex(8)}"
    canaries = [subprocess.Popen(["docker", "exec", args.host, "sh", "-c", f"sleep 0.3; : {canary}"]),
                subprocess.Popen(["sh", "-c", f"sleep 0.3; : {canary}"])]
    for proc in canaries:
        proc.wait(timeout=30)
    # A canary file that lives 0.3 s, on both sides, where the samplers look.
    host_file = f"/root/.ansible/tmp/{canary}"
    subprocess.run(["docker", "exec", args.host, "sh", "-c",
                    f"mkdir -p /root/.ansible/tmp && echo {canary} > {host_file}; sleep 0.3; rm -f {host_file}"],
                   check=True)
    ctl_dir = Path(CTL_TMP) / f"ansible-local-{canary}"
    ctl_dir.mkdir(parents=True)
    (ctl_dir / "canary").write_text(canary)
    time.sleep(0.3)
    shutil.rmtree(ctl_dir)

    started = time.monotonic()
    run = subprocess.run(["ansible-playbook", "-vvv", "-i", args.inventory, *args.ansible_arg, args.playbook],
                         capture_output=True, text=True,
                         # Plain text: no colour codes between the output's characters.
                         env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"})
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr

    subprocess.run(["docker", "exec", args.host, "touch", host_stop], check=True)
    Path(ctl_stop).touch()
    host_seen, ctl_seen = finish(host), finish(ctl)
    subprocess.run(["docker", "exec", args.host, "rm", "-f", host_stop], check=False)
    Path(ctl_stop).unlink(missing_ok=True)

    recap = [line for line in output.splitlines() if args.host in line and "failed=" in line]
    leaks = [f"{name} in ansible-playbook -vvv output" for name, value in secrets_.items() if value in output]
    for side, seen in (("host", host_seen), ("controller", ctl_seen)):
        for name, value in secrets_.items():
            leaks += [f"{name} in a {side} command line" for line in seen["cmdlines"] if value in line][:1]
            leaks += [f"{name} in {side} file {path}" for path, versions in seen["files"].items()
                      if any(value in text for text in versions)]
    report = {
        "ansible_rc": run.returncode,
        "ansible_seconds": round(elapsed, 1),
        "output_lines": output.count("\n"),
        "recap": recap[-1].strip() if recap else None,
        "host_sampling_rounds": host_seen["rounds"],
        "host_distinct_cmdlines": len(host_seen["cmdlines"]),
        "controller_sampling_rounds": ctl_seen["rounds"],
        "controller_distinct_cmdlines": len(ctl_seen["cmdlines"]),
        "canary_seen_on_host": any(canary in line for line in host_seen["cmdlines"]),
        "canary_seen_on_controller": any(canary in line for line in ctl_seen["cmdlines"]),
        "host_temp_files_seen": len(host_seen["files"]),
        "controller_temp_files_seen": len(ctl_seen["files"]),
        "canary_file_seen_on_host": any(canary in t for v in host_seen["files"].values() for t in v),
        "canary_file_seen_on_controller": any(canary in t for v in ctl_seen["files"].values() for t in v),
        # Ansible's remote commands end in "&& sleep 0": proof the host sampler saw the run itself.
        "ansible_commands_seen_on_host": sum("sleep 0" in line for line in host_seen["cmdlines"]),
        "leaks": leaks,
    }
    if os.environ.get("SECRECY_DEBUG"):
        report["debug_host_files"] = sorted(host_seen["files"])
        report["debug_host_cmdlines"] = host_seen["cmdlines"][:60]
    print(json.dumps(report, indent=2))
    canaries_seen = all(report[k] for k in report if k.startswith("canary_"))
    ok = (run.returncode == 0 and not leaks and canaries_seen and report["recap"] is not None
          and " changed=0 " not in report["recap"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
