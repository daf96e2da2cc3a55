"""Faults injected for real on a lab host of this module's own, in order (each test builds on the host the
previous one left), and for each the outcome and that no file, image, container or volume was lost:

1. every apt mirror refuses connections: a clear error, nothing changed;
2. the run is killed while dpkg unpacks Docker's packages (a power cut, an OOM kill);
3. run again, with the first mirror refusing connections, the key URL down but an offline key given, and
   the dpkg lock held by another process for 70 s: the run finishes the interrupted dpkg job, waits for
   the lock, falls back to the second mirror and converges; hello-world greets;
4. dockerd refuses new settings: the previous daemon.json is restored and Docker runs again;
5. the registry mirror is down at smoke-test time: a clear error naming the mirror, nothing lost;
6. the disk is full when daemon.json is written: an error naming the file, the old file intact;
7. an unreachable host in the fleet: the others converge.

Each fails when its handling is removed (no fallback, no `dpkg --configure -a`, apt's default 60 s lock
wait, no rollback, no atomic write, ...). LAB STAND-IN: see labhost.py. "Refusing connections" is a
closed port on mirror.lab (:81), answered at once with a TCP reset.
"""

from __future__ import annotations

import re
import time

import lab_up
import pytest
import yaml
from labhost import PROJECT, LabHost

pytestmark = lab_up.marks()

HOST = "dockprov-fault"
REFUSING = "http://mirror.lab:81"
# Outlives apt's default 60 s lock wait, so the role's own lock_timeout is what lets the run through.
LOCK_SECONDS = 70


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> LabHost:
    # An unreachable member of the fleet: SSH to a closed port on loopback (refused at once).
    gone = {"dockprov-fault-gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9,
                                    "ansible_user": "root"}}
    lab = LabHost(HOST, "deb12", tmp_path_factory.mktemp("faults"), extra_hosts=gone).up()
    yield lab
    lab.rm()


def _lab_vars() -> dict:
    """What `dockprov lab up` generated (the mirror's key): read when a test runs, not at collection."""
    return yaml.safe_load((PROJECT / "inventory/lab/group_vars/all/lab_generated.yml").read_text())


def _task_result(out: str, task: str) -> str:
    """ok, changed, skipping or fatal: the first result line after the task's header."""
    match = re.search(rf"TASK \[[^\]]*{re.escape(task)}\][^\n]*\n(?:[^\n]*\n)*?(ok|changed|skipping|fatal): \[", out)
    return match.group(1) if match else "not run"


def _docker_objects(host: LabHost) -> str:
    return host.sh("docker ps -a --format '{{.Names}} {{.Image}}' | sort; "
                   "docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort; docker volume ls -q | sort")


def test_1_every_mirror_down_fails_clearly_and_changes_nothing(host: LabHost) -> None:
    before = host.snapshot()
    run = host.play("playbooks/docker.yml", {"docker_repo_mirrors": [REFUSING, "http://mirror.lab:82"]},
                    "--limit", HOST)
    assert run.rc != 0
    assert re.search(r"mirror\.lab:81.*mirror\.lab:82|mirror\.lab:82.*mirror\.lab:81", run.flat), run.out[-3000:]
    assert re.search(r"(?i)refused|unreachable|could not", run.flat), run.out[-3000:]
    assert host.snapshot() == before


def test_2_run_killed_while_dpkg_unpacks(host: LabHost) -> None:
    # A watcher inside the host kills dpkg -9 while it unpacks Docker's packages, at a moment its journal
    # (/var/lib/dpkg/updates) holds entries: what a power cut or an OOM kill leaves, and what apt then
    # refuses with "dpkg was interrupted, you must manually run 'dpkg --configure -a'".
    # (Only Docker's packages: the apt module first installs python3-apt on a fresh host.) The watcher freezes
    # that dpkg (SIGSTOP), kills it if its journal holds entries, else lets it run a moment and looks again.
    host.sh(r"""cat > /tmp/kill-dpkg.sh <<'EOF'
for i in $(seq 20000); do
  for p in /proc/[0-9]*; do
    case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in
      *dpkg*containerd.io*|*dpkg*docker-ce*)
        pid=${p#/proc/}
        kill -STOP "$pid" 2>/dev/null || continue
        if ls /var/lib/dpkg/updates/ 2>/dev/null | grep -q '^[0-9]'; then
          kill -9 "$pid"; kill -CONT "$pid" 2>/dev/null; echo "killed $pid" > /tmp/killed-dpkg; exit 0
        fi
        kill -CONT "$pid" 2>/dev/null;;
    esac
  done
  sleep 0.01
done
EOF""")
    host.sh("sh /tmp/kill-dpkg.sh", detach=True)
    run = host.play("playbooks/docker.yml", None, "--limit", HOST)
    assert "killed" in host.sh("cat /tmp/killed-dpkg"), "dpkg was never seen unpacking"
    assert run.rc != 0, run.out[-2000:]
    # The state a killed install leaves, which the next run must handle: packages left half-way (unpacked,
    # half-installed) or entries in dpkg's journal, on which apt refuses to go on ("dpkg was interrupted")
    # or cannot resolve the dependencies ("unmet dependencies ... apt --fix-broken install").
    left = host.sh("dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n' | grep -v '^ii ' || true; "
                   "ls /var/lib/dpkg/updates")
    assert left.strip(), "dpkg finished despite the kill"


