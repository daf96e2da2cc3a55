"""`dockprov validate`: variables against the vendored roles' argument specs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockprov.project import fleet, generator, validate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("project")
    files = generator.render(fleet.load(ROOT / "examples" / "fleet.yml"))
    generator.apply(dest, generator.changes(dest, files))
    return dest


def write_vars(project: Path, text: str) -> str:
    path = project / "inventory" / "group_vars" / "servers" / "extra.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return "inventory/group_vars/servers/extra.yml"


def errors(project: Path) -> list[str]:
    return [str(f) for f in validate.validate_project(project) if f.severity == "error"]


def test_generated_project_is_valid_with_a_vault_warning(project: Path) -> None:
    findings = validate.validate_project(project)
    assert [f.severity for f in findings] == ["warning"]
    assert "ansible-vault encrypt" in findings[0].fix


def test_misspelled_variable_gets_the_closest_name(project: Path) -> None:
    rel = write_vars(project, "---\ndocker_daemon_mirrors:\n  - https://a.example\n")
    (msg,) = errors(project)
    assert msg.startswith(f"{rel}: docker_daemon_mirrors: unknown docker_daemon variable")
    assert "did you mean 'docker_daemon_registry_mirrors'?" in msg


def test_misspelled_role_prefix(project: Path) -> None:
    write_vars(project, "---\ndocker_engien_users: [alice]\n")
    (msg,) = errors(project)
    assert "docker_engien_users: no role has this variable" in msg and "'docker_engine_users'" in msg


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("docker_engine_users: alice", "docker_engine_users: expected a list, got the string 'alice'"),
        ("docker_engine_hold: 'yes'", "docker_engine_hold: expected true or false"),
        ("docker_engine_version: 26.1", "docker_engine_version: expected a string, got the number 26.1"),
        ("docker_repo_channel: stabel", "docker_repo_channel: 'stabel' is not one of stable, test"),
        ("docker_engine_start_timeout: '60'", "docker_engine_start_timeout: expected a whole number"),
        ("docker_daemon_log_opts: [a]", "docker_daemon_log_opts: expected a mapping"),
    ],
)
def test_type_and_choice_errors(project: Path, text: str, expect: str) -> None:
    write_vars(project, f"---\n{text}\n")
    (msg,) = errors(project)
    assert expect in msg and "Fix:" in msg


def test_templates_and_free_prefixes_are_not_judged(project: Path) -> None:
    write_vars(project, "---\ndocker_engine_users: \"{{ my_users }}\"\nansible_port: 22\nmy_users: [a]\n"
                        "vault_x: y\ndockprov_thing: 1\n")
    assert errors(project) == []


def test_inline_inventory_vars_are_checked(project: Path) -> None:
    write_vars(project, "---\n")
    hosts = project / "inventory" / "hosts.yml"
    original = hosts.read_text()
    data = yaml.safe_load(original)
    data["docker_hosts"]["hosts"]["edge1"]["docker_engine_user"] = ["x"]
    hosts.write_text(yaml.safe_dump(data))
    try:
        (msg,) = errors(project)
        assert "inventory/hosts.yml: docker_hosts.hosts.edge1.docker_engine_user: unknown" in msg
    finally:
        hosts.write_text(original)


def test_broken_fleet_copy_is_reported(project: Path) -> None:
    write_vars(project, "---\n")
    fleet_file = project / "fleet.yml"
    original = fleet_file.read_text()
    fleet_file.write_text(original.replace("- ustc", "- ustcc", 1))
    try:
        (msg,) = errors(project)
        assert "repo.mirrors[0]: unknown mirror preset 'ustcc'" in msg
    finally:
        fleet_file.write_text(original)


def test_encrypted_vault_is_skipped(project: Path) -> None:
    write_vars(project, "---\n")
    vault = project / "inventory/group_vars/all/vault.yml"
    original = vault.read_text()
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    try:
        assert validate.validate_project(project) == []
    finally:
        vault.write_text(original)


def test_vault_reference_without_a_definition(project: Path) -> None:
    rel = write_vars(project, "---\ndocker_registry_auth_logins:\n  - registry: r.example\n    username: u\n"
                              "    password: \"{{ vault_missing_password }}\"\n")
    found = errors(project)
    assert any(m.startswith(f"{rel}: vault_missing_password: refers to a vault variable no vault file defines")
               for m in found), found


def test_suboptions_of_list_items(project: Path) -> None:
    specs = {"r": {"r_logins": {"type": "list", "elements": "dict", "options": {
        "registry": {"type": "str", "required": True},
        "password": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"]},
    }}}}
    found = [str(f) for f in validate.check_vars(
        {"r_logins": [{"registry": "a", "pasword": "x"}, {"state": "gone"}]}, "f.yml", specs)]
    assert "f.yml: r_logins[0].pasword: unknown key. Fix: did you mean 'password'?" in found
    assert any(m.startswith("f.yml: r_logins[1].state: 'gone' is not one of present, absent") for m in found)
    assert "f.yml: r_logins[1].registry: missing (required). Fix: add registry: to this entry" in found
    assert len(found) == 3
