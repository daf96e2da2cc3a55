# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action dockprov.docker.preflight: every role's inputs checked for one host before anything changes.

Runs on the controller: each role's argument spec (roles/<role>/meta/argument_specs.yml, entry point main)
through Ansible's own ArgumentSpecValidator, misspelled role variables, and the meaning of each value
(module_utils/_checks.py, the rules `dockprov validate` applies offline too). Then one read-only module
call on the host (dockprov.docker.host_facts) for the checks that need the host: users that must exist,
an existing daemon.json that must parse. Every problem of the host is reported at once; a secret's value
never is.
"""

from __future__ import annotations

import difflib
import os
import re
from functools import cache
from typing import Any

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19+: spec defaults read from YAML are data, templated only once trusted
    from ansible.template import trust_as_template
except ImportError:  # older cores template every string
    def trust_as_template(value: Any) -> Any:
        return value
from ansible_collections.dockprov.docker.plugins.module_utils._checks import SECRET, check, secret_options

DOCUMENTATION = r"""
---
action: preflight
"""

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES_DIR = os.path.join(COLLECTION, "roles")
# Options that only make sense for one entry point's callers (docker_daemon's merge inputs): not user input.
ENTRY_POINT_INPUTS = ("docker_daemon_merge_",)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _roles() -> tuple[str, ...]:
    return tuple(sorted(name for name in os.listdir(ROLES_DIR)
                        if os.path.isfile(os.path.join(ROLES_DIR, name, "meta", "argument_specs.yml"))))


@cache
def _entry_points(role: str) -> dict[str, Any]:
    with open(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        # libyaml's loader where PyYAML has it: each task's worker process parses these files again.
        return (yaml.load(handle, Loader=_YAML_LOADER) or {}).get("argument_specs") or {}


def _spec(role: str) -> dict[str, Any]:
    """The main entry point's options: what users set for the role."""
    return dict((_entry_points(role).get("main") or {}).get("options") or {})


def _documented(role: str) -> set[str]:
    """Every option of every entry point (docker_daemon's merge inputs too)."""
    return {name for entry in _entry_points(role).values() for name in ((entry or {}).get("options") or {})}


@cache
def _internal_names(role: str) -> frozenset[str]:
    """Names the role itself registers or sets (results, published facts): not inputs, never 'misspelled'."""
    names: set[str] = set()
    for sub in ("tasks", "handlers", "vars", "defaults"):
        folder = os.path.join(ROLES_DIR, role, sub)
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                text = handle.read()
            names.update(re.findall(r"^\s*(?:register|loop_var):\s*(\w+)", text, re.M))
            names.update(re.findall(r"^\s{4,6}(\w+):", text, re.M) if sub == "tasks" and "set_fact" in text else [])
            if sub in ("vars", "defaults"):
                names.update(re.findall(r"^(\w+):", text, re.M))
    return frozenset(names)


