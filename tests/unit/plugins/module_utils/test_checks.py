"""The preflight's rules (module_utils/_checks.py) on their own: what they accept, what they name."""

from __future__ import annotations

import os

from ansible_collections.dockprov.docker.plugins.module_utils import _checks as checks


def names(variables: dict, **kwargs) -> list[str]:
    return [p.variable for p in checks.check(variables, **kwargs)]


def test_good_values_pass() -> None:
    assert names({
        "docker_repo_mirrors": ["official", "https://mirrors.example.internal/docker-ce"],
        "docker_repo_key_fingerprints": ["9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"],
        "docker_daemon_registry_mirrors": ["http://registry.lab:5000"],
        "docker_daemon_insecure_registries": ["registry.lab:5000", "10.0.0.0/8"],
        "docker_engine_version": "5:26.1.5-1~debian.12~bookworm",
        "nvidia_container_toolkit_version": "1.17.8-1~lab1",
        "docker_apps_containers": [{"name": "web", "image": "nginx:1.27", "ports": ["127.0.0.1:8080:80"],
                                    "volumes": ["data:/var/lib/x:ro"]}],
    }) == []


def test_a_container_being_removed_needs_no_image() -> None:
    assert names({"docker_apps_containers": [{"name": "nginx", "state": "absent"}]}) == []
    assert names({"docker_apps_containers": [{"name": "nginx"}]}) == ["docker_apps_containers[0].image"]


def test_secrets_are_never_shown() -> None:
    [problem] = checks.check({"docker_registry_auth_logins": [{"registry": "r.lab", "username": "u",
                                                              "password": ""}]}, secrets={"password"})
    assert problem.value == checks.SECRET


def test_templates_are_left_to_run_time() -> None:
    assert names({"docker_daemon_registry_mirrors": ["{{ my_mirror }}"], "docker_engine_version": "{{ pin }}"}) == []


def test_offline_key_must_match_the_pinned_fingerprint(tmp_path) -> None:
    from pathlib import Path

    keys = Path(__file__).resolve().parents[3] / "fixtures" / "keys"
    armored = (keys / "rsa-test.asc").read_text()
    other = checks.check({"docker_repo_key_content": armored,
                          "docker_repo_key_fingerprints": ["9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"]})
    assert [p.variable for p in other] == ["docker_repo_key_content"]
    assert "not in docker_repo_key_fingerprints" in other[0].problem


def test_a_bundle_is_a_directory_with_a_manifest_on_the_controller(tmp_path) -> None:
    exists = os.path.exists
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    [missing] = checks.check({"docker_repo_bundle": str(bundle)}, controller_file_exists=exists)
    assert missing.variable == "docker_repo_bundle" and "dockprov bundle create" in missing.fix
    (bundle / "manifest.json").write_text("{}")
    assert names({"docker_repo_bundle": str(bundle)}, controller_file_exists=exists) == []


def test_serve_delivery_needs_the_bundle_url() -> None:
    served = {"docker_repo_bundle": "/srv/bundle", "docker_repo_bundle_delivery": "serve"}
    assert names({**served, "docker_repo_bundle_url": ""}) == ["docker_repo_bundle_url"]
    assert names({**served, "docker_repo_bundle_url": "controller.example:8808"}) == ["docker_repo_bundle_url"]
    assert names({**served, "docker_repo_bundle_url": "http://controller.example:8808"}) == []
    # copy delivery (the default) needs no URL
    assert names({"docker_repo_bundle": "/srv/bundle", "docker_repo_bundle_url": ""}) == []
