"""The `init`, `validate` and `plan` subcommands (dockprov/cli.py wires them into the parser)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import collection, generator, plan, presets, pull, validate
from .errors import FleetError
from .fleet import from_data, load

EXIT_OK, EXIT_INVALID, EXIT_REFUSED, EXIT_FAILED = 0, 1, 2, 3


def add_parsers(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser(
        "init", help="generate an Ansible project for a fleet, using the collection dockprov.docker",
        description="Generate inventory, group_vars (with vault placeholders), site.yml, ansible.cfg, "
                    "requirements.yml and README from a fleet file, from flags, or by asking questions on a "
                    "terminal. The project depends on the collection dockprov.docker: requirements.yml pins "
                    "its artifact, copied into collections/ (built from the checkout's HEAD, or the one shipped "
                    "with an installed dockprov), or a Galaxy version (--collection-version). Existing files are "
                    "never overwritten without --force; a diff shows what would change.",
        epilog="examples:\n  dockprov init --fleet examples/fleet.yml myfleet\n"
               "  dockprov init --host web1=192.0.2.11 --host laptop=192.0.2.51,wsl --mirror-preset ustc "
               "--registry-mirror https://abc.mirror.aliyuncs.com myfleet\n"
               "  dockprov init --lab --lab-host deb12 /tmp/labproject",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("dest", nargs="?", default=".", help="project directory (default: the current one)")
    source = init.add_argument_group("where the fleet comes from (one of; questions on a terminal if none)")
    source.add_argument("--fleet", metavar="FILE", help="a fleet file (see docs/fleet-file.md)")
    source.add_argument("--host", action="append", default=[], metavar="NAME=ADDRESS[,wsl|gpu|auto|docker]",
                        help="a host; repeat for more. Flags after the address: wsl, gpu, auto, server "
                             "(default), docker/local (connection)")
    source.add_argument("--lab", action="store_true", help="the offline lab fleet (dockprov lab up)")
    init.add_argument("--lab-host", action="append", metavar="NAME",
                      help="with --lab: only these lab hosts (deb12, dockprov-wsl, ...); default all")
    init.add_argument("--name", help="fleet name (with --host)")
    init.add_argument("--user", help="SSH user for every host (with --host)")
    init.add_argument("--mirror-preset", action="append", default=[], metavar="PRESET",
                      help="Docker repo mirror preset, in order (official, aliyun, ustc, tuna, azure-china)")
    init.add_argument("--repo-mirror", action="append", default=[], metavar="URL",
                      help="Docker repo mirror base URL, after the presets")
    init.add_argument("--registry-mirror", action="append", default=[], metavar="URL",
                      help="registry mirror for image pulls (daemon.json registry-mirrors)")
    init.add_argument("--docker-user", action="append", default=[], metavar="USER",
                      help="user added to the docker group")
    pin = init.add_argument_group("which dockprov.docker the project pins (default: dockprov's own artifact)")
    pin.add_argument("--collection-version", metavar="VERSION",
                     help="pin this version from Galaxy instead of copying an artifact into the project")
    pin.add_argument("--collection-artifact", metavar="FILE",
                     help="copy this artifact (ansible-galaxy collection build output) into the project")
    init.add_argument("--force", action="store_true", help="overwrite files that differ")
    init.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    init.add_argument("--diff", action="store_true", help="show the diff of every file written or changed")
    pull.add_arguments(init)  # --pull URL: pull/ (ansible-pull runner, timer, WSL boot command), see docs/pull-mode.md
    init.set_defaults(func=cmd_init)

    val = sub.add_parser(
        "validate", help="check a project's variables and fleet file",
        description="Check group_vars, host_vars and inventory variables against the meta/argument_specs.yml "
                    "of each role of the collection the project runs (its installed copy in collections/, else "
                    "the artifact requirements.yml pins), for types, choices and misspelled names, and fleet.yml "
                    "against the fleet schema. Each error names the file, the key, the problem and the fix. Exit "
                    "1 on any error; warnings (an unencrypted vault file, an installed collection that is not the "
                    "pinned one) do not fail.")
    val.add_argument("path", nargs="?", default=".", help="project directory, or a fleet file")
    val.add_argument("--json", action="store_true", help="machine-readable output")
    val.set_defaults(func=cmd_validate)

    pl = sub.add_parser(
        "plan", help="show per host what a run would do (check mode)",
        description="Run `ansible-playbook --check --diff` with the ansible.posix.json callback and print, per "
                    "host: repo and mirror, key source, packages and pin, the daemon.json diff, reload or "
                    "restart, the WSL patch and the GPU toolkit. Nothing on the hosts changes. Exit 3 when a host's "
                    "check-mode run failed (the table shows where).")
    pl.add_argument("path", nargs="?", default=".", help="project directory (with site.yml and ansible.cfg)")
    pl.add_argument("--lab", action="store_true", help="plan dockprov's own site.yml on inventory/lab")
    pl.add_argument("-i", "--inventory", help="inventory to use instead of the project's")
    pl.add_argument("-l", "--limit", help="only these hosts (ansible --limit pattern)")
    pl.add_argument("--json", action="store_true", help="the plan as JSON")
    pl.set_defaults(func=cmd_plan)


def _fleet_from_args(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    chosen = [bool(args.fleet), bool(args.host), bool(args.lab)]
    if sum(chosen) > 1:
        raise SystemExit("dockprov init: give one of --fleet, --host or --lab")
    if args.fleet:
        return load(Path(args.fleet)), args.fleet
    if args.lab:
        data, key = presets.lab(args.lab_host)
        fleet = from_data(data, "lab preset")
        fleet["key_text"] = key
        return fleet, "the lab preset (inventory/lab)"
    if args.host:
        data = presets.from_flags(args.host, args.user, args.mirror_preset, args.repo_mirror,
                                  args.registry_mirror, args.docker_user, args.name)
        return from_data(data, "command line"), "command-line flags"
    if sys.stdin.isatty():
        return from_data(presets.ask(), "answers"), "answers to dockprov init's questions"
    raise SystemExit("dockprov init: give --fleet FILE, --host NAME=ADDRESS or --lab (or run it in a terminal)")


def cmd_init(args: argparse.Namespace) -> int:
    if args.collection_artifact and not args.collection_version:
        # The fleet is checked against the collection the project will get.
        try:
            with collection.chosen(Path(args.collection_artifact)):
                return _init(args)
        except collection.CollectionError as exc:
            print(f"dockprov init: {exc}; nothing was written.", file=sys.stderr)
            return EXIT_INVALID
    return _init(args)


def _init(args: argparse.Namespace) -> int:
    try:
        fleet, label = _fleet_from_args(args)
    except FleetError as exc:
        for finding in exc.findings:
            print(finding, file=sys.stderr)
        print(f"dockprov init: {len(exc.findings)} error(s); nothing was written.", file=sys.stderr)
        return EXIT_INVALID
    except (FileNotFoundError, ValueError, collection.CollectionError) as exc:
        print(f"dockprov init: {exc}; nothing was written.", file=sys.stderr)
        return EXIT_INVALID
    try:
        artifact = Path(args.collection_artifact) if args.collection_artifact else None
        pinned = generator.pin(args.collection_version, artifact)
        files = generator.render(fleet, label, pinned)
        pulled = pull.files(fleet, files, args.pull, args.pull_branch, args.pull_interval) if args.pull else {}
        files.update({rel: generator.File(text, mode) for rel, (text, mode) in pulled.items()})
    except (ValueError, collection.CollectionError) as exc:
        print(f"dockprov init: {exc}; nothing was written.", file=sys.stderr)
        return EXIT_INVALID
    dest = Path(args.dest)
    todo = generator.changes(dest, files)
    created = [c for c in todo if c.status == "create"]
    updated = [c for c in todo if c.status == "update"]
    for change in todo:
        if change.status == "update" or (args.diff and change.status != "same"):
            print(change.diff(), end="")
    summary = (f"{dest}: {len(created)} to create, {len(updated)} to update, "
               f"{sum(c.status == 'same' for c in todo)} unchanged")
    if updated and not args.force:
        print(f"{summary}.\ndockprov init: {len(updated)} existing file(s) differ (diff above): nothing was "
              "written. Re-run with --force to overwrite them.", file=sys.stderr)
        return EXIT_REFUSED
    if args.dry_run:
        for change in created:
            print(f"would create {change.path}")
        print(f"{summary} (dry run: nothing written).")
        return EXIT_OK
    generator.apply(dest, todo)
    pull.chmod(dest, pulled)
    if pinned.artifact is not None:
        print(f"collection: {collection.FQCN} {pinned.version} in {pinned.path}, {pinned.artifact.origin}")
        if any(c.path == pinned.path and c.status == "update" for c in todo):
            print(f"  replaced: install it over the old copy with `ansible-galaxy collection install --offline "
                  f"--force -p collections {pinned.path}` in {dest}")
    else:
        print(f"collection: {collection.FQCN} {pinned.version} from Galaxy (requirements.yml)")
    for stale in generator.stale_artifacts(dest, files):
        print(f"  {stale} is no longer pinned by requirements.yml: delete it")
    print(f"{summary}. Next: cd {dest} && ansible-galaxy collection install -r requirements.yml && "
          "dockprov validate . && ansible-playbook site.yml --check --diff")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.is_file():
        try:
            load(path)
            findings = []
        except FleetError as exc:
            findings = exc.findings
    elif path.is_dir():
        findings = validate.validate_project(path)
    else:
        print(f"dockprov validate: {path}: no such file or directory", file=sys.stderr)
        return EXIT_INVALID
    errors = [f for f in findings if f.severity == "error"]
    if args.json:
        print(json.dumps([f.__dict__ for f in findings], indent=2))
    else:
        for finding in findings:
            print(finding, file=sys.stderr if finding.severity == "error" else sys.stdout)
        print(f"{path}: {len(errors)} error(s), {len(findings) - len(errors)} warning(s)")
    return EXIT_INVALID if errors else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    if args.lab:  # the lab is the checkout's: its site.yml, inventory/lab, collections/ linking to the checkout
        project = collection.CHECKOUT
        inventory = Path(args.inventory or project / "inventory" / "lab")
    else:
        project = Path(args.path).resolve()
        inventory = Path(args.inventory).resolve() if args.inventory else None
    playbook = project / "site.yml"
    if not playbook.is_file():
        print(f"dockprov plan: {playbook} not found (give a project made by dockprov init, or --lab)",
              file=sys.stderr)
        return EXIT_INVALID
    if not args.lab and collection.installed(project) is None and collection.required(project):
        print(f"dockprov plan: {project / collection.INSTALLED} is missing: run `ansible-galaxy collection install "
              f"-r requirements.yml` in {project} first", file=sys.stderr)
        return EXIT_INVALID
    if not args.lab and collection.installed_matches(project) is False:
        print(f"dockprov plan: warning: the installed {collection.FQCN} is not the artifact requirements.yml pins; "
              "the plan is for the installed one", file=sys.stderr)
    config = project / "ansible.cfg"
    try:
        doc = plan.run_check(playbook, inventory, config if config.is_file() else None, args.limit)
    except RuntimeError as exc:
        print(f"dockprov plan: {exc}", file=sys.stderr)
        return EXIT_FAILED
    plans = plan.build(doc, None if args.lab else project)
    if args.json:
        print(json.dumps([p.__dict__ for p in plans], indent=2))
    else:
        print(plan.render(plans), end="")
    return EXIT_FAILED if any(p.failed for p in plans) else EXIT_OK
