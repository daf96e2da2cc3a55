"""The fleet-file schema: each mistake gets an error naming file, key, problem and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockprov.project import fleet
from dockprov.project.errors import FleetError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleet.yml"


def base() -> dict:
    return {"version": 1, "hosts": {"web1": {"address": "192.0.2.11", "groups": ["servers"]}}}


def errors(data: dict) -> list[str]:
    return [str(f) for f in fleet.check(data, "fleet.yml")]


def test_example_is_valid() -> None:
    loaded = fleet.load(EXAMPLE)
    assert loaded["hosts"]["build1"]["groups"] == ["servers", "gpu"]
    assert loaded["hosts"]["web1"]["user"] == "ubuntu"  # from defaults
    assert loaded["hosts"]["build1"]["user"] == "debian"  # the host's own value wins


def test_presets_come_from_the_modules_list() -> None:
    assert list(fleet.mirror_presets()) == ["official", "aliyun", "ustc", "tuna", "azure-china"]


def test_unknown_preset_lists_the_known_ones() -> None:
    data = base() | {"repo": {"mirrors": ["ustcc"]}}
    (msg,) = errors(data)
    assert msg.startswith("fleet.yml: repo.mirrors[0]: unknown mirror preset 'ustcc'")
    assert "did you mean 'ustc'?" in msg
    assert "official, aliyun, ustc, tuna, azure-china" in msg or "aliyun, azure-china, official, tuna, ustc" in msg


def test_mirror_url_without_scheme() -> None:
    data = base() | {"repo": {"mirrors": ["mirrors.ustc.edu.cn/docker-ce"]}}
    (msg,) = errors(data)
    assert "repo.mirrors[0]: mirror URL 'mirrors.ustc.edu.cn/docker-ce' has no scheme" in msg
    assert "write 'https://mirrors.ustc.edu.cn/docker-ce'" in msg


def test_registry_mirror_without_scheme() -> None:
    data = base() | {"daemon": {"registry_mirrors": ["abc.mirror.aliyuncs.com"]}}
    (msg,) = errors(data)
    assert "daemon.registry_mirrors[0]: registry mirror URL 'abc.mirror.aliyuncs.com' has no scheme" in msg
    assert "https://abc.mirror.aliyuncs.com" in msg


def test_host_in_no_group() -> None:
    data = base()
    del data["hosts"]["web1"]["groups"]
    (msg,) = errors(data)
    assert "hosts.web1.groups: the host is in no group" in msg
    assert "groups: [servers]" in msg


def test_host_in_unknown_group() -> None:
    data = base()
    data["hosts"]["web1"]["groups"] = ["server"]
    (msg,) = errors(data)
    assert "hosts.web1.groups[0]: unknown value the string 'server'" in msg
    assert "did you mean 'servers'?" in msg


def test_gpu_alone_is_not_a_base_group() -> None:
    data = base()
    data["hosts"]["web1"]["groups"] = ["gpu"]
    (msg,) = errors(data)
    assert "not in a base group" in msg and "servers, wsl or auto" in msg


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"repo": {"mirrors": "ustc"}}, "repo.mirrors"),
        ({"users": "alice"}, "users"),
        ({"daemon": {"registry_mirrors": "https://a.example"}}, "daemon.registry_mirrors"),
    ],
)
def test_string_where_a_list_belongs(patch: dict, key: str) -> None:
    (msg,) = errors(base() | patch)
    assert f"fleet.yml: {key}: expected a list, got the string" in msg
    assert "write it as a list:" in msg


def test_host_groups_as_string() -> None:
    data = base()
    data["hosts"]["web1"]["groups"] = "servers"
    (msg,) = errors(data)
    assert "hosts.web1.groups: expected a list, got the string 'servers'" in msg
    assert "groups: [servers]" in msg


def test_unknown_key_suggests_the_right_one() -> None:
    (msg,) = errors(base() | {"daemon": {"registry_mirror": ["https://a.example"]}})
    assert "daemon.registry_mirror: unknown key" in msg and "did you mean 'registry_mirrors'?" in msg


def test_version_as_number_and_bool_as_string() -> None:
    found = errors(base() | {"engine": {"version": 26.1, "hold": "yes"}})
    assert any("engine.version: expected a string, got the number 26.1" in m and "quote it" in m for m in found)
    assert any("engine.hold: expected true or false" in m for m in found)


def test_ssh_host_needs_an_address() -> None:
    data = {"hosts": {"web1": {"groups": ["servers"]}}}
    (msg,) = errors(data)
    assert "hosts.web1.address: missing" in msg
    data["hosts"]["web1"]["connection"] = "local"
    assert errors(data) == []


def test_all_mistakes_at_once_from_a_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({
        "repo": {"mirrors": ["ustcc", "mirrors.aliyun.com/docker-ce"]},
        "users": "alice",
        "hosts": {"web1": {"address": "192.0.2.1"}, "web2": {"address": "192.0.2.2", "groups": ["servers"]}},
    }))
    with pytest.raises(FleetError) as exc:
        fleet.load(bad)
    text = str(exc.value)
    assert str(bad) in text
    assert "unknown mirror preset 'ustcc'" in text and "has no scheme" in text
    assert "users: expected a list" in text
    # A type error stops the deeper checks, so fix-and-rerun reports the group problem next time.
    bad.write_text(yaml.safe_dump({"hosts": {"web1": {"address": "192.0.2.1"}}}))
    with pytest.raises(FleetError, match="the host is in no group"):
        fleet.load(bad)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("hosts:\n  web1: {address: [\n")
    with pytest.raises(FleetError, match=r"bad.yml: line \d+, column \d+: not valid YAML"):
        fleet.load(bad)


def test_key_file_is_read_relative_to_the_fleet_file(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "docker.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n...\n")
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(base() | {"repo": {"key_file": "keys/docker.asc"}}))
    assert fleet.load(path)["key_text"].startswith("-----BEGIN PGP")
    path.write_text(yaml.safe_dump(base() | {"repo": {"key_file": "keys/missing.asc"}}))
    with pytest.raises(FleetError, match="repo.key_file: no such file"):
        fleet.load(path)


def test_apps_and_host_vars_are_checked_against_the_role_specs() -> None:
    data = base() | {"apps": {"containers": [{"name": "web", "imgae": "nginx"}]}}
    data["hosts"]["web1"]["vars"] = {"docker_daemon_mirrors": []}
    found = errors(data)
    assert any(m.startswith("fleet.yml: hosts.web1.vars.docker_daemon_mirrors: unknown docker_daemon variable")
               for m in found), found
    assert "fleet.yml: apps.containers[0].imgae: unknown key. Fix: did you mean 'image'?" in found


def test_apps_kind_must_be_known() -> None:
    (msg,) = errors(base() | {"apps": {"container": []}})
    assert "apps.container: unknown key" in msg and "did you mean 'containers'?" in msg
