"""`dockprov validate`: variables against the argument specs of the collection the project runs."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from dockprov.project import collection, fleet, generator, validate

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


@pytest.fixture
def copy(project: Path, tmp_path: Path) -> Path:
    """A private copy of the generated project (these tests install into it or break it)."""
    dest = tmp_path / "p"
    shutil.copytree(project, dest)
    (dest / "inventory/group_vars/servers/extra.yml").write_text("---\n")
    return dest


def _install(project: Path) -> Path:
    """What `ansible-galaxy collection install -r requirements.yml` leaves: the artifact unpacked."""
    root = project / collection.INSTALLED
    root.mkdir(parents=True)
    pinned = collection.pinned_artifact(project)
    assert pinned is not None
    with tarfile.open(pinned) as archive:
        archive.extractall(root, filter="data")
    return root


def test_specs_come_from_the_pinned_artifact_then_from_the_installed_copy(copy: Path) -> None:
    assert collection.for_project(copy).where.startswith("collections/dockprov-docker-0.2.0.tar.gz (pinned")
    root = _install(copy)
    assert collection.for_project(copy).where.startswith("collections/ansible_collections/dockprov/docker")
    assert collection.installed_matches(copy) is True
    assert [f.severity for f in validate.validate_project(copy)] == ["warning"]  # the vault only
    # The installed copy is what runs, so it is what judges: a variable it does not know is an error.
    spec = root / "roles" / "docker_engine" / "meta" / "argument_specs.yml"
    spec.write_text(spec.read_text().replace("docker_engine_hold:", "docker_engine_hold_packages:"))
    assert any("docker_engine_hold: unknown docker_engine variable" in m for m in errors(copy))


def test_installed_copy_that_is_not_the_pinned_artifact_is_a_warning(copy: Path) -> None:
    root = _install(copy)
    manifest = root / "MANIFEST.json"
    manifest.write_text(manifest.read_text().replace('"version": "0.2.0"', '"version": "0.1.9"'))
    found = [f for f in validate.validate_project(copy) if "not the pinned" in f.problem]
    assert len(found) == 1 and found[0].severity == "warning"
    assert "ansible-galaxy collection install --offline --force -p collections " \
           "collections/dockprov-docker-0.2.0.tar.gz" in found[0].fix


def test_missing_pinned_artifact_is_an_error(copy: Path) -> None:
    (copy / "collections" / "dockprov-docker-0.2.0.tar.gz").unlink()
    found = errors(copy)
    assert any("collections/dockprov-docker-0.2.0.tar.gz: the pinned collection artifact is missing" in m
               for m in found), found


def test_playbook_dir_in_a_variable_is_a_warning(project: Path) -> None:
    write_vars(project, "---\ndocker_apps_jobs:\n  - name: csv\n    image: job:1\n"
                        "    data_dir: \"{{ playbook_dir }}/data\"  # the collection's playbooks/\n")
    found = [f for f in validate.validate_project(project) if "playbook_dir" in f.problem]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].key == "line 5"
    assert "inventory_dir | dirname" in found[0].fix
    assert errors(project) == []
