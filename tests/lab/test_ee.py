"""The execution environment, as AWX/AAP run it: built with ansible-builder from execution-environment.yml (base
image from the lab, collections from artifacts), then `ansible-runner run --process-isolation --container-image`
(what an AWX execution node does) converges lab hosts from inside it.

- Three slices of a fleet (one host each) run concurrently, each a runner job with an inventory holding only its
  slice's hosts (what AWX's job slicing hands each slice job): every host is converged by exactly one slice, a
  host in no slice is not touched at all, and a cross-host dependency across slices works: ee-deb12-1 (slice 1)
  builds and pushes an image that ee-deb13-1 (slice 2) declares `built_by: ee-deb12-1` and waits for.
- A second, unsliced run in the EE changes nothing.
- A slice without the building host, whose image is not in the registry, stops with a message naming that host;
  with the builder in the same run, a new image is pulled without waiting.

Inside the EE, hosts are reached with community.docker.docker_api through the machine's Docker socket, mounted
into the EE container: pure Python (requests, which the EE pins), no docker CLI in the image. LAB STAND-INS: the
hosts are lab containers; mirror.lab and registry.lab stand in for Docker's repo and a registry mirror; the EE's
base image is Debian 12 built here instead of AAP's ee-minimal-rhel9 (which cannot be pulled here).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import lab_up
import pytest
import yaml

from dockprov.lab import ee, fleet

PROJECT = Path(__file__).resolve().parent.parent.parent
STATE = PROJECT / ".lab"
BIN = Path(sys.executable).parent
SOCKET = "/var/run/docker.sock"
REGISTRY = "ee-registry"  # this test's own registry (registry.lab is shared and read-only)
BUILDER, PULLER = "ee-deb12-1", "ee-deb13-1"
# One host per slice (AWX puts host i in slice i mod 3): Debian 12, Debian 13 and the WSL stand-in (no systemd).
FLEET = {"ee-deb12-1": "deb12", "ee-deb13-1": "deb13", "ee-wsl-1": "wsl"}
IDLE = "ee-idle-1"  # started like the others, in no slice
SLICES = 3

pytestmark = [*lab_up.marks(), pytest.mark.skipif(not Path(SOCKET).exists(), reason=f"no {SOCKET}")]

# Paths where any change on the idle host would show that something ran there (docker diff against its image):
# everything but the logs and timers systemd itself writes.
QUIET = ("/var/log", "/var/lib/systemd", "/etc/machine-id", "/etc/mtab")


def _log(msg: str) -> None:
    print(f"[test_ee {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@pytest.fixture(scope="module")
def ee_image() -> str:
    started = time.monotonic()
    built = ee.build(PROJECT, STATE)
    _log(f"EE image {built['image']} (built: {built['built']}) in {time.monotonic() - started:.0f} s")
    return built["image"]


def _start(name: str, kind: str) -> None:
    fleet.remove_host(name)
    fleet.start_host(fleet.host_kind(kind), name)


def _wait_booted(name: str, kind: str) -> None:
    if kind == "wsl":
        return
    script = ("for i in $(seq 120); do s=$(systemctl is-system-running 2>/dev/null); "
              "case $s in running|degraded) exit 0;; esac; sleep 1; done; exit 1")
    subprocess.run(["docker", "exec", name, "sh", "-c", script], capture_output=True, timeout=200, check=False)


def _changes(name: str) -> set[str]:
    out = subprocess.run(["docker", "diff", name], capture_output=True, text=True, check=True).stdout
    paths = {line.split(" ", 1)[1] for line in out.splitlines() if line.startswith(("A ", "C ", "D "))}
    return {p for p in paths if not p.startswith(QUIET) and p not in ("/var", "/var/lib", "/etc")}


@pytest.fixture(scope="module")
def lab_fleet() -> dict[str, str]:
    started = time.monotonic()
    for name, kind in {**FLEET, IDLE: "deb12"}.items():
        _start(name, kind)
    subprocess.run(["docker", "rm", "-f", REGISTRY], capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", REGISTRY, "--hostname", REGISTRY, "--network", fleet.NETWORK,
                    "--label", "dockprov.lab=1", "dockprov-lab/registry"], check=True, capture_output=True)
    for name, kind in {**FLEET, IDLE: "deb12"}.items():
        _wait_booted(name, kind)
    _log(f"hosts up in {time.monotonic() - started:.0f} s")
    yield FLEET
    for name in [*FLEET, IDLE]:
        fleet.remove_host(name)
    subprocess.run(["docker", "rm", "-f", REGISTRY], capture_output=True)


def _private_data_dir(root: Path, hosts: list[str], host_vars: dict[str, dict]) -> Path:
    """An ansible-runner private data dir: project/ (site.yml importing the EE's installed dockprov.docker.site,
    ansible.cfg), inventory/ (these hosts only; the lab's group_vars with the docker_api connection)."""
    pdd = root
    (pdd / "project" / "templates" / "build" / "probe").mkdir(parents=True)
    (pdd / "project" / "site.yml").write_text(
        "---\n- name: Everything dockprov does, from the collection installed in the EE\n"
        "  ansible.builtin.import_playbook: dockprov.docker.site\n")
    (pdd / "project" / "apps.yml").write_text(
        "---\n- name: Workloads only\n  ansible.builtin.import_playbook: dockprov.docker.apps\n")
    (pdd / "project" / "ansible.cfg").write_text(
        "[defaults]\ngathering = explicit\ninterpreter_python = auto_silent\nforks = 10\n"
        "callback_result_format = yaml\n[connection]\npipelining = true\n")
    # The image ee-deb12-1 builds and ee-deb13-1 pulls: hello-world (from registry.lab, the hosts' mirror) + a label.
    (pdd / "project" / "templates" / "build" / "probe" / "Dockerfile").write_text(
        "FROM hello-world\nLABEL dockprov.test=ee-slices\n")
    group_vars = pdd / "inventory" / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    for path in sorted((PROJECT / "inventory/lab/group_vars/all").glob("*.yml")):
        if path.name != "connection.yml":
            shutil.copy(path, group_vars / path.name)
    (group_vars / "connection.yml").write_text(yaml.safe_dump({
        # The Docker API through the socket mounted into the EE: no docker CLI needed in the image.
        "ansible_connection": "community.docker.docker_api", "ansible_docker_docker_host": f"unix://{SOCKET}",
        "ansible_user": "root", "ansible_become": False, "ansible_python_interpreter": "/usr/bin/python3"}))
    groups: dict[str, dict] = {"servers": {"hosts": {}}, "wsl": {"hosts": {}}}
    for host in hosts:
        groups["wsl" if FLEET.get(host) == "wsl" else "servers"]["hosts"][host] = None
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump({"docker_hosts": {"children": groups}}))
    (pdd / "inventory" / "host_vars").mkdir()
    for host, data in host_vars.items():
        if host in hosts:
            (pdd / "inventory" / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(data))
    return pdd


