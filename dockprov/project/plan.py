"""`dockprov plan`: what a run would do per host, read from `ansible-playbook --check --diff`.

The run uses ansible.posix's `json` stdout callback, so the table is built from the modules' own results
(apt_source's repo_url, apt_key's source, daemon_json's diff, docker_daemon's published docker_daemon_apply, ...), not
from parsing human-oriented text.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import collection

CALLBACK = "ansible.posix.json"


@dataclass
class HostPlan:
    host: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    daemon_diff: str = ""
    failed: list[str] = field(default_factory=list)
    changed: int = 0


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else (shutil.which("ansible-playbook") or "ansible-playbook")


def run_check(playbook: Path, inventory: Path | None, config: Path | None, limit: str | None,
              extra: list[str] | None = None) -> dict[str, Any]:
    """The JSON document of a check-mode run (raises RuntimeError when there is none)."""
    cmd = [ansible_playbook(), str(playbook), "--check", "--diff"]
    if inventory is not None:
        cmd += ["-i", str(inventory)]
    if limit:
        cmd += ["--limit", limit]
    cmd += extra or []
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": CALLBACK, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"}
    if config is not None:
        env["ANSIBLE_CONFIG"] = str(config)
    proc = subprocess.run(cmd, cwd=playbook.parent, env=env, capture_output=True, text=True, check=False)
    return parse_output(proc.stdout, proc.stderr, proc.returncode)


def parse_output(stdout: str, stderr: str = "", returncode: int = 0) -> dict[str, Any]:
    """The callback's document; other callbacks (profile_tasks) may print text around it."""
    start = 0 if stdout.startswith("{") else stdout.find("\n{") + 1
    if start == 0 and not stdout.startswith("{"):
        raise RuntimeError(f"ansible-playbook gave no JSON (exit {returncode}): {stderr[-2000:]}")
    try:
        doc, _ = json.JSONDecoder().raw_decode(stdout[start:])
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"unreadable JSON from ansible-playbook: {exc}; stderr: {stderr[-2000:]}") from exc
    return doc


