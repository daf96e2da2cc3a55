"""The collection as users get it: `ansible-galaxy collection build` makes the artifact, installed into an
empty collections path it runs `dockprov.docker.site` from a playbook outside the repository against a fresh
lab host, and a second run changes nothing. The checkout's own collections/ link is kept out of the way
(another ansible.cfg, another working directory), so what runs is the installed copy.

LAB STAND-IN: see labhost.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import lab_up
import pytest
from labhost import BIN, PROJECT, LabHost, Run

pytestmark = lab_up.marks()

HOST = "dockprov-collection"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("collection")
    dist = root / "dist"
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist)],
                           cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    artifact = next(dist.glob("dockprov-docker-*.tar.gz"))
    # Galaxy is not reachable here: install offline; community.docker (its dependency) comes with the
    # `ansible` package in the venv.
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(root / "collections")}
    done = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps",
                           "-p", str(root / "collections"), str(artifact)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    copy = root / "collections/ansible_collections/dockprov/docker"
    manifest = json.loads((copy / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["name"] == "docker"
    # What build_ignore keeps out of the artifact.
    for left_out in ("dockprov", "molecule", "tests/lab", "bench", "collections", ".venv"):
        assert not (copy / left_out).exists(), left_out
    return root


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> LabHost:
    lab = LabHost(HOST, "deb12", tmp_path_factory.mktemp("collection-host")).up()
    yield lab
    lab.rm()


def _run(root: Path, host: LabHost, verbosity: str = "-v") -> Run:
    play = root / "project" / "site.yml"
    play.parent.mkdir(exist_ok=True)
    play.write_text("---\n- name: Everything dockprov does, from the installed collection\n"
                    "  ansible.builtin.import_playbook: dockprov.docker.site\n")
    (play.parent / "ansible.cfg").write_text(
        f"[defaults]\ncollections_path = {root / 'collections'}\ngathering = explicit\n"
        "interpreter_python = auto_silent\n[connection]\npipelining = true\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
           "PATH": f"{BIN}:{os.environ['PATH']}", "ANSIBLE_CONFIG": str(play.parent / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(host.inventory), str(play), verbosity],
                          cwd=play.parent, env=env, capture_output=True, text=True, timeout=1200)
    return Run(proc.returncode, proc.stdout + proc.stderr)


def test_installed_collection_converges_a_host_from_outside_the_repo(installed: Path, host: LabHost) -> None:
    first = _run(installed, host)
    assert first.rc == 0, first.out[-4000:]
    # The same settings resolve the collection to the installed copy, not to the checkout.
    doc = subprocess.run([str(BIN / "ansible-doc"), "-t", "module", "dockprov.docker.daemon_json"],
                         cwd=installed / "project", capture_output=True, text=True, timeout=120,
                         env={**{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
                              "ANSIBLE_CONFIG": str(installed / "project/ansible.cfg")})
    assert str(installed / "collections/ansible_collections/dockprov/docker/plugins") in doc.stdout, doc.stdout[:500]
    assert "Hello from Docker!" in host.sh("docker run --rm hello-world")
    second = _run(installed, host, "-vvv")
    assert second.rc == 0 and second.recap(HOST)["changed"] == 0, second.out[-4000:]
    # A no-op run costs round trips to the host only where something needs the host: the preflight's one read
    # (which also finds Docker's key and source as wanted) and the registry login the lab's variables ask for.
    # Each module call is one `docker exec` of the host's Python (pipelining).
    calls = [line for line in second.out.splitlines() if f"<{HOST}> EXEC" in line]
    assert len(calls) == 2, "\n".join(calls)