def _runner(pdd: Path, image: str, playbook: str = "site.yml") -> tuple[subprocess.Popen, str]:
    ident = f"ee-{uuid.uuid4().hex[:8]}"
    cmd = [str(BIN / "ansible-runner"), "run", str(pdd), "-p", playbook, "--ident", ident,
           "--process-isolation", "--process-isolation-executable", "docker", "--container-image", image,
           "--container-volume-mount", f"{SOCKET}:{SOCKET}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    out = open(pdd / f"{ident}.out", "w")  # noqa: SIM115 (handed to the child, closed when it is reaped)
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, text=True), ident


def _stats(pdd: Path, ident: str) -> dict[str, dict[str, int]]:
    """Per host counts from the runner's playbook_on_stats event: {host: {ok, changed, failures, dark, ...}}."""
    for path in sorted(glob.glob(str(pdd / "artifacts" / ident / "job_events" / "*.json"))):
        event = json.loads(Path(path).read_text())
        if event.get("event") == "playbook_on_stats":
            data = event["event_data"]
            hosts = set(data.get("processed", {}))
            return {h: {k: int(data.get(k, {}).get(h, 0)) for k in ("ok", "changed", "failures", "dark", "skipped")}
                    for h in hosts}
    raise AssertionError(f"no playbook_on_stats in {ident}: {(pdd / f'{ident}.out').read_text()[-3000:]}")


def _wait(proc: subprocess.Popen, pdd: Path, ident: str, timeout: int = 1800) -> tuple[int, str]:
    rc = proc.wait(timeout=timeout)
    return rc, (pdd / f"{ident}.out").read_text()


@pytest.fixture(scope="module")
def tag() -> str:
    return f"run-{int(time.time())}"


def _cross_host_vars(tag: str) -> dict[str, dict]:
    insecure = {"docker_daemon_insecure_registries": [f"{REGISTRY}:5000"]}
    return {
        BUILDER: {**insecure, "docker_apps_templates_dir": "/runner/project/templates",
                  "docker_apps_builds": [{"name": "probe", "context": "build/probe", "tag": tag, "push": True,
                                          "image": f"{REGISTRY}:5000/ee/probe"}]},
        PULLER: {**insecure, "docker_apps_built_by_wait": 900,
                 "docker_apps_images": [{"name": f"{REGISTRY}:5000/ee/probe", "tag": tag, "built_by": BUILDER}]},
    }


