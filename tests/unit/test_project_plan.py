"""`dockprov plan`'s table, from a check-mode run's JSON (the shape ansible.posix.json prints)."""

from __future__ import annotations

import json

import pytest

from dockprov.project import plan

BEFORE = '{\n  "registry-mirrors": ["http://old-mirror.lab:5000"]\n}\n'
AFTER = '{\n  "registry-mirrors": [\n    "http://registry.lab:5000"\n  ]\n}\n'


def task(name: str, result: dict) -> dict:
    return {"task": {"name": name}, "hosts": {"deb12": result}}


def doc(*tasks: dict) -> dict:
    return {"plays": [{"play": {"name": "p"}, "tasks": list(tasks)}], "stats": {}}


FACTS = task("dockprov.docker.docker_repo : Read host facts", {
    "action": "dockprov.docker.host_facts", "changed": False,
    "ansible_facts": {"dockprov_host": {"init_system": "systemd", "packages": {"docker-ce": "5:26.1.5-1"},
                                        "held": ["docker-ce"], "gpu": {"present": False}}}})
SOURCE = task("dockprov.docker.docker_repo : Write the deb822 source", {
    "action": "dockprov.docker.apt_source", "changed": False, "repo_url": "http://mirror.lab/linux/debian",
    "tried": [{"mirror": "https://download.docker.com", "ok": False}, {"mirror": "http://mirror.lab", "ok": True}]})
KEY = task("dockprov.docker.docker_repo : Install Docker's repo signing key", {
    "action": "dockprov.docker.apt_key", "changed": False, "source": "content", "fingerprint": "02E4"})
# The json callback overwrites the module's own `action` (reload/restart) with the module name.
DAEMON = task("dockprov.docker.docker_daemon : Merge settings into daemon.json", {
    "action": "dockprov.docker.daemon_json", "changed": True, "changed_keys": ["registry-mirrors"],
    "diff": {"before": BEFORE, "after": AFTER, "before_header": "/etc/docker/daemon.json",
             "after_header": "/etc/docker/daemon.json"}, "dockerd_pid": 12})
DECIDE = task("dockprov.docker.docker_daemon : Decide how to apply", {
    "action": "ansible.builtin.set_fact", "ansible_facts": {"docker_daemon_apply": "reload"}})
PIN = task("dockprov.docker.docker_engine : Resolve the pin for engine and CLI", {
    "action": "ansible.builtin.set_fact", "ansible_facts": {"docker_engine_resolved_version": "5:26.1.5-1"}})
INSTALL = task("dockprov.docker.docker_engine : Install Docker Engine packages", {
    "action": "ansible.builtin.apt", "skipped": True})


def test_daemon_json_diff_and_reload() -> None:
    (host,) = plan.build(doc(FACTS, SOURCE, KEY, DAEMON, DECIDE, PIN, INSTALL))
    rows = dict(host.rows)
    assert rows["repo / mirror"] == "http://mirror.lab/linux/debian (unchanged, 1 mirror(s) skipped)"
    assert rows["key source"].startswith("offline key from the controller")
    assert rows["packages"] == "docker-ce 5:26.1.5-1; all present, nothing to install"
    assert rows["pin"] == "5:26.1.5-1, held: docker-ce"
    assert rows["daemon.json"] == "registry-mirrors (would change)"
    assert rows["apply"] == "reload"
    assert rows["WSL patch"] == "not needed (systemd host)"
    assert rows["GPU toolkit"] == "not in this run (no GPU detected)"
    text = plan.render([host])
    assert '-  "registry-mirrors": ["http://old-mirror.lab:5000"]' in text
    assert '+    "http://registry.lab:5000"' in text
    assert "apply" in text and "reload" in text


def test_action_classified_from_the_diff_when_the_handler_did_not_run() -> None:
    restart = task("dockprov.docker.docker_daemon : Merge settings into daemon.json", {
        "action": "dockprov.docker.daemon_json", "changed": True, "changed_keys": ["data-root"],
        "diff": {"before": "{}\n", "after": '{"data-root": "/srv/docker"}\n'}})
    (host,) = plan.build(doc(FACTS, restart))
    assert dict(host.rows)["apply"] == "restart"
    (host,) = plan.build(doc(FACTS, DAEMON))
    assert dict(host.rows)["apply"] == "reload"


