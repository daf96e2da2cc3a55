"""The project generator: what it writes (a project that depends on the collection dockprov.docker, pinned as an
artifact built from the committed tree), and that the result passes ansible-lint and a syntax check."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from dockprov.project import collection, fleet, generator, validate

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
    web1 = children["servers"]["hosts"]["web1"]
    assert set(web1) == {"ansible_host", "docker_apps_stacks"}  # user, port: from the defaults
    assert web1["docker_apps_stacks"][0]["secrets"] == {"db_password": "{{ vault_wordpress_db_password }}"}
    assert children["servers"]["hosts"]["build1"]["docker_apps_builds"][0]["context"] == "build/csv_job"
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
    for options in validate.role_specs(collection.own()).values():
        specs.update(options)
    assert set(docker) <= set(specs)


def test_secrets_go_to_the_vault_placeholder(tmp_path: Path) -> None:
    generate(tmp_path)
    vault = yaml.safe_load((tmp_path / "inventory/group_vars/all/vault.yml").read_text())
    assert vault == {"vault_registry_registry_cn_hangzhou_aliyuncs_com_password": "CHANGE_ME",
                     "vault_wordpress_db_password": "CHANGE_ME"}
    plain = (tmp_path / "inventory/group_vars/all/registries.yml").read_text()
    assert '"{{ vault_registry_registry_cn_hangzhou_aliyuncs_com_password }}"' in plain
    assert "CHANGE_ME" not in plain
    assert "ansible-vault encrypt" in (tmp_path / "inventory/group_vars/all/vault.yml").read_text()


def test_project_depends_on_the_collection(tmp_path: Path) -> None:
    files = generate(tmp_path)
    cfg = (tmp_path / "ansible.cfg").read_text()
    assert "collections_path = collections" in cfg and "inventory = inventory/hosts.yml" in cfg
    for vendored in ("roles_path", "library", "module_utils", "filter_plugins"):
        assert vendored not in cfg
        assert not (tmp_path / vendored.removesuffix("_path")).exists()
    assert "ansible.builtin.import_playbook: dockprov.docker.site" in (tmp_path / "site.yml").read_text()
    reqs = yaml.safe_load((tmp_path / "requirements.yml").read_text())["collections"]
    assert reqs[0] == {"name": "collections/dockprov-docker-0.2.0.tar.gz", "type": "file"}
    assert [r["name"] for r in reqs[1:]] == ["community.docker", "ansible.posix"]
    # The artifact is dockprov.docker with what the roles need at run time (docker_apps' own templates too).
    artifact = tmp_path / reqs[0]["name"]
    content = collection.from_artifact(artifact)
    assert content.version == "0.2.0"
    assert "roles/docker_apps/templates/compose/wordpress/compose.yaml.j2" in content.files
    assert "plugins/module_utils/_daemon_json.py" in content.files
    assert not any(p.startswith(("dockprov/", "tests/", "molecule/")) for p in content.files)
    assert files[reqs[0]["name"]].identity == collection.identity(artifact.read_bytes())
    assert "collection dockprov.docker 0.2.0 from collections/dockprov-docker-0.2.0.tar.gz" in (
        tmp_path / ".dockprov-version").read_text()
    assert (tmp_path / ".gitignore").read_text().strip().endswith("collections/ansible_collections/")
    assert not any("__pycache__" in p for p in files)


def test_ssh_fleet_without_logins_or_apps() -> None:
    data = {"hosts": {"web1": {"address": "192.0.2.11", "groups": ["servers"]}}}
    files = generator.render(fleet.from_data(data, "fleet.yml"))
    # community.docker always: dockprov.docker depends on it (site imports the workloads and login plays).
    reqs = [c["name"] for c in yaml.safe_load(files["requirements.yml"].content)["collections"]]
    assert reqs[1:] == ["community.docker", "ansible.posix"]
    assert "inventory/group_vars/all/registries.yml" not in files
    assert "inventory/group_vars/all/apps.yml" not in files
    assert "no registries with a username" in files["inventory/group_vars/all/vault.yml"].content


def test_galaxy_version_instead_of_an_artifact() -> None:
    data = {"hosts": {"web1": {"address": "192.0.2.11", "groups": ["servers"]}}}
    files = generator.render(fleet.from_data(data, "fleet.yml"), pinned=generator.pin("0.2.0"))
    reqs = yaml.safe_load(files["requirements.yml"].content)["collections"]
    assert reqs[0] == {"name": "dockprov.docker", "version": "0.2.0"}
    assert not any(p.startswith("collections/") for p in files)
    assert "from Galaxy" in files[".dockprov-version"].content
    with pytest.raises(ValueError, match="not an exact version"):
        generator.pin(">=0.2")


def test_given_artifact_is_copied_and_checked(tmp_path: Path) -> None:
    own = collection.own_artifact()
    given = tmp_path / "mine.tar.gz"
    given.write_bytes(own.data)
    pinned = generator.pin(artifact=given)
    assert pinned.path == "collections/dockprov-docker-0.2.0.tar.gz" and pinned.artifact is not None
    assert pinned.artifact.data == own.data and str(given) in pinned.artifact.origin
    other = tmp_path / "other.tar.gz"
    _artifact(other, {"namespace": "acme", "name": "docker", "version": "1.0.0"}, {"x": "1"})
    with pytest.raises(collection.CollectionError, match="acme.docker, not dockprov.docker"):
        generator.pin(artifact=other)


def _artifact(path: Path, info: dict, files: dict[str, str], mtime: int = 0) -> None:
    """A minimal collection tarball laid out as ansible-galaxy builds one: MANIFEST.json (with FILES.json's
    checksum), FILES.json (every file's checksum) and the files."""
    sums = [{"name": n, "ftype": "file", "chksum_sha256": hashlib.sha256(t.encode()).hexdigest()}
            for n, t in files.items()]
    listing = json.dumps({"files": sums})
    manifest = json.dumps({"collection_info": info, "file_manifest_file": {
        "name": "FILES.json", "chksum_sha256": hashlib.sha256(listing.encode()).hexdigest()}})
    with tarfile.open(path, "w:gz") as tar:
        for name, text in {"MANIFEST.json": manifest, "FILES.json": listing, **files}.items():
            data = text.encode()
            member = tarfile.TarInfo(name)
            member.size, member.mtime = len(data), mtime
            tar.addfile(member, io.BytesIO(data))


def test_artifact_is_compared_by_content_not_by_bytes(tmp_path: Path) -> None:
    info = {"namespace": "dockprov", "name": "docker", "version": "0.2.0"}
    a, b, c = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz", tmp_path / "c.tar.gz"
    _artifact(a, info, {"roles/r/tasks/main.yml": "---\n"})
    _artifact(b, info, {"roles/r/tasks/main.yml": "---\n"}, mtime=1700000000)  # packed at another time
    _artifact(c, info, {"roles/r/tasks/main.yml": "---\n- x\n", "roles/r/README.md": "r\n"})
    assert a.read_bytes() != b.read_bytes()
    dest = tmp_path / "p"
    (dest / "collections").mkdir(parents=True)
    (dest / "collections" / "x.tar.gz").write_bytes(a.read_bytes())
    same = generator.File(b.read_bytes(), identity=collection.identity(b.read_bytes()))
    (change,) = generator.changes(dest, {"collections/x.tar.gz": same})
    assert change.status == "same"
    newer = generator.File(c.read_bytes(), identity=collection.identity(c.read_bytes()))
    (change,) = generator.changes(dest, {"collections/x.tar.gz": newer})
    assert change.status == "update" and change.binary
    assert change.diff() == ("collection artifact a/collections/x.tar.gz and b/collections/x.tar.gz differ:\n"
                             "  added: roles/r/README.md\n  changed: roles/r/tasks/main.yml\n")


def test_artifact_is_built_from_the_committed_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in progress in a checkout never reaches a project: the artifact is built from HEAD."""
    clone = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", "--local", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    readme = clone / "roles" / "docker_repo" / "README.md"
    committed = readme.read_bytes()
    readme.write_text("work in progress\n")
    (clone / "roles" / "docker_repo" / "tasks" / "wip.yml").write_text("---\n")
    monkeypatch.setattr(collection, "CHECKOUT", clone)
    artifact = collection.build_from_checkout()
    content = collection.from_artifact_bytes(artifact.data)
    assert content.files["roles/docker_repo/README.md"] == committed
    assert "roles/docker_repo/tasks/wip.yml" not in content.files
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert artifact.origin == f"built from commit {head[:12]} of {clone}"
    assert collection.from_checkout().files["roles/docker_repo/README.md"] == committed


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
    # As a user would, from the project (nothing can reach Galaxy here: --offline; the `ansible` package has
    # community.docker and ansible.posix).
    install = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r",
                              "requirements.yml"], cwd=project, env=env, capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (project / collection.INSTALLED / "roles" / "docker_engine" / "tasks" / "main.yml").is_file()
    assert collection.installed_matches(project) is True
    syntax = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "site.yml"], cwd=project, env=env,
                            capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = subprocess.run([str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
                          cwd=project, env=env, capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Profile 'production' was required, and it passed" in lint.stdout + lint.stderr


def test_registry_logins_go_to_docker_registry_auth() -> None:
    files = generator.render(fleet.load(EXAMPLE))
    logins = yaml.safe_load(files["inventory/group_vars/all/registries.yml"].content)["docker_registry_auth_logins"]
    assert logins == [{"registry": "registry.cn-hangzhou.aliyuncs.com", "username": "alice",
                       "password": "{{ vault_registry_registry_cn_hangzhou_aliyuncs_com_password }}"}]


def test_vault_references_in_apps_get_placeholders() -> None:
    data = {"hosts": {"web1": {"address": "192.0.2.11", "groups": ["servers"],
                               "vars": {"docker_daemon_http_proxy": "http://u:{{ vault_proxy_pw }}@proxy:3128"}}},
            "apps": {"stacks": [{"name": "wordpress", "template": "compose/wordpress",
                                 "secrets": {"db_password": "{{ vault_wordpress_db_password }}"}}]}}
    files = generator.render(fleet.from_data(data, "fleet.yml"))
    vault = yaml.safe_load(files["inventory/group_vars/all/vault.yml"].content)
    assert vault == {"vault_wordpress_db_password": "CHANGE_ME", "vault_proxy_pw": "CHANGE_ME"}
    apps = yaml.safe_load(files["inventory/group_vars/all/apps.yml"].content)
    assert apps["docker_apps_stacks"][0]["secrets"] == {"db_password": "{{ vault_wordpress_db_password }}"}
