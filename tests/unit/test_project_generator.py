"""The project generator: what it writes, and that the result passes ansible-lint and a syntax check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dockprov.project import fleet, generator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fleet.yml"
BIN = Path(sys.executable).parent


def generate(dest: Path, path: Path = EXAMPLE) -> dict[str, generator.File]:
    files = generator.render(fleet.load(path), "examples/fleet.yml")
    generator.apply(dest, generator.changes(dest, files))
    return files


def test_inventory_groups_and_connection_vars(tmp_path: Path) -> None:
    generate(tmp_path)
    inv = yaml.safe_load((tmp_path / "inventory" / "hosts.yml").read_text())["docker_hosts"]
    children = inv["children"]
    assert set(children["servers"]["hosts"]) == {"web1", "build1"}
    assert set(children["wsl"]["hosts"]) == {"laptop-alice"}
    assert set(children["gpu"]["hosts"]) == {"build1"}
    assert children["gpu"]["hosts"]["build1"] is None  # vars live with the host's base group only
    assert children["wsl"]["hosts"]["laptop-alice"] == {
        "ansible_host": "192.0.2.51", "ansible_port": 2222, "ansible_user": "alice"}
    assert children["servers"]["hosts"]["web1"] == {"ansible_host": "192.0.2.11"}  # user, port: defaults
    assert yaml.safe_load((tmp_path / "inventory/group_vars/all/connection.yml").read_text()) == {
        "ansible_port": 22, "ansible_user": "ubuntu"}
    # auto: directly in docker_hosts, with its own role variables
    assert inv["hosts"]["edge1"]["docker_engine_users"] == ["edgeops"]


def test_group_vars_use_the_roles_variable_names(tmp_path: Path) -> None:
    generate(tmp_path)
    docker = yaml.safe_load((tmp_path / "inventory/group_vars/all/docker.yml").read_text())
    assert docker["docker_repo_mirrors"] == ["ustc", "aliyun", "official"]
    assert docker["docker_engine_version"] == "26.1.5"
    assert docker["docker_engine_hold"] is True
    assert docker["docker_daemon_registry_mirrors"] == ["https://abc123.mirror.aliyuncs.com"]
    assert docker["docker_daemon_log_opts"] == {"max-size": "10m", "max-file": "3"}
    assert docker["docker_daemon_live_restore"] is True
    specs = {}
    for spec in (tmp_path / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            specs.update(entry.get("options") or {})
    assert set(docker) <= set(specs)


def test_secrets_go_to_the_vault_placeholder(tmp_path: Path) -> None:
    generate(tmp_path)
    vault = yaml.safe_load((tmp_path / "inventory/group_vars/all/vault.yml").read_text())
    assert vault == {"vault_registry_registry_cn_hangzhou_aliyuncs_com_password": "CHANGE_ME"}
    plain = (tmp_path / "inventory/group_vars/all/registries.yml").read_text()
    assert '"{{ vault_registry_registry_cn_hangzhou_aliyuncs_com_password }}"' in plain
    assert "CHANGE_ME" not in plain
    assert "ansible-vault encrypt" in (tmp_path / "inventory/group_vars/all/vault.yml").read_text()


def test_project_is_self_contained(tmp_path: Path) -> None:
    files = generate(tmp_path)
    cfg = (tmp_path / "ansible.cfg").read_text()
    for line in ("roles_path = roles", "library = library", "module_utils = module_utils",
                 "filter_plugins = filter_plugins", "inventory = inventory/hosts.yml"):
        assert line in cfg
    for role in ("docker_repo", "docker_daemon", "docker_engine", "docker_wsl"):
        assert (tmp_path / "roles" / role / "meta" / "argument_specs.yml").is_file()
        assert f"- role: {role}" in (tmp_path / "site.yml").read_text()
    assert (tmp_path / "library" / "docker_daemon_json.py").is_file()
    assert (tmp_path / "module_utils" / "dockprov_daemon_json.py").is_file()
    assert (tmp_path / "filter_plugins" / "dockprov_filters.py").is_file()
    assert "dockprov 0.1.0" in (tmp_path / ".dockprov-version").read_text()
    assert not any("__pycache__" in p for p in files)
    reqs = [c["name"] for c in yaml.safe_load((tmp_path / "requirements.yml").read_text())["collections"]]
    # community.docker only for what needs it: docker_login (registry logins), the docker connection.
    assert reqs == ["ansible.posix", "community.docker"] if "docker_registry_auth" in generator.vendored_roles() \
        else ["ansible.posix"]


def test_ssh_fleet_without_logins_needs_only_ansible_posix() -> None:
    data = {"hosts": {"web1": {"address": "192.0.2.11", "groups": ["servers"]}}}
    files = generator.render(fleet.from_data(data, "fleet.yml"))
    assert [c["name"] for c in yaml.safe_load(files["requirements.yml"].content)["collections"]] == ["ansible.posix"]
    assert "docker_registry_auth" not in files["site.yml"].content


def test_fleet_copy_regenerates_the_same_project(tmp_path: Path) -> None:
    first = generate(tmp_path / "a")
    copy = tmp_path / "a" / "fleet.yml"
    second = generator.render(fleet.load(copy), str(copy))
    assert {k: v.content for k, v in first.items()} == {k: v.content for k, v in second.items()}
    assert all(c.status == "same" for c in generator.changes(tmp_path / "a", second))


def test_docker_connection_and_offline_key(tmp_path: Path) -> None:
    key = tmp_path / "docker.asc"
    key.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n")
    src = tmp_path / "fleet.yml"
    src.write_text(yaml.safe_dump({
        "defaults": {"connection": "docker", "user": "root", "become": False, "python": "/usr/bin/python3"},
        "repo": {"mirrors": ["http://mirror.lab"], "key_file": "docker.asc",
                 "key_fingerprints": ["02E4727CD745F98F1AB7171DFE1C5666FC88DA5F"]},
        "hosts": {"dockprov-deb12": {"groups": ["servers"]}},
    }))
    out = tmp_path / "out"
    generate(out, src)
    host = yaml.safe_load((out / "inventory/hosts.yml").read_text())["docker_hosts"]["children"]["servers"]
    assert host["hosts"]["dockprov-deb12"] is None  # everything comes from the fleet's defaults
    assert yaml.safe_load((out / "inventory/group_vars/all/connection.yml").read_text()) == {
        "ansible_user": "root", "ansible_connection": "community.docker.docker", "ansible_become": False,
        "ansible_python_interpreter": "/usr/bin/python3"}
    assert (out / "files/docker.asc").read_text() == key.read_text()
    docker = yaml.safe_load((out / "inventory/group_vars/all/docker.yml").read_text())
    assert "files/docker.asc" in docker["docker_repo_key_content"]
    reqs = yaml.safe_load((out / "requirements.yml").read_text())["collections"]
    assert "community.docker" in [c["name"] for c in reqs]
    assert yaml.safe_load((out / "fleet.yml").read_text())["repo"]["key_file"] == "files/docker.asc"


def _tool_env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return {**env, "PATH": f"{BIN}:{env['PATH']}", "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
            "HOME": os.environ.get("HOME", "/root")}


@pytest.mark.skipif(shutil.which("ansible-lint", path=str(BIN)) is None, reason="ansible-lint not installed")
def test_generated_project_passes_ansible_lint_and_syntax_check(tmp_path: Path) -> None:
    project = tmp_path / "project"
    generate(project)
    env = _tool_env(project)
    syntax = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "site.yml"], cwd=project, env=env,
                            capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = subprocess.run([str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
                          cwd=project, env=env, capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Profile 'production' was required, and it passed" in lint.stdout + lint.stderr


def test_registry_logins_go_to_docker_registry_auth_when_it_is_vendored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roles = generator.vendored_roles()
    monkeypatch.setattr(generator, "vendored_roles", lambda: sorted({*roles, "docker_registry_auth"}))
    files = generator.render(fleet.load(EXAMPLE))
    logins = yaml.safe_load(files["inventory/group_vars/all/registries.yml"].content)["docker_registry_auth_logins"]
    assert logins == [{"registry": "registry.cn-hangzhou.aliyuncs.com", "username": "alice",
                       "password": "{{ vault_registry_registry_cn_hangzhou_aliyuncs_com_password }}"}]
    assert "- role: docker_registry_auth" in files["site.yml"].content
    assert "community.docker" in files["requirements.yml"].content