def test_not_running_dockerd_and_wsl_patch() -> None:
    facts = task("dockprov.docker.docker_repo : Read host facts", {
        "action": "dockprov.docker.host_facts", "ansible_facts": {"dockprov_host": {"init_system": "sysvinit"}}})
    decide = task("dockprov.docker.docker_daemon : Decide how to apply", {
        "ansible_facts": {"docker_daemon_apply": "none"}})
    ulimit = task("dockprov.docker.docker_wsl : Make the init script's ulimit lines unable to abort it", {
        "action": "dockprov.docker.init_ulimit", "changed": True, "patched_lines": [{"line_number": 62}]})
    wslconf = task("dockprov.docker.docker_wsl : Start Docker at WSL boot", {
        "action": "dockprov.docker.wsl_conf", "changed": True})
    (host,) = plan.build(doc(facts, DAEMON, decide, ulimit, wslconf))
    rows = dict(host.rows)
    assert rows["apply"] == "none"
    assert rows["WSL patch"] == "would patch 1 ulimit line(s); wsl.conf boot: would change"


def test_gpu_toolkit_row_and_its_daemon_json_call_are_kept_apart() -> None:
    nvidia = task("dockprov.docker.nvidia_container_toolkit : Register the nvidia runtime", {
        "action": "dockprov.docker.daemon_json", "changed": True, "changed_keys": ["runtimes"],
        "diff": {"before": "{}\n", "after": '{"runtimes": {}}\n'}})
    (host,) = plan.build(doc(FACTS, DAEMON, DECIDE, nvidia))
    rows = dict(host.rows)
    assert rows["daemon.json"] == "registry-mirrors (would change)"
    assert rows["GPU toolkit"] == "would change: Register the nvidia runtime"


def test_failures_are_shown() -> None:
    failed = task("dockprov.docker.docker_repo : Install Docker's repo signing key", {
        "action": "dockprov.docker.apt_key", "failed": True, "msg": "fingerprint mismatch"})
    (host,) = plan.build(doc(FACTS, failed))
    assert host.failed == ["dockprov.docker.docker_repo : Install Docker's repo signing key: fingerprint mismatch"]
    assert "FAILED" in plan.render([host])


def test_parse_output_tolerates_text_around_the_document() -> None:
    body = json.dumps(doc(FACTS))
    assert plan.parse_output("[WARNING]: x\n" + body + "\nPlaybook run took 0 days\n") == doc(FACTS)
    with pytest.raises(RuntimeError, match="no JSON"):
        plan.parse_output("ERROR! nothing", "stderr text", 1)


def test_no_running_dockerd_is_said_when_the_decision_is_missing() -> None:
    # A run cut short before the handler decided: the module's own classification and its dockerd_pid.
    stopped = task("dockprov.docker.docker_daemon : Merge settings into daemon.json", {
        **DAEMON["hosts"]["deb12"], "dockerd_pid": None})
    (host,) = plan.build(doc(FACTS, stopped))
    assert "dockerd is not running" in dict(host.rows)["apply"]


def test_role_of_collection_and_short_task_names() -> None:
    assert plan._role_of("dockprov.docker.docker_daemon : Merge settings into daemon.json") == "docker_daemon"
    assert plan._role_of("docker_daemon : Merge settings into daemon.json") == "docker_daemon"
    assert plan._role_of("Gathering Facts") == ""


def test_daemon_json_rules_come_through_ansibles_collection_loader() -> None:
    rules = plan._daemon_json_rules(None)
    assert rules.__name__ == "ansible_collections.dockprov.docker.plugins.module_utils._daemon_json"
    assert rules.classify({}, {"registry-mirrors": ["http://m"]}) == "reload"


def test_host_facts_from_the_preflight() -> None:
    """The collection's preflight reads the host facts first and publishes them (dockprov_host) itself."""
    preflight = task("Check every role's variables and read the host's facts (read-only)", {
        "action": "dockprov.docker.preflight", "changed": False,
        "ansible_facts": {"dockprov_host": {"init_system": "systemd", "packages": {"docker-ce": "5:26.1.5-1"}}}})
    (host,) = plan.build(doc(preflight, DAEMON, DECIDE))
    rows = dict(host.rows)
    assert rows["packages"].startswith("docker-ce 5:26.1.5-1")
    assert rows["WSL patch"] == "not needed (systemd host)"
