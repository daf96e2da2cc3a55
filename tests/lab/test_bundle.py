"""Air-gapped installs from a bundle (`dockprov bundle`, docker_repo_bundle), on lab hosts of this module's own
that sit on a Docker network with no route anywhere (`--internal`): not to mirror.lab, registry.lab or Debian's
archive. The controller (this machine) reaches them through community.docker.docker, and they reach it on the
network's gateway address, where `dockprov bundle serve` listens.

1. the bundle is made from mirror.lab (Docker's repo stand-in, signed with the lab's key) and Debian's archive,
   with the lab's hello-world image;
2. copy delivery: a host converges from the bundle alone, the smoke test runs the bundled image, apt checked
   the signatures; the second run changes nothing;
3. serve delivery: a host converges from the controller's HTTP server, the second run changes nothing;
4. a tampered package (the tar and the manifest made to match, as an attacker would) is refused by apt, with
   nothing installed; the good bundle then converges the same host.

LAB STAND-IN: Docker's packages are the lab's repacks and its key is the lab's, not Docker's (dockprov/lab);
the distro part is Debian's real archive, signed with Debian's real keys.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import lab_up
import pytest
import yaml
from labhost import BIN, PROJECT, LabHost

from dockprov import bundle as bundle_mod

pytestmark = lab_up.marks()

NETWORK = "dockprov-airgap"
COPY_HOST = "dockprov-airgap1"
SERVE_HOST = "dockprov-airgap2"
TAMPER_HOST = "dockprov-airgap3"
IMAGE = "dockprov-lab/hello-world"
GREETING = "Hello from Docker!"


def _docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300)
    assert not check or proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def _isolate(host: LabHost) -> None:
    """Move a started lab host from the lab's network onto the internal one."""
    _docker("network", "disconnect", "dockprov-lab", host.name)
    _docker("network", "connect", NETWORK, host.name)


