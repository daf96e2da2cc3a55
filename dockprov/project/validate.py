"""`dockprov validate`: a project's variables against the roles' argument specs, and its fleet file.

The specs are the roles' meta/argument_specs.yml in the collection the project runs (collection.for_project: its
installed copy in collections/, else the artifact requirements.yml pins, else dockprov's own), so a project is
judged by the roles it will really run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from . import collection
from . import fleet as fleet_mod
from .errors import Finding, closest
from .schema import type_name

VAR_DIRS = ("inventory/group_vars", "inventory/host_vars", "group_vars", "host_vars")
# Prefixes that belong to the project or to Ansible, not to one role.
FREE_PREFIXES = ("ansible_", "vault_", "dockprov_")
TEMPLATE_TYPES = {"str", "path", "raw"}


class _Loader(yaml.SafeLoader):
    """Reads inline `!vault` and `!unsafe` values as opaque strings instead of failing."""


_Loader.add_constructor("!vault", lambda loader, node: "<vaulted>")
_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def role_specs(content: collection.Content) -> dict[str, dict[str, dict[str, Any]]]:
    """role -> option -> spec, over all of the role's entry points."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for rel in content.glob("roles/*/meta/argument_specs.yml"):
        specs = yaml.safe_load(content.text(rel) or "") or {}
        options: dict[str, dict[str, Any]] = {}
        for entry in (specs.get("argument_specs") or {}).values():
            options.update((entry or {}).get("options") or {})
        out[rel.split("/")[1]] = options
    return out


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _type_problem(spec: dict[str, Any], value: Any, leaf: str) -> tuple[str, str] | None:
    kind = spec.get("type", "str")
    if _is_template(value) or value == "<vaulted>":
        return None  # decided at run time; argument_specs checks it then
    if value is None:
        return None if not spec.get("required") else ("is null", f"give {leaf} a value")
    if kind in ("str", "path"):
        if not isinstance(value, str):
            return (f"expected a string, got {type_name(value)}", f'quote it: {leaf}: "{value}"')
    elif kind == "bool":
        if not isinstance(value, bool):
            return (f"expected true or false, got {type_name(value)}", f"write {leaf}: true or false, unquoted")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return (f"expected a whole number, got {type_name(value)}", f"write {leaf}: <number>, unquoted")
    elif kind == "list":
        if not isinstance(value, list):
            example = f"[{value}]" if isinstance(value, str) else "[...]"
            return (f"expected a list, got {type_name(value)}", f"write it as a list: {leaf}: {example}")
        elements = spec.get("elements")
        for i, item in enumerate(value):
            if elements in ("str", "path") and not isinstance(item, str) and not _is_template(item):
                return (f"item {i} should be a string, got {type_name(item)}", f'quote it: "{item}"')
            if elements == "dict" and not isinstance(item, dict):
                return (f"item {i} should be a mapping, got {type_name(item)}", "write each item as key: value")
    elif kind == "dict" and not isinstance(value, dict):
        return (f"expected a mapping, got {type_name(value)}", f"indent key: value pairs under {leaf}")
    choices = spec.get("choices")
    if choices and value not in choices:
        guess = closest(str(value), [str(c) for c in choices])
        hint = f"did you mean '{guess}'? " if guess else ""
        return (f"'{value}' is not one of {', '.join(map(str, choices))}", f"{hint}use one of {choices}")
    return None


def check_vars(variables: dict[str, Any], file: str, specs: dict[str, dict[str, dict[str, Any]]],
               where: str = "") -> list[Finding]:
    out: list[Finding] = []
    roles = sorted(specs, key=len, reverse=True)  # longest prefix wins
    every = {name for options in specs.values() for name in options}
    for name, value in variables.items():
        key = f"{where}{name}"
        if not isinstance(name, str) or name.startswith(FREE_PREFIXES) or name.startswith("_"):
            continue
        role = next((r for r in roles if name.startswith(r + "_")), None)
        if role is None:
            # Not a role's variable unless it looks like one (docker_... with a mistyped role name).
            if name.startswith("docker_") or name.startswith("nvidia_"):
                guess = closest(name, every)
                fix = f"did you mean '{guess}'?" if guess else f"role variables start with {', '.join(specs)}"
                out.append(Finding(file, key, "no role has this variable", fix))
            continue
        spec = specs[role].get(name)
        if spec is None:
            guess = closest(name, specs[role])
            fix = (f"did you mean '{guess}'?" if guess
                   else f"see roles/{role}/README.md; {role} knows: {', '.join(sorted(specs[role]))}")
            out.append(Finding(file, key, f"unknown {role} variable (not in roles/{role}/meta/argument_specs.yml)",
                               fix))
            continue
        out.extend(Finding(file, path, problem, fix) for path, problem, fix in _check(spec, value, key))
    return out


