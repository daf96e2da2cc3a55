"""Projects made by `dockprov init` converge real lab hosts with the collection installed from the artifact they
pin (`ansible-galaxy collection install --offline -r requirements.yml`, as a user does), and `dockprov plan` shows
a daemon.json drift as a diff that a reload applies. One project also runs the tutorial's workloads: the
WordPress compose stack, the CSV job's image build, and the job.

LAB STAND-IN: dockprov-deb12 is a container reached with community.docker.docker, mirror.lab stands in for
Docker's repo and registry.lab for a registry accelerator (see inventory/lab); registry.lab serves Debian-built
stand-ins under Docker Hub's names (library/wordpress, library/mariadb, library/python-pandas).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import lab_up
import pytest
import yaml

from dockprov.project import collection, presets

PROJECT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
HOST = "dockprov-deb12"
LAB_VARS = lab_up.LAB_VARS


pytestmark = lab_up.marks()


def _env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return {**env, "PATH": f"{BIN}:{env['PATH']}", "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1"}


def _dockprov(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "dockprov"), *args], capture_output=True, text=True, cwd=cwd, timeout=900,
                          env=_env(cwd or PROJECT))


def _exec(script: str, stdin: str | None = None, host: str = HOST, timeout: int = 120) -> str:
    proc = subprocess.run(["docker", "exec", "-i", host, "sh", "-c", script], input=stdin,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _install(project: Path) -> None:
    """The collection from the artifact the project pins, into the project's collections/ (no Galaxy here:
    --offline; community.docker and ansible.posix come with the `ansible` package)."""
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml"],
                          cwd=project, env=_env(project), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert collection.installed_matches(project) is True


def _host_running() -> None:
    running = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", HOST],
                             capture_output=True, text=True).stdout.strip()
    if running != "true":
        started = _dockprov("lab", "up", "--hosts", "deb12")
        assert started.returncode == 0, started.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _host_running()
    dest = tmp_path_factory.mktemp("lab-project") / "project"
    made = _dockprov("init", "--lab", "--lab-host", "deb12", str(dest))
    assert made.returncode == 0, made.stderr
    assert not (dest / "roles").exists() and (dest / "collections" / "dockprov-docker-0.2.0.tar.gz").is_file()
    _install(dest)
    checked = _dockprov("validate", ".", cwd=dest)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return dest


def test_generated_project_converges_and_then_changes_nothing(project: Path) -> None:
    first = _run(project, HOST)
    assert first["failed"] == 0 and first["unreachable"] == 0
    # What the project asked for is what the host runs: the lab mirror as apt source, the lab registry as
    # dockerd's mirror.
    assert "http://mirror.lab/linux/debian" in _exec("cat /etc/apt/sources.list.d/docker.sources")
    assert "http://registry.lab:5000" in _exec("docker info --format '{{json .RegistryConfig.Mirrors}}'")
    second = _run(project, HOST)
    assert second["changed"] == 0, second
    assert second["failed"] == 0


def test_plan_shows_daemon_json_diff_and_reload(project: Path) -> None:
    original = _exec("cat /etc/docker/daemon.json")
    drifted = '{\n  "registry-mirrors": ["http://old-mirror.lab:5000"]\n}\n'
    _exec("cat > /etc/docker/daemon.json", drifted)
    try:
        proc = _dockprov("plan", ".", cwd=project)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = proc.stdout
        assert f"== {HOST}" in out
        assert re.search(r"^\s+daemon\.json\s+registry-mirrors \(would change\)$", out, re.M), out
        assert re.search(r"^\s+apply\s+reload$", out, re.M), out
        # Host facts (published by the collection's preflight and host_facts) reach the table.
        assert re.search(r"^\s+packages\s+docker-ce \S+; all present, nothing to install$", out, re.M), out
        assert re.search(r"^\s+WSL patch\s+not needed \(systemd host\)$", out, re.M), out
        assert '-  "registry-mirrors": ["http://old-mirror.lab:5000"]' in out
        assert '+    "http://registry.lab:5000"' in out
        # check mode: the host still has the drifted file.
        assert _exec("cat /etc/docker/daemon.json") == drifted
    finally:
        _exec("cat > /etc/docker/daemon.json", original)
    assert _exec("cat /etc/docker/daemon.json") == original


FRESH = "dockprov-gen-deb12"  # this test's own host, started and removed here


def test_fleet_file_project_converges_a_fresh_host(tmp_path: Path) -> None:
    """The --fleet path end to end, on a host with no Docker at all: connection: docker, an offline key file."""
    generated = yaml.safe_load(LAB_VARS.read_text())
    (tmp_path / "lab-mirror.asc").write_text(generated["dockprov_lab_mirror_key"])
    fleet = {
        "version": 1,
        "name": "fresh",
        "defaults": {"connection": "docker", "user": "root", "become": False, "python": "/usr/bin/python3"},
        "repo": {"mirrors": ["http://mirror.lab"], "key_file": "lab-mirror.asc",
                 "key_fingerprints": [generated["dockprov_lab_mirror_fingerprint"]]},
        "daemon": {"registry_mirrors": ["http://registry.lab:5000"]},
        "hosts": {FRESH: {"groups": ["servers"]}},
    }
    (tmp_path / "fleet.yml").write_text(yaml.safe_dump(fleet))
    started = _dockprov("lab", "host", "up", FRESH, "--kind", "deb12")
    assert started.returncode == 0, started.stderr
    try:
        assert _dockprov("init", "--fleet", str(tmp_path / "fleet.yml"), str(tmp_path / "p")).returncode == 0
        project = tmp_path / "p"
        _install(project)
        first = _run(project, FRESH)
        assert first["changed"] > 0 and first["failed"] == 0
        out = subprocess.run(["docker", "exec", FRESH, "docker", "run", "--rm", "hello-world"],
                             capture_output=True, text=True, timeout=300).stdout
        assert "Hello from Docker!" in out
        second = _run(project, FRESH)
        assert second["changed"] == 0 and second["failed"] == 0, second
    finally:
        _dockprov("lab", "host", "rm", FRESH)


STACK_PORT = 8080
BUILD_IMAGE = "dockprov/csv-job"  # built on the host, never pushed


def _apps_fleet(tmp_path: Path) -> Path:
    """The lab fleet (dockprov-deb12 only) with the tutorial's workloads, as a user would write them: the
    WordPress stack with its password from the vault, the CSV job's image built from the role's template, and
    the job run on a data directory from the controller. LAB STAND-INS: MariaDB for mysql:5.7, Debian's
    python3-pandas image for python:3 plus pip install pandas."""
    data, key = presets.lab(["deb12"])
    (tmp_path / "lab-mirror.asc").write_text(key)
    data["repo"]["key_file"] = "lab-mirror.asc"
    data["name"] = "lab-apps"
    data["apps"] = {
        # The build's base, pulled first (docker_apps pulls images before it builds), as the tutorial pulls its
        # images: BuildKit then takes it from dockerd's image store. Left to BuildKit, FROM would go to the
        # registry mirror over https, since registry.lab (plain http) is no insecure registry here; and
        # BuildKit does not see an insecure-registries change that dockerd took with a reload.
        "images": [{"name": "python-pandas"}],
        "stacks": [{"name": "wordpress", "template": "compose/wordpress",
                    "vars": {"wordpress_port": STACK_PORT, "db_image": "mariadb"},
                    "secrets": {"db_password": "{{ vault_wordpress_db_password }}"}}],
        "builds": [{"name": "csv_job", "context": "build/csv_job", "image": BUILD_IMAGE, "tag": "0.1",
                    "vars": {"base_image": "python-pandas", "pip_packages": []}}],
        # A controller path in the project: inventory_dir is its inventory/ (playbook_dir is the collection's).
        "jobs": [{"name": "csv", "image": f"{BUILD_IMAGE}:0.1",
                  "data_dir": "{{ inventory_dir | dirname }}/data/tcdata"}],
    }
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _wordpress_installer() -> str:
    """install.php from inside the host, once WordPress reaches its database (MariaDB's first start is slower)."""
    script = f"""
import sys, time, urllib.request
for _ in range(90):
    try:
        page = urllib.request.urlopen("http://127.0.0.1:{STACK_PORT}/wp-admin/install.php", timeout=10).read().decode()
        if "Error establishing a database connection" not in page:
            print(page)
            sys.exit(0)
    except OSError:
        pass
    time.sleep(2)
sys.exit("WordPress's installer did not come up with its database")
"""
    return _exec("python3 -", script, timeout=300)


def _remove_apps() -> None:
    """Leave dockprov-deb12 as the other tests expect it: no stack (with its volumes), no job image."""
    subprocess.run(["docker", "exec", HOST, "sh", "-c",
                    "cd /opt/dockprov/stacks/wordpress 2>/dev/null && docker compose down -v; "
                    f"docker image rm -f {BUILD_IMAGE}:0.1; rm -rf /opt/dockprov"],
                   capture_output=True, text=True, timeout=300, check=False)


def test_project_with_wordpress_stack_and_csv_build(tmp_path: Path) -> None:
    _host_running()
    fleet_file = _apps_fleet(tmp_path)
    project = tmp_path / "apps"
    made = _dockprov("init", "--fleet", str(fleet_file), str(project))
    assert made.returncode == 0, made.stdout + made.stderr
    # The stack's and the build's templates come from the collection (roles/docker_apps/templates), not the project.
    assert not (project / "templates").exists() and not (project / "roles").exists()
    vault = project / "inventory/group_vars/all/vault.yml"
    assert "vault_wordpress_db_password: CHANGE_ME" in vault.read_text()
    password = secrets.token_urlsafe(18)
    vault.write_text(vault.read_text().replace("CHANGE_ME", password))  # a lab password: left unencrypted here
    numbers = [(i * 37) % 101 + 1 for i in range(120)]
    (project / "data/tcdata").mkdir(parents=True)
    (project / "data/tcdata/num_list.csv").write_text("".join(f"{n}\n" for n in numbers))
    _install(project)
    checked = _dockprov("validate", ".", cwd=project)
    assert checked.returncode == 0 and "0 error(s), 0 warning(s)" in checked.stdout, checked.stdout + checked.stderr
    try:
        first = _run(project, HOST)
        assert first["failed"] == 0 and first["changed"] > 0
        page = _wordpress_installer()
        assert "WordPress" in page and "Installation" in page, page[-2000:]
        # The build's image exists on the host, labelled with its context's checksum by docker_apps.
        labels = json.loads(_exec(f"docker image inspect -f '{{{{json .Config.Labels}}}}' {BUILD_IMAGE}:0.1"))
        assert "dockprov.context" in labels
        # The job ran on that image and its result came back to the controller.
        result = json.loads((project / "results" / HOST / "csv" / "result.json").read_text())
        assert result == {"Q1": "Hello world", "Q2": sum(numbers), "Q3": sorted(numbers, reverse=True)[:10]}
        assert password not in _exec("cat /opt/dockprov/stacks/wordpress/compose.yaml")
        second = _run(project, HOST)
        assert second["changed"] == 0 and second["failed"] == 0, second
    finally:
        _remove_apps()


def _run(project: Path, host: str) -> dict[str, int]:
    proc = subprocess.run([str(BIN / "ansible-playbook"), "site.yml"], cwd=project, env=_env(project),
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    recap = re.search(rf"^{host}\s*:\s*(.*)$", proc.stdout, re.M)
    assert recap, proc.stdout[-2000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap.group(1))}