def _trusted(value: Any) -> Any:
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    return value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("roles",))
    _requires_connection = False  # set per run: only the host-side checks need the host

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        previous = task_vars.get("dockprov_host_facts_run") or {}
        # The preflight play imported again in this run (every playbook imports it): every role was checked and
        # the host read already; answer from the run marker (without its facts: a later read may be newer).
        if not self._task.args.get("roles") and previous.get("everything") and "problems" in previous:
            return {k: v for k, v in previous.items()
                    if k not in ("ansible_facts", "invocation") and not k.startswith("_ansible")}
        roles = self._task.args.get("roles") or list(_roles())
        unknown = [r for r in roles if r not in _roles()]
        if unknown:
            raise AnsibleError(f"dockprov.docker.preflight: unknown role(s) {unknown}; known: {list(_roles())}")
        problems: list[str] = []
        resolved: dict[str, Any] = {}
        secrets: set[str] = set()
        for role in roles:
            spec = _spec(role)
            secrets |= secret_options(spec)
            values, errors = self._resolve(role, spec, task_vars)
            problems += errors
            problems += self._validate_spec(role, spec, values, secrets)
            problems += self._misspelled(role, spec, task_vars)
            resolved.update(values)
        problems += [str(p) for p in check(resolved, secrets=secrets, controller_file_exists=os.path.exists)]

        # The host is asked once per run (the previous result is the run marker this task is registered as),
        # and again only for users or files no earlier check covered: a role's own check then costs no round
        # trip. The same read reports the accounts and the files the roles own, so that a role finds its files
        # already as wanted without a round trip of its own.
        checked = set(previous.get("checked_users") or []) if previous.get("checked_users") is not None else None
        checked_files = set(previous.get("checked_files") or [])
        users = self._users(resolved)
        files, user_files = self._files(resolved)
        result["checked_users"] = sorted(set(users) | (checked or set()))
        result["checked_files"] = sorted(set(files) | set(user_files) | checked_files)
        if checked is None or not set(users) <= checked or not (set(files) | set(user_files)) <= checked_files:
            asked = set(result["checked_files"])
            module_args = {"check_users": result["checked_users"], "check_json": ["/etc/docker/daemon.json"],
                           "check_files": sorted(asked - {f for f in asked if not f.startswith("/")}),
                           "check_user_files": sorted(f for f in asked if not f.startswith("/"))}
            plan = self._docker_repo_plan(roles, resolved) if not problems else None
            if plan:
                module_args["docker_repo_plan"] = plan
            facts_result = self._execute_module(module_name="dockprov.docker.host_facts", module_args=module_args,
                                                task_vars=task_vars)
            if facts_result.get("failed"):
                return {**facts_result, "msg": "dockprov.docker.preflight: reading host facts failed: "
                        + str(facts_result.get("msg", ""))}
            facts = facts_result.get("ansible_facts") or {}
            host = facts.get("dockprov_host") or {}
            # The JSON files as read (daemon.json): for this run's roles, kept out of the facts (and so out of any
            # fact cache: a daemon.json may hold a proxy's credentials).
            result["json_files"] = (host.get("checks") or {}).pop("json_data", None) or {}
            # Whether docker_repo's key and source are already as wanted, and for which inputs (docker_repo's own
            # check drops the answer if its inputs differ); a run's own answer, never a cached fact.
            as_wanted = (host.get("checks") or {}).pop("docker_repo", None)
            result["docker_repo_plan"] = {**as_wanted, "inputs": plan} if plan and as_wanted else {}
            problems += self._host_problems(host, resolved)
            result["ansible_facts"] = facts
        else:
            result["checked_users"] = sorted(checked)
            result["checked_files"] = sorted(checked_files)
            result["json_files"] = previous.get("json_files") or {}
            result["docker_repo_plan"] = self._plan_still_current(previous.get("docker_repo_plan") or {}, roles,
                                                                  resolved)

        result.update(changed=False, problems=problems, roles=list(roles),
                      everything=bool(previous.get("everything")) or not self._task.args.get("roles"))
        if problems:
            result.pop("ansible_facts", None)  # the run stops; keep the report to the problems
            result["failed"] = True
            host = task_vars.get("inventory_hostname")
            result["msg"] = (f"{len(problems)} problem(s) with the variables for {host}; "
                             "nothing was changed:\n- " + "\n- ".join(problems))
        else:
            result["msg"] = f"inputs of {', '.join(roles)} checked"
        return result

    # -- controller-side -------------------------------------------------------------------------------

    def _resolve(self, role: str, spec: dict[str, Any], task_vars: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Each option's value as the role will see it: the user's (templated) or the spec's default."""
        templar = self._templar.copy_with_new_env(
            available_variables={**task_vars, "role_path": os.path.join(ROLES_DIR, role)})
        values: dict[str, Any] = {}
        errors: list[str] = []
        for name, option in spec.items():
            if name.startswith(ENTRY_POINT_INPUTS):
                continue
            # A spec default is the role's own text (docker_apps_templates_dir: "{{ role_path }}/templates").
            raw = task_vars[name] if name in task_vars else _trusted(option.get("default"))
            if raw is None and name not in task_vars:
                continue
            try:
                values[name] = templar.template(raw)
            except AnsibleError as exc:
                shown = SECRET if option.get("no_log") else repr(raw)[:120]
                errors.append(f"{name} = {shown}: cannot be resolved ({str(exc).splitlines()[0]}). "
                              "Fix: define the variable it refers to, or correct the expression")
        return values, errors

    @staticmethod
    def _validate_spec(role: str, spec: dict[str, Any], values: dict[str, Any], secrets: set[str]) -> list[str]:
        options = {k: v for k, v in spec.items() if not k.startswith(ENTRY_POINT_INPUTS)}
        validator = ArgumentSpecValidator(options)
        outcome = validator.validate({k: v for k, v in values.items() if k in options})
        out = []
        for error in outcome.errors:
            text = str(error)
            for secret in secrets:
                text = text.replace(repr(values.get(secret)), SECRET) if values.get(secret) else text
            out.append(f"{text} (role {role}: see roles/{role}/meta/argument_specs.yml). "
                       "Fix: give the variable the type and choices its spec names")
        return out

    @staticmethod
    def _misspelled(role: str, spec: dict[str, Any], task_vars: dict[str, Any]) -> list[str]:
        prefix = role + "_"
        known = _documented(role) | _internal_names(role)
        # A longer role name shares this prefix (docker_repo_ vs none today, but keep it right).
        others = tuple(r + "_" for r in _roles() if r != role and r.startswith(prefix))
        out = []
        for name in sorted(task_vars):
            if not name.startswith(prefix) or name.startswith(others) or name in known:
                continue
            guess = difflib.get_close_matches(name, list(spec), n=1, cutoff=0.6)
            hint = f"did you mean {guess[0]}?" if guess else f"see roles/{role}/README.md for {role}'s variables"
            out.append(f"{name}: {role} has no such variable, so the value is ignored. Fix: {hint}")
        return out

    @staticmethod
    def _users(values: dict[str, Any]) -> list[str]:
        users = list(values.get("docker_engine_users") or [])
        for login in values.get("docker_registry_auth_logins") or []:
            if isinstance(login, dict) and login.get("state", "present") == "present":
                users.append(str(login.get("user") or "root"))
        return sorted({u for u in users if isinstance(u, str)})

    @staticmethod
    def _files(values: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Files whose state the roles read from the facts: (absolute paths, paths under each user's home)."""
        files: list[str] = []
        certs_dir = values.get("docker_registry_auth_certs_dir")
        for entry in values.get("docker_registry_auth_ca_certs") or []:
            if isinstance(entry, dict) and isinstance(certs_dir, str) and entry.get("registry") \
                    and entry.get("state", "present") == "present":
                directory = f"{certs_dir.rstrip('/')}/{entry['registry']}"
                files += [directory, f"{directory}/ca.crt"]
        if isinstance(values.get("docker_rootless_state_dir"), str):  # its records of earlier runs
            files.append(values["docker_rootless_state_dir"])
        logins = [e for e in values.get("docker_registry_auth_logins") or [] if isinstance(e, dict)]
        user_files = [".docker", ".docker/config.json"] if logins else []
        return sorted(set(files)), user_files

    @staticmethod
    def _docker_repo_plan(roles: list[str], values: dict[str, Any]) -> dict[str, Any] | None:
        """docker_repo's inputs for the host read's key-and-source check (not for a bundle: its own tree)."""
        if "docker_repo" not in roles or values.get("docker_repo_bundle"):
            return None
        try:
            return {"key_path": str(values["docker_repo_key_path"]),
                    "fingerprints": [str(f) for f in values["docker_repo_key_fingerprints"]],
                    "content": str(values.get("docker_repo_key_content") or ""),
                    "legacy_cleanup": boolean(values["docker_repo_legacy_cleanup"]),
                    "mirrors": [str(m) for m in values["docker_repo_mirrors"]],
                    "probe": boolean(values["docker_repo_probe_mirrors"]),
                    "channel": str(values["docker_repo_channel"])}
        except (KeyError, TypeError):
            return None

    def _plan_still_current(self, plan: dict[str, Any], roles: list[str], values: dict[str, Any]) -> dict[str, Any]:
        """The host read's answer for docker_repo, kept only while docker_repo's inputs are the ones it was asked
        with: the role itself may run with other values than the preflight play saw (role parameters)."""
        if "docker_repo" not in roles:
            return plan
        return plan if plan and plan.get("inputs") == self._docker_repo_plan(roles, values) else {}

    # -- host-side -------------------------------------------------------------------------------------

    @staticmethod
    def _host_problems(host: dict[str, Any], values: dict[str, Any]) -> list[str]:
        checks = host.get("checks") or {}
        out = []
        missing = set(checks.get("missing_users") or [])
        for name in ("docker_engine_users",):
            for i, user in enumerate(values.get(name) or []):
                if user in missing:
                    out.append(f"{name}[{i}] = {user!r}: names a user this host does not have: {user}. "
                               "Fix: create the account first (ansible.builtin.user), or remove it from the list")
        for i, login in enumerate(values.get("docker_registry_auth_logins") or []):
            user = str(login.get("user") or "root") if isinstance(login, dict) else None
            if user in missing:
                out.append(f"docker_registry_auth_logins[{i}].user = {user!r}: names a user this host does not "
                           f"have: {user}. Fix: create the account first (ansible.builtin.user), or set the "
                           "login's user")
        for path, error in (checks.get("json_errors") or {}).items():
            out.append(f"{path} (on the host): {error}; dockprov never overwrites a file it cannot parse. "
                       "Fix: repair or remove the file by hand, then run again")
        return out