def _check(spec: dict[str, Any], value: Any, key: str) -> list[tuple[str, str, str]]:
    """Type and choices of `value`, then the suboptions of dict values or list-of-dict items (unknown keys
    with the closest known one, missing required keys), recursively."""
    problem = _type_problem(spec, value, key.rsplit(".", 1)[-1])
    if problem:
        return [(key, *problem)]
    options = spec.get("options")
    if not options or _is_template(value):
        return []
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    out: list[tuple[str, str, str]] = []
    for i, item in items:
        if not isinstance(item, dict):
            continue
        path = key if i is None else f"{key}[{i}]"
        for sub, sub_value in item.items():
            if sub not in options:
                guess = closest(str(sub), options)
                fix = f"did you mean '{guess}'?" if guess else f"known keys: {', '.join(sorted(options))}"
                out.append((f"{path}.{sub}", "unknown key", fix))
            else:
                out.extend(_check(options[sub], sub_value, f"{path}.{sub}"))
        for sub, sub_spec in options.items():
            if sub_spec.get("required") and sub not in item:
                out.append((f"{path}.{sub}", "missing (required)", f"add {sub}: to this entry"))
    return out


def _load(path: Path, project: Path) -> tuple[Any, list[Finding]]:
    rel = str(path.relative_to(project))
    text = path.read_text()
    if text.startswith("$ANSIBLE_VAULT"):
        return None, []
    try:
        return yaml.load(text, Loader=_Loader), []  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        return None, [Finding(rel, where, f"not valid YAML ({getattr(exc, 'problem', exc)})", "fix the syntax")]


def _inventory_vars(data: Any, rel: str, specs: dict[str, dict[str, dict[str, Any]]]) -> list[Finding]:
    """Vars written inline in a YAML inventory (group vars: and per-host values)."""
    out: list[Finding] = []

    def walk(group: str, body: Any) -> None:
        if not isinstance(body, dict):
            return
        out.extend(check_vars(body.get("vars") or {}, rel, specs, f"{group}.vars."))
        for host, hvars in (body.get("hosts") or {}).items():
            if isinstance(hvars, dict):
                out.extend(check_vars(hvars, rel, specs, f"{group}.hosts.{host}."))
        for child, cbody in (body.get("children") or {}).items():
            walk(f"{group}.children.{child}", cbody)

    for group, body in (data or {}).items():
        walk(group, body)
    if isinstance(data, dict) and "docker_hosts" not in data:
        out.append(Finding(rel, "docker_hosts", "missing: site.yml plays on the docker_hosts group",
                           "put every host under docker_hosts (children servers, wsl, gpu)"))
    return out


def validate_project(project: Path) -> list[Finding]:
    """Every finding for a generated (or hand-written) project directory."""
    findings: list[Finding] = []
    try:
        content = collection.for_project(project)
    except collection.CollectionError as exc:
        return [Finding(str(project), "requirements.yml", f"no {collection.FQCN} to check against ({exc})",
                        "install the collection: ansible-galaxy collection install -r requirements.yml")]
    specs = role_specs(content)
    if not specs:
        return [Finding(str(project), content.where, "no roles with meta/argument_specs.yml",
                        f"pin {collection.FQCN} in requirements.yml (a project made by `dockprov init` does)")]
    findings.extend(_collection_state(project))
    fleet_file = project / "fleet.yml"
    if fleet_file.is_file():
        try:
            fleet_mod.load(fleet_file)
        except fleet_mod.FleetError as exc:
            findings.extend(exc.findings)
    var_files: list[tuple[str, dict[str, Any]]] = []
    for sub in VAR_DIRS:
        for path in sorted((project / sub).rglob("*")) if (project / sub).is_dir() else []:
            if path.suffix not in (".yml", ".yaml", "") or not path.is_file():
                continue
            rel = str(path.relative_to(project))
            data, errors = _load(path, project)
            findings.extend(errors)
            if data is None:
                continue
            if not isinstance(data, dict):
                findings.append(Finding(rel, "(top level)", "not a mapping of variables", "write name: value lines"))
                continue
            findings.extend(check_vars(data, rel, specs))
            var_files.append((rel, data))
            if path.name.startswith("vault") and any(v == "CHANGE_ME" for v in data.values()):
                findings.append(Finding(rel, ", ".join(k for k, v in data.items() if v == "CHANGE_ME"),
                                        "placeholder secrets, not encrypted",
                                        f"replace CHANGE_ME, then `ansible-vault encrypt {rel}`", "warning"))
    for inventory in sorted((project / "inventory").glob("*.y*ml")) if (project / "inventory").is_dir() else []:
        data, errors = _load(inventory, project)
        findings.extend(errors)
        findings.extend(_inventory_vars(data, str(inventory.relative_to(project)), specs))
    findings.extend(_meaning(project, var_files, specs))
    return findings + _vault_references(project) + _playbook_dir_uses(project)