def test_3_rerun_finishes_dpkg_waits_for_lock_falls_back_and_uses_the_offline_key(host: LabHost) -> None:
    # Another apt/dpkg user holds dpkg's frontend lock for a while (unattended-upgrades does this).
    # dpkg and apt lock with fcntl (POSIX record locks), so the holder must too (flock(1) would not block them).
    host.sh("python3 -c 'import fcntl, sys, time; f = open(\"/var/lib/dpkg/lock-frontend\", \"w\"); "
            f"fcntl.lockf(f, fcntl.LOCK_EX); time.sleep({LOCK_SECONDS})'", detach=True)
    time.sleep(1)
    started = time.monotonic()
    run = host.play("playbooks/docker.yml", {
        "docker_repo_mirrors": [REFUSING, "http://mirror.lab"],
        "docker_repo_key_urls": [f"{REFUSING}/linux/debian/gpg"],
        "docker_repo_key_content": _lab_vars()["dockprov_lab_mirror_key"],
    }, "--limit", HOST)
    took = time.monotonic() - started
    assert run.rc == 0, run.why()
    assert _task_result(run.out, "Finish an interrupted dpkg run") == "changed", run.why()
    assert _task_result(run.out, "Repair what the interrupted run left broken") in ("changed", "ok"), run.why()
    assert took >= LOCK_SECONDS - 5, f"the run did not wait for the lock ({took:.0f} s)"
    assert "URIs: http://mirror.lab/linux/debian" in host.sh("cat /etc/apt/sources.list.d/docker.sources")
    assert "1 mirror(s) skipped" in run.flat
    assert "Hello from Docker!" in host.sh("docker run --rm hello-world")
    assert not host.sh("dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n' | grep -v '^ii ' || true").strip()
    # A workload that must survive every later fault.
    host.sh("docker volume create keep-data >/dev/null; docker run -d --name keep --restart unless-stopped "
            "-v keep-data:/data nginx >/dev/null")


def test_4_dockerd_refusing_new_settings_is_rolled_back(host: LabHost) -> None:
    before_json = host.sh("cat /etc/docker/daemon.json")
    before_objects = _docker_objects(host)
    run = host.play("playbooks/docker.yml", {"docker_daemon_settings": {"storage-driver": "dockprov-no-such-driver"},
                                             "docker_daemon_validate": "builtin"}, "--limit", HOST)
    assert run.rc != 0
    assert "previous file was restored" in run.flat, run.out[-3000:]
    assert host.sh("cat /etc/docker/daemon.json") == before_json
    assert host.sh("docker info --format '{{.Driver}}'").strip() == "overlay2"
    assert _docker_objects(host) == before_objects


def test_5_registry_mirror_down_at_smoke_test(host: LabHost) -> None:
    before_objects = _docker_objects(host)
    host.sh("docker rmi hello-world >/dev/null 2>&1 || true")  # so the smoke test must pull it
    run = host.play("playbooks/docker.yml", {"docker_daemon_registry_mirrors": [REFUSING.replace("mirror", "registry")],
                                             "docker_engine_smoke_test_every_run": True}, "--limit", HOST)
    assert run.rc != 0
    assert re.search(r"Smoke test failed on dockprov-fault.*registry\.lab:81", run.flat), run.out[-3000:]
    assert "registry.lab:81" in host.sh("cat /etc/docker/daemon.json")  # as configured: nothing rolled back
    assert [line for line in _docker_objects(host).splitlines() if "hello" not in line] == [
        line for line in before_objects.splitlines() if "hello" not in line]
    back = host.play("playbooks/docker.yml", {"docker_engine_smoke_test_every_run": True}, "--limit", HOST)
    assert back.rc == 0, back.why()


def test_6_disk_full_when_daemon_json_is_written(host: LabHost) -> None:
    before_json = host.sh("cat /etc/docker/daemon.json")
    # A full file system under /etc/docker: a small tmpfs holding a copy of the directory, then filled up.
    host.sh("mkdir -p /tmp/etc-docker && cp -a /etc/docker/. /tmp/etc-docker/ && "
            "mount -t tmpfs -o size=64k tmpfs /etc/docker && cp -a /tmp/etc-docker/. /etc/docker/ && "
            "(dd if=/dev/zero of=/etc/docker/fill bs=4k 2>/dev/null || true)")
    try:
        listing = host.sh("ls -A /etc/docker")
        run = host.play("playbooks/docker.yml", {"docker_daemon_dns": ["192.0.2.53"]}, "--limit", HOST)
        assert run.rc != 0
        assert re.search(r"/etc/docker/daemon\.json.*(No space left|ENOSPC)", run.flat), run.why()
        assert host.sh("cat /etc/docker/daemon.json") == before_json
        # No temporary file or cut-short backup left behind.
        assert host.sh("ls -A /etc/docker") == listing
    finally:
        host.sh("umount /etc/docker", check=False)
    assert host.sh("cat /etc/docker/daemon.json") == before_json
    assert "keep" in host.sh("docker ps --format '{{.Names}}'")


def test_7_unreachable_host_in_the_fleet(host: LabHost) -> None:
    """dockprov-fault-gone is in the inventory but nothing answers it: the run reports it unreachable, and
    the reachable host still converges (site.yml's logins and CA trust are new to it here)."""
    run = host.play("site.yml")
    assert run.rc != 0
    assert run.recap("dockprov-fault-gone").get("unreachable") == 1, run.out[-2000:]
    recap = run.recap(HOST)
    assert recap["failed"] == 0 and recap["unreachable"] == 0, run.why()
    assert "registry-tls.lab" in host.sh("cat /root/.docker/config.json")
    assert "keep" in host.sh("docker ps --format '{{.Names}}'")


def test_faults_left_no_docker_object_lost(host: LabHost) -> None:
    assert "keep-data" in host.sh("docker volume ls -q")
    assert "keep" in host.sh("docker ps -a --format '{{.Names}}'")

