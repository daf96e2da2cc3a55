"""dockprov.lab.repack: the LAB STAND-IN docker-ce-rootless-extras (Debian's rootlesskit + docker.io's scripts)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dockprov.lab import repack
from dockprov.lab.repack import Source, Target

BOOKWORM = Target("debian", "12", "bookworm", "bookworm")
TRIXIE = Target("debian", "13", "trixie", "trixie")
NOBLE = Target("ubuntu", "24.04", "noble", "bookworm")
BULLSEYE = Target("debian", "11", "bullseye", "bullseye")
CONTRIB = "usr/share/docker.io/contrib"


def _extras(target: Target) -> dict[str, repack.Spec]:
    return {s.upstream: s for s in repack.specs_for(target) if s.name == "docker-ce-rootless-extras"}


def test_one_per_engine_with_docker_ce_versions():
    for target in (BOOKWORM, TRIXIE, NOBLE):
        extras = _extras(target)
        assert sorted(extras) == ["20.10.24", "26.1.5"]
        ce = {s.upstream: s for s in repack.specs_for(target) if s.name == "docker-ce"}
        # the same version strings as docker-ce: the role installs the extras at the engine's version
        assert {v: s.version(target) for v, s in extras.items()} == {v: s.version(target) for v, s in ce.items()}
    assert _extras(BULLSEYE) == {}


def test_sources_rootlesskit_of_the_host_suite_and_the_engines_scripts():
    spec = _extras(NOBLE)["26.1.5"]
    assert spec.sources[0] == Source("bookworm", "rootlesskit")  # noble is a bookworm userland
    scripts = spec.sources[1]
    assert (scripts.suite, scripts.package) == ("trixie", "docker.io")
    assert scripts.only == (f"{CONTRIB}/dockerd-rootless.sh", f"{CONTRIB}/dockerd-rootless-setuptool.sh")
    assert dict(scripts.rename) == {f"{CONTRIB}/dockerd-rootless.sh": "usr/bin/dockerd-rootless.sh",
                                    f"{CONTRIB}/dockerd-rootless-setuptool.sh": "usr/bin/dockerd-rootless-setuptool.sh"}
    assert _extras(TRIXIE)["20.10.24"].sources[0] == Source("trixie", "rootlesskit")
    assert not spec.keep_scripts and spec.epoch == 5
    assert (spec.recommends, spec.conflicts, spec.replaces) == ("slirp4netns (>= 0.4.0)", "rootlesskit", "rootlesskit")


def test_repack_moves_the_scripts_to_usr_bin(make_deb, tmp_path):
    rootlesskit = make_deb(
        "rootlesskit_1.1.0-1_amd64.deb", "rootlesskit", "1.1.0-1",
        {"usr/bin/rootlesskit": "rk\n", "usr/bin/rootlessctl": "ctl\n", "usr/share/doc/rootlesskit/copyright": "c\n"},
        scripts={"postinst": "#!/bin/sh\n"},
    )
    docker_io = make_deb(
        "docker.io_26.1.5-1_amd64.deb", "docker.io", "26.1.5-1",
        {"usr/sbin/dockerd": "d\n", f"{CONTRIB}/dockerd-rootless.sh": "#!/bin/sh\n",
         f"{CONTRIB}/dockerd-rootless-setuptool.sh": "#!/bin/sh\n", f"{CONTRIB}/check-config.sh": "#!/bin/sh\n"},
    )
    spec = _extras(BOOKWORM)["26.1.5"]
    debs = {("bookworm", "rootlesskit"): ("1.1.0-1", rootlesskit), ("trixie", "docker.io"): ("26.1.5-1", docker_io)}
    deb = repack.repack(spec, BOOKWORM, debs, tmp_path, "amd64")
    assert deb.name == "docker-ce-rootless-extras_26.1.5-1~debian.12~bookworm_amd64.deb"
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True, capture_output=True, text=True).stdout
    files = {line.split(None, 5)[5].removeprefix("./").rstrip("/") for line in listing.splitlines()} - {""}
    assert {"usr/bin/rootlesskit", "usr/bin/rootlessctl", "usr/bin/dockerd-rootless.sh",
            "usr/bin/dockerd-rootless-setuptool.sh"} <= files
    # only the two scripts from docker.io, and no empty contrib directory left behind
    assert not any(f.startswith("usr/share/docker.io") or f.startswith("usr/sbin") for f in files)
    info = subprocess.run(["dpkg-deb", "-f", str(deb), "Version", "Recommends", "Conflicts", "X-Dockprov-Lab-Source"],
                          check=True, capture_output=True, text=True).stdout
    assert "Version: 5:26.1.5-1~debian.12~bookworm" in info
    assert "Recommends: slirp4netns (>= 0.4.0)" in info and "Conflicts: rootlesskit" in info
    assert "rootlesskit 1.1.0-1 (bookworm) + docker.io 26.1.5-1 (trixie)" in info
    control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], check=True, capture_output=True).stdout
    assert b"postinst" not in control  # rootlesskit's maintainer scripts are not carried
    assert Path(deb).stat().st_size > 0