def test_three_concurrent_slices_converge_each_host_once(ee_image: str, lab_fleet: dict[str, str], tag: str,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    idle_before = _changes(IDLE)
    hosts = sorted(lab_fleet)
    slices = [hosts[i::SLICES] for i in range(SLICES)]  # AWX's job slicing: host i goes to slice i mod N
    assert BUILDER in slices[0] and PULLER in slices[1], slices
    started = time.monotonic()
    jobs = []
    for number, members in enumerate(slices, 1):
        pdd = _private_data_dir(tmp_path_factory.mktemp(f"slice{number}"), members, _cross_host_vars(tag))
        proc, ident = _runner(pdd, ee_image)
        jobs.append((members, pdd, proc, ident))
    converged: dict[str, dict[str, int]] = {}
    for members, pdd, proc, ident in jobs:
        rc, out = _wait(proc, pdd, ident)
        assert rc == 0, out[-5000:]
        stats = _stats(pdd, ident)
        assert sorted(stats) == members, (members, stats)  # a slice job sees its own hosts, and only them
        for host, counts in stats.items():
            assert host not in converged, f"{host} converged by two slices"
            assert counts["failures"] == 0 and counts["dark"] == 0, (host, counts)
            assert counts["changed"] > 0, (host, counts)  # a fresh host: Docker installed by this slice
            converged[host] = counts
    waited = (jobs[1][1] / f"{jobs[1][3]}.out").read_text().count("RETRYING: [ee-deb13-1]: Pull images that other")
    _log(f"3 concurrent slices in {time.monotonic() - started:.0f} s: {converged}; the puller waited for the "
         f"builder's push {waited} x 5 s")
    assert sorted(converged) == hosts
    # Each host runs what the slice installed, and the puller has the image the builder (another slice) pushed.
    for host in hosts:
        version = subprocess.run(["docker", "exec", host, "docker", "version", "--format", "{{.Server.Version}}"],
                                 capture_output=True, text=True)
        assert version.returncode == 0 and version.stdout.strip(), (host, version.stderr)
    label = subprocess.run(["docker", "exec", PULLER, "docker", "image", "inspect", "-f",
                            "{{index .Config.Labels \"dockprov.test\"}}", f"{REGISTRY}:5000/ee/probe:{tag}"],
                           capture_output=True, text=True)
    assert label.stdout.strip() == "ee-slices", label.stderr
    # The host in no slice: nothing at all changed on it (no package, no file under /etc, /usr, /opt, /root).
    assert _changes(IDLE) == idle_before
    assert subprocess.run(["docker", "exec", IDLE, "sh", "-c", "command -v docker || test -e /etc/docker"],
                          capture_output=True).returncode != 0


def test_second_run_in_the_ee_changes_nothing(ee_image: str, lab_fleet: dict[str, str], tag: str,
                                              tmp_path: Path) -> None:
    idle_before = _changes(IDLE)
    pdd = _private_data_dir(tmp_path / "all", sorted(lab_fleet), _cross_host_vars(tag))
    started = time.monotonic()
    proc, ident = _runner(pdd, ee_image)
    rc, out = _wait(proc, pdd, ident)
    assert rc == 0, out[-5000:]
    stats = _stats(pdd, ident)
    _log(f"second run ({len(stats)} hosts, one job) in {time.monotonic() - started:.0f} s: {stats}")
    assert sorted(stats) == sorted(lab_fleet)
    for host, counts in stats.items():
        assert counts["changed"] == 0 and counts["failures"] == 0 and counts["dark"] == 0, (host, counts)
    assert _changes(IDLE) == idle_before


def test_slice_without_the_building_host_fails_clearly(ee_image: str, lab_fleet: dict[str, str],
                                                       tmp_path: Path) -> None:
    """A slice holding only the puller, for an image its builder never pushed: the run stops on that host, and
    the message names the image, the building host and what to do, instead of a bare registry error."""
    missing = f"{REGISTRY}:5000/ee/probe:never-built"
    host_vars = {PULLER: {"docker_daemon_insecure_registries": [f"{REGISTRY}:5000"],
                          "docker_apps_images": [{"name": f"{REGISTRY}:5000/ee/probe", "tag": "never-built",
                                                  "built_by": BUILDER}]}}
    pdd = _private_data_dir(tmp_path / "alone", [PULLER], host_vars)
    proc, ident = _runner(pdd, ee_image, "apps.yml")
    rc, out = _wait(proc, pdd, ident)
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert f"{missing} is built and pushed by {BUILDER} (built_by), and the registry does not have it" in flat, \
        out[-3000:]
    assert f"{BUILDER} is not in this run (an AWX/AAP job slice or --limit leaves it out)" in flat
    assert _stats(pdd, ident)[PULLER]["failures"] == 1


def test_builder_in_the_same_run_needs_no_wait(ee_image: str, lab_fleet: dict[str, str], tmp_path: Path) -> None:
    """Builder and puller in one run (one slice, or no slicing): builds run first on every host, so the puller
    pulls a brand-new tag without waiting (docker_apps_built_by_wait stays 0)."""
    tag = f"same-run-{int(time.time())}"
    host_vars = _cross_host_vars(tag)
    host_vars[PULLER].pop("docker_apps_built_by_wait")
    pdd = _private_data_dir(tmp_path / "both", [BUILDER, PULLER], host_vars)
    proc, ident = _runner(pdd, ee_image, "apps.yml")
    rc, out = _wait(proc, pdd, ident)
    assert rc == 0, out[-5000:]
    assert "RETRYING" not in out
    stats = _stats(pdd, ident)
    assert stats[BUILDER]["changed"] > 0 and stats[PULLER]["changed"] > 0, stats
    label = subprocess.run(["docker", "exec", PULLER, "docker", "image", "inspect", "-f",
                            "{{index .Config.Labels \"dockprov.test\"}}", f"{REGISTRY}:5000/ee/probe:{tag}"],
                           capture_output=True, text=True)
    assert label.stdout.strip() == "ee-slices", label.stderr
