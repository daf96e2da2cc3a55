"""Rolling engine upgrades (playbooks/upgrade.yml, role docker_upgrade) on lab hosts of this module's own, in order:

0. with an upgrade pending (revision 1 installed), `--check --diff` on the first host shows the daemon.json
   (live-restore) and record diffs and changes nothing: package, daemon.json, record, containers, dockerd,
   iptables (no port bridge);
1. four hosts on docker-ce 26.1.5 lab revision 1, each running a published web container that two loops on the
   host keep asking over HTTP; a health gate made to fail on the second host stops the rollout there: hosts
   three and four are not touched; the same playbook rolls the second host back;
2. the rolling upgrade to revision 2, one host at a time: every container is the very same process (StartedAt
   and PID), dockerd was restarted into the new package, a port bridge an interrupted run left on the fourth
   host is removed, no port bridge is left anywhere, a second run changes nothing;
3. the loops saw the service throughout: through every dockerd restart of tests 1 and 2 (three on the second
   host) not one request failed, on a kept-open connection nor on a new connection per request (the port
   bridge carried Docker's DNAT rules while dockerd re-created its chains);
4. 20.10 to 26.1 (another release line): refused without docker_upgrade_allow_drain, the host unchanged;
   with it, the host is drained and its containers run again, volumes kept.

LAB STAND-IN: revision 2 is the same Debian build of dockerd 26.1.5 repacked under a new revision, served from
mirror.lab/upgrade (dockprov/lab/repack.py): `docker version` says 26.1.5 before and after; the package version
and a new dockerd process show the upgrade. The hosts are lab containers (labhost.py).
"""

from __future__ import annotations

import json
import re
import subprocess

import lab_up
import pytest
import yaml
from labhost import BIN, SNAPSHOT, LabHost, Run

pytestmark = lab_up.marks()

FLEET = ["dockprov-up1", "dockprov-up2", "dockprov-up3", "dockprov-up4"]
MAJOR = "dockprov-upmajor"
MIRROR = ["http://mirror.lab/upgrade"]
REV1 = "5:26.1.5-1~debian.12~bookworm"
REV2 = "5:26.1.5-2~debian.12~bookworm"
OLD_LINE = "5:20.10.24-1~debian.12~bookworm"
RECORD = "/var/lib/dockprov/engine-upgrade.json"

# On each host, two clients of the published port (the host's own address, so through Docker's NAT as traffic
# from elsewhere is): one opens a new connection per request, the other keeps one HTTP/1.1 connection open, as
# a load balancer's upstream pool does. Each writes its failures, with a timestamp, and its counts.
LOOP = r"""
import http.client, socket, sys, time
ip = socket.gethostbyname(socket.gethostname())
keep, out = sys.argv[1] == "keep", open(sys.argv[2], "a", buffering=1)
ok = fail = 0
conn = None
while not __import__("os").path.exists("/root/loop.stop"):
    try:
        if conn is None or not keep:
            conn = http.client.HTTPConnection(ip, 8080, timeout=3)
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        ok += response.status == 200
        if not keep:
            conn.close()
    except Exception as exc:
        fail += 1
        conn = None
        out.write(f"{time.time():.3f} FAIL {exc}\n")
    time.sleep(0.2 if keep else 0.05)
out.write(f"DONE ok={ok} fail={fail}\n")
"""


