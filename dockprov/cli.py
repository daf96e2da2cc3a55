"""The dockprov command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def _lab(args: argparse.Namespace) -> int:
    from .lab import fleet
    from .lab.dockercli import DockerError

    state = Path(args.state).resolve()
    try:
        if args.lab_cmd == "up":
            hosts = None if args.hosts is None else [h for h in args.hosts.split(",") if h]
            fleet.print_status(fleet.up(PROJECT, state, hosts=hosts, rebuild=args.rebuild), args.json)
        elif args.lab_cmd == "host":
            if args.action == "up":
                print(fleet.host_up(state, fleet.host_kind(args.kind), args.name))
            else:
                fleet.remove_host(args.name)
        elif args.lab_cmd == "ee":
            from .lab import ee

            if args.collections_only:
                versions = ee.collections(PROJECT)
                print(json.dumps(versions) if args.json else
                      f"{PROJECT / ee.ARTIFACT_DIR}: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
            else:
                built = ee.build(PROJECT, state, rebuild=args.rebuild)
                print(json.dumps(built) if args.json else
                      f"{built['image']} (key {built['key']}, built: {built['built']})")
        elif args.lab_cmd == "down":
            removed = fleet.down()
            print("removed: " + ", ".join(f"{len(v)} {k}" for k, v in removed.items()))
        else:
            fleet.print_status(fleet.status(), args.json)
    except DockerError as exc:
        print(f"dockprov lab: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dockprov", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("lab", help="the offline lab fleet: hosts, mirror.lab, registry.lab")
    lab_sub = lab.add_subparsers(dest="lab_cmd", required=True)
    up = lab_sub.add_parser("up", help="build what is missing (cached by inputs) and start the lab")
    up.add_argument("--hosts", help="comma-separated host kinds to start (default: the fleet, deb12,deb13,"
                                    "ubuntu2404,wsl; deb11 on request); '' starts only mirror.lab and registry.lab")
    up.add_argument("--rebuild", action="store_true", help="rebuild every image even if its inputs are unchanged")
    host = lab_sub.add_parser("host", help="start or remove one extra lab host (Molecule uses this)")
    host.add_argument("action", choices=["up", "rm"])
    host.add_argument("name", help="container name")
    host.add_argument("--kind", default="deb12", help="deb12, deb13, ubuntu2404, wsl or deb11 (Debian 11, Python "
                                                      "3.9; its image is built the first time)")
    ee = lab_sub.add_parser("ee", help="build the execution environment image dockprov-lab/ee with ansible-builder "
                                       "(base image from Debian packages; not part of lab up)")
    ee.add_argument("--rebuild", action="store_true", help="rebuild even if its inputs are unchanged")
    ee.add_argument("--collections-only", action="store_true",
                    help="only build/ee/collections/*.tar.gz, what execution-environment.yml installs")
    lab_sub.add_parser("down", help="remove every lab container, network and volume, and nothing else")
    lab_sub.add_parser("status", help="what runs")
    for p in lab_sub.choices.values():
        p.set_defaults(func=_lab)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--state", default=str(PROJECT / ".lab"), help="lab state and cache directory")
    from .project.commands import add_parsers

    add_parsers(sub)  # init, validate, plan
    from .bundle import add_parsers as add_bundle_parsers

    add_bundle_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
