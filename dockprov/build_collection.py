"""Put the collection artifact into the dockprov package before building a wheel.

    python -m dockprov.build_collection            # from a checkout: dockprov/collection/dockprov-docker-<v>.tar.gz
    pip wheel --no-deps -w dist .                  # the wheel now carries it (package data)

The artifact is `ansible-galaxy collection build` run on the checkout's committed tree (HEAD), exactly what
`dockprov init` copies into a project when it runs from the checkout. An installed dockprov (a wheel, no checkout)
has no other source for the collection: without this step its `init` asks for --collection-artifact or
--collection-version. The file is git-ignored; rerun this after every commit that should reach a wheel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .project import collection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dockprov.build_collection", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(collection.PACKAGED),
                        help="directory for the artifact (default: the package's own, %(default)s)")
    args = parser.parse_args(argv)
    try:
        artifact = collection.build_from_checkout()
    except collection.CollectionError as exc:
        print(f"dockprov.build_collection: {exc}", file=sys.stderr)
        return 1
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(collection.ARTIFACT_GLOB):
        old.unlink()  # one artifact only: the newest build
    target = out / artifact.filename
    target.write_bytes(artifact.data)
    print(f"{target}: {collection.FQCN} {artifact.version}, {artifact.origin}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