def _start_host(name: str) -> None:
    up = subprocess.run([str(BIN / "dockprov"), "lab", "host", "up", name, "--kind", "deb12"],
                        capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, up.stderr


def _sh(name: str, script: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", "exec", name, "sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert not check or proc.returncode == 0, f"{name}: {script}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _state(name: str) -> dict:
    """What the tests compare: docker-ce's version, dockerd's PID, web's StartedAt and PID, the record."""
    record = _sh(name, f"cat {RECORD} 2>/dev/null || true").strip()
    return {"version": _sh(name, "dpkg-query -W -f '${Version}' docker-ce"),
            "dockerd": _sh(name, "cat /var/run/docker.pid").strip(),
            "web": _sh(name, "docker inspect -f '{{.State.StartedAt}} {{.State.Pid}} {{.State.Running}}' web").strip(),
            "record": json.loads(record) if record else None}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> LabHost:
    """Four hosts on 26.1.5 revision 1 with a web container and the HTTP loops, and one on 20.10 (MAJOR)."""
    root = tmp_path_factory.mktemp("upgrade")
    pinned = {"docker_repo_mirrors": MIRROR, "docker_engine_version": REV1}
    hosts = {name: dict(pinned) for name in FLEET[1:]}
    hosts[MAJOR] = {"docker_repo_mirrors": MIRROR, "docker_engine_version": OLD_LINE}
    lab = LabHost(FLEET[0], "deb12", root, extra_hosts=hosts)
    # LabHost writes the first host with no variables: give it the same pin.
    inventory = yaml.safe_load(lab.inventory.read_text())
    inventory["docker_hosts"]["children"]["servers"]["hosts"][FLEET[0]] = dict(pinned)
    lab.inventory.write_text(yaml.safe_dump(inventory))
    for name in FLEET + [MAJOR]:
        _start_host(name)
    for name in FLEET + [MAJOR]:
        _sh(name, "for i in $(seq 90); do systemctl is-system-running --wait >/dev/null 2>&1 && exit 0; sleep 1; done",
            check=False)
    first = lab.play("playbooks/docker.yml")
    assert first.rc == 0, first.why()
    for name in FLEET + [MAJOR]:
        _sh(name, "docker run -d --name web -p 8080:80 --restart unless-stopped nginx >/dev/null 2>&1")
    for name in FLEET:
        _sh(name, f"cat > /root/loop.py <<'EOF'\n{LOOP}\nEOF\n"
                  "(python3 /root/loop.py new /root/loop-new.log >/dev/null 2>&1 &);"
                  "(python3 /root/loop.py keep /root/loop-keep.log >/dev/null 2>&1 &)")
    yield lab
    for name in FLEET + [MAJOR]:
        subprocess.run([str(BIN / "dockprov"), "lab", "host", "rm", name], capture_output=True, text=True)


@pytest.fixture(scope="module")
def before(fleet: LabHost) -> dict:
    states = {name: _state(name) for name in FLEET}
    for name, state in states.items():
        assert state["version"] == REV1 and state["web"].endswith(" true"), (name, state)
        assert state["record"] is None
    return states


def _bridge(name: str) -> str:
    """The port bridge's chains and jumps on a host, as iptables-save prints them ("" where there is none)."""
    return _sh(name, "{ iptables-save; ip6tables-save; } 2>/dev/null | grep DOCKPROV-BRIDGE || true")


def _changed(run: Run, task: str, host: str) -> bool:
    """The task reported a change on the host (its header, profile_tasks' time line, the host's result)."""
    return re.search(rf"{re.escape(task)}\] \**\n(?:.*\d:\d\d:\d\d.*\n)?changed: \[{host}\]", run.out) is not None


def _untouched(name: str) -> dict:
    """What a check run must leave as it is: _state (docker-ce's version, dockerd's PID, web, the record's
    content), daemon.json, whether the record exists, every running container's StartedAt and PID, and the
    snapshot of everything dockprov manages."""
    return {**_state(name), "daemon.json": _sh(name, "cat /etc/docker/daemon.json"), "iptables": _bridge(name),
            "record exists": _sh(name, f"test -e {RECORD} && echo yes || echo no").strip(),
            "containers": _sh(name, "docker ps -q | xargs -r docker inspect -f "
                                    "'{{.Name}} {{.State.StartedAt}} {{.State.Pid}}' | sort"),
            "snapshot": _sh(name, SNAPSHOT)}


def test_0_check_mode_previews_the_upgrade_and_changes_nothing(fleet: LabHost, before: dict) -> None:
    # An upgrade is pending (revision 1 installed, revision 2 the newest 26.1.5): --check --diff shows what a real
    # run would change (live-restore merged into daemon.json first, the record, the packages) and changes nothing.
    name = FLEET[0]
    untouched = _untouched(name)
    assert untouched["version"] == REV1 and untouched["record"] is None and untouched["record exists"] == "no"
    assert "live-restore" not in untouched["daemon.json"]
    assert "web " in untouched["containers"]
    run = fleet.play("playbooks/upgrade.yml", {"docker_upgrade_version": "26.1.5"}, "--limit", name,
                     "--check", "--diff")
    assert run.rc == 0, run.why()
    assert run.recap(name)["failed"] == 0 and run.recap(name)["changed"] > 0, run.out[-3000:]
    # The diff of daemon.json (live-restore added) and of the record a real run would write.
    assert re.search(r"^--- before: /etc/docker/daemon\.json\n\+\+\+ after: /etc/docker/daemon\.json\n"
                     r"(?:.*\n){0,3}\+\s*\"live-restore\": true,?$", run.out, re.M), run.out[-6000:]
    assert f"+++ after: {RECORD}" in run.out
    assert re.search(r"The following packages will be upgraded: docker-ce docker-ce-cli", run.flat), run.flat[-3000:]
    assert (f"{name}: docker-ce {REV1} -> {REV2} (live, 1 container(s) kept running; check mode: nothing was "
            "changed, the gate did not run)") in run.flat, run.flat[-3000:]
    after = _untouched(name)
    for key, value in untouched.items():
        assert after[key] == value, f"{name}: {key} changed in check mode:\n{value}\n->\n{after[key]}"
    assert _state(name) == before[name]
    assert after["iptables"] == "", after["iptables"]


def test_1_a_failed_health_gate_stops_the_rollout_there(fleet: LabHost, before: dict) -> None:
    # The second host's gate asks a URL nothing answers: its upgrade runs, its gate fails, the rollout stops.
    bad = {"docker_upgrade_version": "26.1.5", "docker_upgrade_health_retries": 2, "docker_upgrade_health_delay": 1}
    inventory = yaml.safe_load(fleet.inventory.read_text())
    inventory["docker_hosts"]["children"]["servers"]["hosts"][FLEET[1]]["docker_upgrade_health_urls"] = [
        "http://127.0.0.1:8081/"]
    fleet.inventory.write_text(yaml.safe_dump(inventory))
    try:
        run = fleet.play("playbooks/upgrade.yml", bad, "--limit", ",".join(FLEET))
    finally:
        del inventory["docker_hosts"]["children"]["servers"]["hosts"][FLEET[1]]["docker_upgrade_health_urls"]
        fleet.inventory.write_text(yaml.safe_dump(inventory))
    assert run.rc != 0, run.out[-3000:]
    assert re.search(r"rolling upgrade stopped at dockprov-up2 .*http://127\.0\.0\.1:8081/", run.flat), run.why()
    assert "docker_upgrade_rollback=true" in run.flat
    after = {name: _state(name) for name in FLEET}
    assert after[FLEET[0]]["version"] == REV2 and after[FLEET[0]]["record"]["phase"] == "done"
    assert after[FLEET[1]]["version"] == REV2 and after[FLEET[1]]["record"]["phase"] != "done"
    for name in FLEET[2:]:  # not touched: same package, same dockerd, no record
        assert after[name] == before[name], name
    # The same playbook rolls the second host back; its container stays the very same process.
    back = fleet.play("playbooks/upgrade.yml", {"docker_upgrade_rollback": True}, "--limit", FLEET[1])
    assert back.rc == 0, back.why()
    rolled = _state(FLEET[1])
    assert rolled["version"] == REV1 and rolled["web"] == before[FLEET[1]]["web"]
    assert rolled["dockerd"] != before[FLEET[1]]["dockerd"]


def test_2_rolling_upgrade_keeps_every_container_running(fleet: LabHost, before: dict) -> None:
    # A run killed between bridging the ports and removing the bridge left one on the fourth host.
    leftover = fleet.root / "leftover-bridge.yml"
    leftover.write_text(yaml.safe_dump([{"name": "A port bridge an interrupted run left", "hosts": FLEET[3],
                                         "gather_facts": False,
                                         "tasks": [{"name": "Bridge", "dockprov.docker.engine_upgrade":
                                                    {"state": "bridged"}}]}]))
    made = fleet.play(str(leftover))
    assert made.rc == 0 and made.recap(FLEET[3])["changed"] == 1, made.why()
    assert "-A DOCKPROV-BRIDGE ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT" in _bridge(FLEET[3])
    run = fleet.play("playbooks/upgrade.yml", {"docker_upgrade_version": "26.1.5"}, "--limit", ",".join(FLEET))
    assert run.rc == 0, run.why()
    assert run.out.count("PLAY [Rolling Docker Engine upgrade]") == len(FLEET)  # one batch per host
    # The leftover went first; each upgraded host's ports were bridged through its restart, and unbridged.
    assert _changed(run, "Remove a port bridge an interrupted run left", FLEET[3]), run.out[-5000:]
    for name in FLEET[1:]:
        for task in ("Bridge the published ports through the engine restart",
                     "Remove the port bridge once dockerd holds the port mappings again"):
            assert _changed(run, task, name), (name, task, run.out[-5000:])
    for name in FLEET:
        assert _bridge(name) == "", f"{name}: a port bridge is left:\n{_bridge(name)}"
    after = {name: _state(name) for name in FLEET}
    for name in FLEET:
        state = after[name]
        assert state["version"] == REV2, name
        assert state["web"] == before[name]["web"], f"{name}: web restarted: {before[name]['web']} -> {state['web']}"
        assert state["dockerd"] != before[name]["dockerd"], f"{name}: dockerd was not restarted into the new engine"
        assert state["record"]["mode"] == "live" and state["record"]["phase"] == "done"
        assert _sh(name, "docker info --format '{{.LiveRestoreEnabled}}'").strip() == "true"
    # One host at a time: each host's upgrade finished before the next one's started (seconds, as recorded).
    order = [after[name]["record"] for name in FLEET[1:]]  # up1 finished in test 1
    for first, second in zip(order, order[1:], strict=False):
        assert first["finished"] <= second["started"], (first, second)
    again = fleet.play("playbooks/upgrade.yml", {"docker_upgrade_version": "26.1.5"}, "--limit", ",".join(FLEET))
    assert again.rc == 0, again.why()
    for name in FLEET:
        assert again.recap(name)["changed"] == 0, name


def test_3_the_loops_saw_the_service_throughout(fleet: LabHost) -> None:
    """Not one request failed through the dockerd restarts of tests 1 and 2 (three on the second host: upgrade,
    rollback, upgrade; one or two elsewhere): on a kept-open connection (conntrack keeps its translation), nor
    on a new connection per request to the host's address: dockerd 26.1 re-creates its NAT chains when it
    starts and re-adds the DNAT rule of the live-restored container only after that, and meanwhile the port
    bridge's copy of it (chain DOCKPROV-BRIDGE, jumped to first from PREROUTING and OUTPUT) took the new
    connections. No bridge is left on any host."""
    report = {}
    for name in FLEET:
        _sh(name, "touch /root/loop.stop; sleep 1")
        keep = _sh(name, "cat /root/loop-keep.log")
        new = _sh(name, "cat /root/loop-new.log")
        assert "DONE" in keep and "DONE" in new, (keep, new)
        report[name] = {loop: re.search(r"DONE (ok=\d+ fail=\d+)$", log.strip()).group(1)
                        for loop, log in (("keep-alive", keep), ("new connections", new))}
        assert re.search(r"DONE ok=[1-9]\d* fail=0$", keep.strip()), f"{name}: a kept-open connection failed:\n{keep}"
        assert re.search(r"DONE ok=[1-9]\d* fail=0$", new.strip()), f"{name}: a new connection failed:\n{new}"
        assert _bridge(name) == "", f"{name}: a port bridge is left:\n{_bridge(name)}"
    print(f"requests per loop and host: {report}")


def test_4_another_release_line_needs_a_drain(fleet: LabHost) -> None:
    _sh(MAJOR, "docker volume create keep >/dev/null && docker run -d --name idle -v keep:/data nginx >/dev/null")
    snapshot_before = _sh(MAJOR, SNAPSHOT)
    web_before = _state(MAJOR)["web"]
    refused = fleet.play("playbooks/upgrade.yml", {"docker_upgrade_version": "26.1.5"}, "--limit", MAJOR)
    assert refused.rc != 0
    assert re.search(r"changes the Docker release line.*Nothing was changed.*docker_upgrade_allow_drain: true",
                     refused.flat), refused.why()
    assert _sh(MAJOR, SNAPSHOT) == snapshot_before
    # A failed install after the drain (dpkg's lock held by another process, from the drain hook): the run
    # stops, and the drained containers run again on the old engine; nothing is lost.
    hook = fleet.root / "hold-dpkg-lock.yml"
    hook.write_text(yaml.safe_dump([{
        "name": "Another dpkg user takes the lock for a while (a fault for the test)",
        # dpkg and apt lock with fcntl; the hook returns once the holder has the lock (it says so in a file).
        "ansible.builtin.shell": "rm -f /run/dockprov-test-locked; nohup python3 -c 'import fcntl, time; "
                                 "f = open(\"/var/lib/dpkg/lock-frontend\", \"w\"); fcntl.lockf(f, fcntl.LOCK_EX); "
                                 "open(\"/run/dockprov-test-locked\", \"w\").close(); time.sleep(25)' "
                                 ">/dev/null 2>&1 & for i in $(seq 100); do "
                                 "[ -e /run/dockprov-test-locked ] && exit 0; sleep 0.1; done; exit 1",
        "changed_when": True}]))
    failed = fleet.play("playbooks/upgrade.yml",
                        {"docker_upgrade_version": "26.1.5", "docker_upgrade_allow_drain": True,
                         "docker_upgrade_drain_before_tasks": str(hook), "docker_engine_apt_lock_timeout": 3},
                        "--limit", MAJOR)
    assert failed.rc != 0
    assert re.search(r"rolling upgrade stopped at dockprov-upmajor .*lock.*The drained containers run again",
                     failed.flat), failed.why()
    assert _state(MAJOR)["version"] == OLD_LINE
    for name in ("web", "idle"):
        assert _sh(MAJOR, f"docker inspect -f '{{{{.State.Running}}}}' {name}").strip() == "true", name
    drained = fleet.play("playbooks/upgrade.yml",
                         {"docker_upgrade_version": "26.1.5", "docker_upgrade_allow_drain": True}, "--limit", MAJOR)
    assert drained.rc == 0, drained.why()
    assert "(drain, 2 container(s) stopped and started again)" in drained.flat
    state = _state(MAJOR)
    assert state["version"] == REV2 and state["record"]["mode"] == "drain"
    assert state["web"].endswith(" true") and state["web"] != web_before  # started again, a new process
    assert _sh(MAJOR, "docker inspect -f '{{.State.Running}}' idle").strip() == "true"
    assert "keep" in _sh(MAJOR, "docker volume ls -q").split()
    again = fleet.play("playbooks/upgrade.yml", {"docker_upgrade_version": "26.1.5"}, "--limit", MAJOR)
    assert again.rc == 0 and again.recap(MAJOR)["changed"] == 0, again.why()
    assert _bridge(MAJOR) == ""  # a drain needs no port bridge, and made none