@pytest.fixture(scope="module")
def gateway() -> str:
    _docker("network", "rm", NETWORK, check=False)
    _docker("network", "create", "--internal", "--label", "dockprov.lab=1", NETWORK)
    yield _docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", NETWORK)
    _docker("network", "rm", NETWORK, check=False)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lab = yaml.safe_load((PROJECT / "inventory/lab/group_vars/all/lab_generated.yml").read_text())
    work = tmp_path_factory.mktemp("bundle")
    key = work / "lab.asc"
    key.write_text(lab["dockprov_lab_mirror_key"])
    mirror = _docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "dockprov-mirror")
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    out = work / "bundle"
    made = subprocess.run(
        [str(BIN / "dockprov"), "bundle", "create", "--target", f"debian/bookworm/{arch}",
         "--docker-mirror", f"http://{mirror}", "--key", str(key),
         "--fingerprint", lab["dockprov_lab_mirror_fingerprint"], "--image", IMAGE,
         # LAB STAND-IN toolkit (no GPU), signed with the same lab key
         "--nvidia-mirror", f"http://{mirror}/libnvidia-container", "--nvidia-key", str(key),
         "--nvidia-fingerprint", lab["dockprov_lab_mirror_fingerprint"], str(out)],
        capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stderr
    verified = subprocess.run([str(BIN / "dockprov"), "bundle", "verify", str(out)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return out


def _host(name: str, root: Path, host_vars: dict) -> LabHost:
    host = LabHost(name, "deb12", root)
    inventory = yaml.safe_load(host.inventory.read_text())
    inventory["docker_hosts"]["children"]["servers"]["hosts"][name] = host_vars
    host.inventory.write_text(yaml.safe_dump(inventory))
    host.up()
    _isolate(host)
    return host


def _no_route(host: LabHost) -> None:
    """The host reaches neither mirror.lab, registry.lab nor Debian's archive, by name or by address."""
    mirror = _docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "dockprov-mirror")
    probe = ("import socket, sys\n"
             "for target in sys.argv[1:]:\n"
             "    try:\n"
             "        socket.create_connection((target, 80), timeout=3).close(); print('REACHED', target)\n"
             "    except OSError as exc:\n"
             "        print('no route to', target, exc)\n")
    out = host.sh(f"python3 -c \"{probe}\" mirror.lab registry.lab deb.debian.org {mirror}")
    assert "REACHED" not in out, out


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory, gateway: str) -> Callable[[str, dict], LabHost]:
    """Start fresh lab hosts on the internal network (removed after the module's tests)."""
    made: list[LabHost] = []

    def make(name: str, host_vars: dict) -> LabHost:
        made.append(_host(name, tmp_path_factory.mktemp(name), {"docker_engine_smoke_test_image": IMAGE,
                                                                **host_vars}))
        return made[-1]

    yield make
    for host in made:
        host.rm()


@pytest.fixture(scope="module")
def copy_host(isolated: Callable[[str, dict], LabHost], bundle: Path) -> LabHost:
    # the NVIDIA role forced on (the lab has no GPU): its packages come from the bundle too
    host = isolated(COPY_HOST, {"docker_repo_bundle": str(bundle), "nvidia_container_toolkit_enabled": True})
    (host.root / "docker-gpu.yml").write_text(
        f"- import_playbook: {PROJECT}/playbooks/docker.yml\n- import_playbook: {PROJECT}/playbooks/gpu.yml\n")
    return host


def test_copy_delivery_converges_with_no_route_out(copy_host: LabHost) -> None:
    _no_route(copy_host)
    playbook = str(copy_host.root / "docker-gpu.yml")
    first = copy_host.play(playbook)
    assert first.rc == 0, first.why()
    assert f"{COPY_HOST}: Docker 5:26.1.5" in first.out and GREETING in first.out  # the smoke test's report
    assert GREETING in copy_host.sh(f"docker run --rm {IMAGE}")
    # apt took the packages from the bundle's trees, checked with Docker's (the lab's) and Debian's keys
    for package in ("docker-ce", "iptables", "nvidia-container-toolkit"):
        policy = copy_host.sh(f"apt-cache policy {package}")
        assert re.search(r"\*\*\* \S+ \d+\n\s+\d+ file:/var/lib/dockprov/bundle/debian-bookworm-", policy), policy
    assert "nvidia" in json.loads(copy_host.sh("cat /etc/docker/daemon.json"))["runtimes"]
    sources = copy_host.sh("cat /etc/apt/sources.list.d/docker.sources "
                           "/etc/apt/sources.list.d/dockprov-bundle-distro.sources")
    assert "Signed-By: /etc/apt/keyrings/docker.asc" in sources
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in sources
    assert "trusted" not in sources

    snapshot = copy_host.snapshot()
    second = copy_host.play(playbook)
    assert second.rc == 0, second.why()
    assert second.recap(COPY_HOST)["changed"] == 0, second.out[-3000:]
    assert copy_host.snapshot() == snapshot


def _tampered(bundle: Path, dest: Path) -> Path:
    """A copy of the bundle whose docker-ce package was altered, with the tar and manifest made to match: what
    is left to catch it is apt's check of the package against the signed index."""
    shutil.copytree(bundle, dest)
    manifest = json.loads((dest / bundle_mod.MANIFEST).read_text())
    (name, target), = manifest["targets"].items()
    tree = dest / name
    deb = next(tree.rglob("docker-ce_*26.1.5*.deb"))
    data = bytearray(deb.read_bytes())
    data[-100] ^= 0xFF
    deb.write_bytes(bytes(data))
    target["marker"] = bundle_mod._pack(tree, dest / target["tar"])
    target["tar_sha256"] = hashlib.sha256((dest / target["tar"]).read_bytes()).hexdigest()
    (dest / bundle_mod.MANIFEST).write_text(json.dumps(manifest))
    with tarfile.open(dest / target["tar"]) as tar:
        assert tar.getnames()[-1] == target["marker"]
    return dest


def test_serve_delivery_converges_from_the_controller(isolated: Callable[[str, dict], LabHost], bundle: Path,
                                                      gateway: str) -> None:
    serve_host = isolated(SERVE_HOST, {})
    _no_route(serve_host)
    server = subprocess.Popen([str(BIN / "dockprov"), "bundle", "serve", "--bind", gateway, "--port", "0",
                               str(bundle)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        url = re.search(r"http://\S+", line)
        assert url, line
        extra = {"docker_repo_bundle": str(bundle), "docker_repo_bundle_delivery": "serve",
                 "docker_repo_bundle_url": url.group(0)}
        run = serve_host.play("playbooks/docker.yml", extra)
        assert run.rc == 0, run.why()
        assert f"{SERVE_HOST}: Docker 5:26.1.5" in run.out and GREETING in run.out
        assert url.group(0) in serve_host.sh("apt-cache policy docker-ce")
        again = serve_host.play("playbooks/docker.yml", extra)
        assert again.rc == 0 and again.recap(SERVE_HOST)["changed"] == 0, again.out[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_tampered_package_is_refused(isolated: Callable[[str, dict], LabHost], bundle: Path,
                                       tmp_path: Path) -> None:
    tamper_host = isolated(TAMPER_HOST, {})
    bad = _tampered(bundle, tmp_path / "tampered")
    run = tamper_host.play("playbooks/docker.yml", {"docker_repo_bundle": str(bad)})
    assert run.rc != 0
    assert "Hash Sum mismatch" in run.out, run.why()
    assert "docker-ce" not in tamper_host.sh("dpkg-query -W -f '${Package} ${Status}\\n' | grep ' installed$' || true")
    # the bundle made again (here: the good one) and the same run converges the host
    fixed = tamper_host.play("playbooks/docker.yml", {"docker_repo_bundle": str(bundle)})
    assert fixed.rc == 0, fixed.why()
    assert GREETING in tamper_host.sh(f"docker run --rm {IMAGE}")
