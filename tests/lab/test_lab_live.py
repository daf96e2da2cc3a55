"""The running lab, for real: apt on the lab hosts trusts mirror.lab, rejects a tampered copy, and
registry.lab serves library/hello-world.

Nothing here changes a lab host's own apt configuration: every apt call gets its own sources file, keyring,
lists and cache under a temporary directory (removed afterwards). The only container started is a throwaway
copy of the mirror, removed in a finally.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lab_up
import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent.parent
LAB_VARS = lab_up.LAB_VARS
NETWORK = "dockprov-lab"
MIRROR_IMAGE = "dockprov-lab/mirror"


pytestmark = lab_up.marks()


def sh(container: str, script: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", "-i", container, "sh", "-c", script],
                          capture_output=True, text=True, timeout=timeout)


def _require_running(container: str) -> None:
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", container],
                         capture_output=True, text=True).stdout.strip()
    if out != "true":
        pytest.skip(f"lab host {container} is not running")


@pytest.fixture(scope="module")
def lab_key() -> str:
    key = yaml.safe_load(LAB_VARS.read_text())["dockprov_lab_mirror_key"]
    assert key.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    return key


class TempApt:
    """apt-get/apt-cache on a lab host, confined to a temporary directory on that host."""

    def __init__(self, container: str, tmp: str, key: str) -> None:
        self.container, self.tmp = container, tmp
        write = subprocess.run(["docker", "exec", "-i", container, "sh", "-c", f"cat > {tmp}/lab.asc"],
                               input=key, text=True, capture_output=True)
        assert write.returncode == 0, write.stderr

    def options(self, sources: str) -> str:
        t = self.tmp
        opts = {
            "Dir::Etc::sourcelist": sources,
            "Dir::Etc::sourceparts": f"{t}/empty",
            "Dir::Etc::preferences": f"{t}/preferences",
            "Dir::Etc::preferencesparts": f"{t}/empty",
            "Dir::State::Lists": f"{t}/lists",
            "Dir::Cache": f"{t}/cache",
        }
        return " ".join(f"-o {shlex.quote(f'{k}={v}')}" for k, v in opts.items())

    def add_source(self, name: str, uri: str, suite: str) -> str:
        path = f"{self.tmp}/{name}.sources"
        text = (f"Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: stable\n"
                f"Signed-By: {self.tmp}/lab.asc\n")
        proc = sh(self.container, f"cat > {path} <<'EOF'\n{text}EOF\n")
        assert proc.returncode == 0, proc.stderr
        return path

    def run(self, tool: str, sources: str, *args: str) -> subprocess.CompletedProcess:
        # a fresh lists directory per update: nothing cached from an earlier run can hide a failure
        reset = f"rm -rf {self.tmp}/lists && mkdir -p {self.tmp}/lists/partial && " if args == ("update",) else ""
        return sh(self.container, f"{reset}{tool} {self.options(sources)} {' '.join(map(shlex.quote, args))}")


@contextmanager
def temp_apt(container: str, key: str) -> Iterator[TempApt]:
    _require_running(container)
    made = sh(container, "d=$(mktemp -d /tmp/dockprov-test-apt.XXXXXX) && chmod 755 $d && "
                         "mkdir -p $d/empty $d/cache && echo $d")
    assert made.returncode == 0, made.stderr
    tmp = made.stdout.strip()
    try:
        yield TempApt(container, tmp, key)
    finally:
        sh(container, f"rm -rf {shlex.quote(tmp)}")


def _mirror_versions(madison: str, uri: str) -> list[str]:
    versions = []
    for line in madison.splitlines():
        package, version, source = (part.strip() for part in line.split("|"))
        if package == "docker-ce" and source.startswith(uri + " "):
            versions.append(version)
    return versions


@pytest.mark.parametrize(
    ("container", "uri", "suite", "suffix"),
    [
        ("dockprov-deb12", "http://mirror.lab/linux/debian", "bookworm", "~debian.12~bookworm"),
        ("dockprov-deb13", "http://mirror.lab/linux/debian", "trixie", "~debian.13~trixie"),
        ("dockprov-ubuntu2404", "http://mirror.lab/linux/ubuntu", "noble", "~ubuntu.24.04~noble"),
        # the China mirrors' layout: same tree under /docker-ce/
        ("dockprov-deb12", "http://mirror.lab/docker-ce/linux/debian", "bookworm", "~debian.12~bookworm"),
    ],
    ids=["deb12-bookworm", "deb13-trixie", "ubuntu2404-noble", "deb12-china-layout"],
)
def test_apt_trusts_mirror_and_sees_two_docker_ce_versions(lab_key, container, uri, suite, suffix):
    with temp_apt(container, lab_key) as apt:
        sources = apt.add_source("mirror", uri, suite)
        update = apt.run("apt-get", sources, "update")
        assert update.returncode == 0, update.stdout + update.stderr
        assert f"{uri} {suite} InRelease" in update.stdout
        assert "W:" not in update.stderr and "E:" not in update.stderr, update.stderr

        madison = apt.run("apt-cache", sources, "madison", "docker-ce")
        assert madison.returncode == 0, madison.stderr
        versions = _mirror_versions(madison.stdout, uri)
        assert sorted(versions) == [f"5:20.10.24-1{suffix}", f"5:26.1.5-1{suffix}"], madison.stdout

        policy = apt.run("apt-cache", sources, "policy", "docker-ce")
        assert policy.returncode == 0, policy.stderr
        assert f"{uri} {suite}/stable" in policy.stdout
        for version in versions:
            assert version in policy.stdout

        # and the other four packages are there too, two versions each
        for package in ("docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"):
            out = apt.run("apt-cache", sources, "madison", package).stdout
            assert len([line for line in out.splitlines() if uri in line]) == 2, (package, out)


def test_mirror_serves_the_lab_key(lab_key):
    _require_running("dockprov-deb12")
    for distro in ("debian", "ubuntu"):
        proc = sh("dockprov-deb12", "python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request"
                                    f".urlopen(\"http://mirror.lab/linux/{distro}/gpg\", timeout=10).read().decode())'")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == lab_key.strip()


@contextmanager
def throwaway_mirror() -> Iterator[tuple[str, str]]:
    name = f"dockprov-test-mirror-{uuid.uuid4().hex[:8]}"
    alias = f"mirror-tampered-{name.rsplit('-', 1)[1]}.lab"
    run = subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--network", NETWORK,
                          "--network-alias", alias, MIRROR_IMAGE], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    try:
        deadline = time.monotonic() + 20
        probe = "python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1/\", timeout=2)'"
        while sh(name, probe).returncode != 0:
            assert time.monotonic() < deadline, f"{name} does not serve http"
            time.sleep(0.2)
        yield name, alias
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_tampered_mirror_is_rejected(lab_key):
    _require_running("dockprov-deb12")
    with throwaway_mirror() as (name, alias), temp_apt("dockprov-deb12", lab_key) as apt:
        uri = f"http://{alias}/linux/debian"
        sources = apt.add_source("tampered", uri, "bookworm")
        # control: the untouched copy is trusted, so what fails below fails because of the edit
        before = apt.run("apt-get", sources, "update")
        assert before.returncode == 0, before.stdout + before.stderr

        dist = "/srv/mirror/linux/debian/dists/bookworm"
        edit = sh(name, f"sed -i 's/^Label: Docker CE$/Label: Docker EE/' {dist}/Release {dist}/InRelease && "
                        f"grep -c '^Label: Docker EE$' {dist}/Release {dist}/InRelease")
        assert edit.returncode == 0 and edit.stdout.split() == [f"{dist}/Release:1", f"{dist}/InRelease:1"], edit

        after = apt.run("apt-get", sources, "update")
        out = after.stdout + after.stderr
        assert after.returncode != 0, out
        assert "BADSIG" in out, out
        assert f"The repository '{uri} bookworm InRelease' is not signed" in out, out
        # nothing from the tampered copy reached the package lists
        assert "docker-ce" not in apt.run("apt-cache", sources, "madison", "docker-ce").stdout


def test_registry_serves_hello_world():
    status = subprocess.run([sys.executable, "-m", "dockprov.cli", "lab", "status", "--json"],
                            capture_output=True, text=True, cwd=PROJECT, timeout=60)
    assert status.returncode == 0, status.stderr
    registry = json.loads(status.stdout)["registry"]
    assert registry and registry.startswith("127.0.0.1:"), registry
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog", timeout=10) as response:  # noqa: S310 (loopback)
        catalog = json.load(response)
    assert "library/hello-world" in catalog["repositories"]
    with urllib.request.urlopen(f"http://{registry}/v2/library/hello-world/tags/list", timeout=10) as response:  # noqa: S310
        assert "latest" in json.load(response)["tags"]