def _meaning(project: Path, var_files: list[tuple[str, dict[str, Any]]],
             specs: dict[str, dict[str, dict[str, Any]]]) -> list[Finding]:
    """What each value means, by the rules the collection's preflight applies before any host changes
    (plugins/module_utils/_checks.py of the collection the project runs): one source of truth. Offline, so
    values that are templates (a vault reference) and checks that need a host are left to the preflight.
    Each file's variables are judged with the others' as context (a key and its pinned fingerprints may
    live in different files)."""
    try:
        checks = collection.module_utils("_checks", project)
    except (collection.CollectionError, ImportError) as exc:
        return [Finding(str(project), "requirements.yml", f"cannot load the collection's checks ({exc})",
                        "install the collection: ansible-galaxy collection install -r requirements.yml",
                        "warning")]
    secrets: set[str] = set()
    for options in specs.values():
        secrets |= checks.secret_options(options)
    # The role's own default, resolved as the preflight resolves it ("{{ role_path }}/templates").
    context: dict[str, Any] = {
        "docker_apps_templates_dir": str(Path(checks.__file__).resolve().parents[2] / "roles/docker_apps/templates")}
    for _, data in var_files:
        context.update(data)

    def exists(path: str) -> bool:
        return Path(path).exists() if Path(path).is_absolute() else (project / path).exists()

    out: list[Finding] = []
    for rel, data in var_files:
        variables = {**context, **data}
        for problem in checks.check(variables, names=[n for n in data if isinstance(n, str)], secrets=secrets,
                                    controller_file_exists=exists):
            out.append(Finding(rel, problem.variable, f"{problem.value}: {problem.problem}", problem.fix))
    return out


def _playbook_dir_uses(project: Path) -> list[Finding]:
    """`playbook_dir` in a project's variables: with site.yml importing dockprov.docker.site it is the installed
    collection's playbooks/ directory, not the project, so a path built on it points into collections/."""
    out: list[Finding] = []
    for sub in VAR_DIRS:
        for path in sorted((project / sub).rglob("*.y*ml")) if (project / sub).is_dir() else []:
            text = path.read_text()
            if text.startswith("$ANSIBLE_VAULT"):
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if not line.lstrip().startswith("#") and re.search(r"\{\{[^}]*\bplaybook_dir\b", line):
                    out.append(Finding(str(path.relative_to(project)), f"line {number}",
                                       f"playbook_dir is the collection's playbooks/ directory here, not the project "
                                       f"(site.yml imports {collection.FQCN}.site)",
                                       "use `inventory_dir | dirname` for a path in the project, e.g. "
                                       "\"{{ inventory_dir | dirname }}/data\"", "warning"))
    return out


def _collection_state(project: Path) -> list[Finding]:
    """The pinned artifact present, and the installed copy (if any) the same as the pinned artifact."""
    pinned = collection.pinned_artifact(project)
    if pinned is None:
        return []
    rel = pinned.relative_to(project).as_posix() if pinned.is_relative_to(project) else str(pinned)
    if not pinned.is_file():
        return [Finding("requirements.yml", rel, "the pinned collection artifact is missing",
                        "regenerate the project with `dockprov init --fleet fleet.yml .` or restore the file")]
    if collection.installed_matches(project) is False:
        return [Finding(collection.INSTALLED.as_posix(), "MANIFEST.json",
                        f"the installed {collection.FQCN} is not the pinned {rel} (checked against the installed copy)",
                        f"ansible-galaxy collection install --offline --force -p collections {rel}", "warning")]
    return []


def _vault_references(project: Path) -> list[Finding]:
    """A plain variable that points at vault_x where no vault file defines it fails only at run time, on the
    first host that needs it; say so now. Skipped when a vault file is encrypted (its names are unknown)."""
    defined: set[str] = set()
    used: list[tuple[str, str]] = []
    for sub in VAR_DIRS:
        for path in sorted((project / sub).rglob("*.y*ml")) if (project / sub).is_dir() else []:
            text = path.read_text()
            if text.startswith("$ANSIBLE_VAULT"):
                return []
            rel = str(path.relative_to(project))
            defined.update(re.findall(r"^(vault_\w+)\s*:", text, re.M))
            used.extend((rel, name) for name in re.findall(r"\{\{\s*(vault_\w+)\s*\}\}", text))
    return [Finding(rel, name, "refers to a vault variable no vault file defines",
                    f"add `{name}: <secret>` to inventory/group_vars/all/vault.yml, then ansible-vault encrypt it")
            for rel, name in used if name not in defined]