def _results(doc: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """host -> [(task name, result)] in run order."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            name = task.get("task", {}).get("name", "")
            for host, result in (task.get("hosts") or {}).items():
                out.setdefault(host, []).append((name, result))
    return out


def _diff_text(diff: Any) -> str:
    items = diff if isinstance(diff, list) else [diff]
    chunks = []
    for d in items:
        if not isinstance(d, dict) or "before" not in d:
            continue
        before, after = d.get("before", ""), d.get("after", "")
        if not isinstance(before, str):
            before = json.dumps(before, indent=2, sort_keys=True) + "\n"
        if not isinstance(after, str):
            after = json.dumps(after, indent=2, sort_keys=True) + "\n"
        chunks.append("".join(difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            d.get("before_header", "daemon.json (now)"), d.get("after_header", "daemon.json (after the run)"))))
    return "".join(chunks)


def _daemon_action(results: list[tuple[str, dict[str, Any]]], result: dict[str, Any], project: Path | None) -> str:
    """reload, restart or none. The json callback overwrites the module's own `action` key with the task's
    module name, so this reads docker_daemon's published decision (docker_daemon_apply), and failing that
    classifies the module's before/after with the module's own rules (the collection's
    plugins/module_utils/_daemon_json.py, from the project's installed copy)."""
    for _, res in reversed(results):
        decided = (res.get("ansible_facts") or {}).get("docker_daemon_apply")
        if decided:
            return str(decided)
    diff = result.get("diff") or {}
    try:
        before = json.loads(diff.get("before") or "{}")
        after = json.loads(diff.get("after") or "{}")
    except (TypeError, ValueError):
        return "unknown"
    return _daemon_json_rules(project).classify(before, after)


def _daemon_json_rules(project: Path | None) -> Any:
    return collection.module_utils("_daemon_json", project)


def _find(results: list[tuple[str, dict[str, Any]]], action: str, role: str = "") -> list[dict[str, Any]]:
    """Results of one module that ran (not skipped), optionally only from one role's tasks (the NVIDIA role
    calls the key, source and daemon.json modules too)."""
    return [r for n, r in results
            if r.get("action", "").rsplit(".", 1)[-1] == action and not r.get("skipped")
            and (not role or _role_of(n) == role)]


def _role_of(task_name: str) -> str:
    """The role of a task name as callbacks print it: "dockprov.docker.docker_repo : Write ..." (or the
    short "docker_repo : ..." of older cores) -> "docker_repo"; "" outside a role."""
    head, sep, _ = task_name.partition(" : ")
    return head.rsplit(".", 1)[-1] if sep else ""


def _state(result: dict[str, Any]) -> str:
    return "would change" if result.get("changed") else "unchanged"


def host_plan(host: str, results: list[tuple[str, dict[str, Any]]], project: Path | None = None) -> HostPlan:
    plan = HostPlan(host)
    rows = plan.rows
    facts: dict[str, Any] = {}
    for _, result in results:  # published by host_facts, and first by the preflight (the latest one wins)
        facts = (result.get("ansible_facts") or {}).get("dockprov_host") or facts
    for name, result in results:
        if result.get("failed") or result.get("unreachable"):
            plan.failed.append(f"{name}: {result.get('msg', 'failed')}")
        if result.get("changed"):
            plan.changed += 1

    for result in _find(results, "apt_source", "docker_repo")[-1:]:
        skipped = sum(1 for t in result.get("tried", []) if not t.get("ok"))
        note = f", {skipped} mirror(s) skipped" if skipped else ""
        rows.append(("repo / mirror", f"{result.get('repo_url', '?')} ({_state(result)}{note})"))
    for result in _find(results, "apt_key", "docker_repo")[-1:]:
        source = result.get("source", "?")
        source = {"content": "offline key from the controller", "existing": "the key already on the host"}.get(
            source, f"downloaded from {source}")
        rows.append(("key source", f"{source}, fingerprint {result.get('fingerprint', '?')} ({_state(result)})"))

    installed = (facts.get("packages") or {})
    engine = installed.get("docker-ce") or installed.get("docker.io") or "not installed"
    pin = ""
    for _, result in results:
        pin = (result.get("ansible_facts") or {}).get("docker_engine_resolved_version", pin)
    install = [r for n, r in results if n.endswith("Install Docker Engine packages")]
    if install and install[-1].get("skipped"):
        packages = "all present, nothing to install"
    elif install:
        packages = "would install/upgrade" if install[-1].get("changed") else "up to date"
    else:
        packages = "not planned"
    held = ", held: " + ", ".join(facts["held"]) if facts.get("held") else ""
    rows.append(("packages", f"docker-ce {engine}; {packages}"))
    rows.append(("pin", (f"{pin}" if pin else "none (newest, not upgraded later)") + held))

    daemon = _find(results, "daemon_json", "docker_daemon")
    if daemon:
        result = daemon[-1]
        keys = ", ".join(result.get("changed_keys") or []) or "no change"
        rows.append(("daemon.json", f"{keys}" + (" (would change)" if result.get("changed") else "")))
        plan.daemon_diff = _diff_text(result.get("diff"))
        action = _daemon_action(results, result, project)
        if action != "none" and "dockerd_pid" in result and result["dockerd_pid"] is None:
            action += " (dockerd is not running: it starts with the new file)"
        rows.append(("apply", action))
    else:
        rows.append(("daemon.json", "not managed in this run"))

    ulimit = _find(results, "init_ulimit")
    wsl_conf = _find(results, "wsl_conf")
    if facts.get("init_system") == "systemd" and not ulimit:
        wsl = "not needed (systemd host)"
    elif ulimit:
        lines = ulimit[-1].get("patched_lines") or []
        wsl = f"would patch {len(lines)} ulimit line(s)" if ulimit[-1].get("changed") else "init script already safe"
    else:
        wsl = "not planned"
    if wsl_conf:
        wsl += "; wsl.conf boot: " + _state(wsl_conf[-1])
    rows.append(("WSL patch", wsl))

    gpu_tasks = [(n, r) for n, r in results if _role_of(n) == "nvidia_container_toolkit"]
    detected = "GPU detected" if (facts.get("gpu") or {}).get("present") else "no GPU detected"
    if gpu_tasks:
        changed = [n.split(" : ", 1)[-1] for n, r in gpu_tasks if r.get("changed")]
        rows.append(("GPU toolkit", "would change: " + "; ".join(changed) if changed else f"unchanged ({detected})"))
    else:
        rows.append(("GPU toolkit", f"not in this run ({detected})"))
    return plan


def build(doc: dict[str, Any], project: Path | None = None) -> list[HostPlan]:
    """The plan per host; `project` is where the run's collection is installed (None: dockprov's own)."""
    return [host_plan(host, results, project) for host, results in sorted(_results(doc).items())]


def render(plans: list[HostPlan]) -> str:
    lines = []
    for plan in plans:
        lines.append(f"== {plan.host}  ({plan.changed} task(s) would change)")
        width = max(len(k) for k, _ in plan.rows) if plan.rows else 0
        for key, value in plan.rows:
            lines.append(f"  {key.ljust(width)}  {value}")
        if plan.daemon_diff:
            lines.append("  daemon.json diff:")
            lines.extend("    " + line for line in plan.daemon_diff.rstrip("\n").splitlines())
        for failure in plan.failed:
            lines.append(f"  FAILED  {failure}")
        lines.append("")
    return "\n".join(lines)
