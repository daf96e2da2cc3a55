"""Repack Debian's own Docker builds under the names docker-ce's apt repository uses.

LAB STAND-IN: no package here comes from download.docker.com (not reachable from this lab). Debian's
docker.io, docker-cli, containerd, runc, docker-buildx and docker-compose binaries are renamed to
docker-ce, docker-ce-cli, containerd.io (containerd with runc inside, as Docker ships it),
docker-buildx-plugin and docker-compose-plugin, with Docker-style version strings; Debian's rootlesskit
with docker.io's rootless scripts becomes docker-ce-rootless-extras. A repack keeps the
WHOLE source package: files under /lib, conffiles and the maintainer scripts that enable and start units.
The docker-ce init script gets Docker 25's `ulimit -Hn 524288` line, so the tutorial's WSL failure
happens here for real.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from debian.deb822 import Deb822

LAB_MAINTAINER = "dockprov lab <lab@dockprov.invalid>"
# Debian's init script line and the one Docker 25+'s docker-ce init script carries instead.
DEBIAN_ULIMIT_LINE = "ulimit -n 1048576"
DOCKER25_ULIMIT_LINE = "ulimit -Hn 524288"
CLI_PATHS = ("usr/bin/docker", "usr/share/bash-completion", "usr/share/zsh", "usr/share/fish")
# docker.io's copies of the rootless scripts, and where docker-ce-rootless-extras puts them.
ROOTLESS_CONTRIB = "usr/share/docker.io/contrib"
ROOTLESS_SCRIPTS = ("dockerd-rootless.sh", "dockerd-rootless-setuptool.sh")


@dataclass(frozen=True)
class Source:
    """Files taken from one Debian binary package."""

    suite: str
    package: str
    exclude: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # when set, keep only these paths (and their parents)
    rename: tuple[tuple[str, str], ...] = ()  # (from, to) moves after pruning; emptied parents go


@dataclass(frozen=True)
class Target:
    """One dists/<codename> of the mirror, built from the packages of host_suite."""

    distro: str  # docker repo family: debian | ubuntu
    version_id: str
    codename: str
    host_suite: str  # Debian suite whose libraries the host has

    @property
    def version_tag(self) -> str:
        return f"{self.distro}.{self.version_id}~{self.codename}"


@dataclass(frozen=True)
class Spec:
    """One package to build: docker-ce's name, the Debian files it is made of, and its relations."""

    name: str
    upstream: str
    sources: tuple[Source, ...]
    depends: str
    epoch: int = 0
    revision: int = 1
    keep_scripts: bool = True  # maintainer scripts and conffiles of the first source
    provides: str = ""
    recommends: str = ""
    conflicts: str = ""
    replaces: str = ""
    docker25_init: bool = False
    description: str = ""
    distro_suffix: bool = True

    def version(self, target: Target) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        suffix = f"~{target.version_tag}" if self.distro_suffix else ""
        return f"{epoch}{self.upstream}-{self.revision}{suffix}"


TARGETS: tuple[Target, ...] = (
    Target("debian", "12", "bookworm", "bookworm"),
    Target("debian", "13", "trixie", "trixie"),
    # LAB STAND-IN: the Ubuntu 24.04-identity host is a Debian 12 userland, so noble gets bookworm's builds.
    Target("ubuntu", "24.04", "noble", "bookworm"),
    # Debian 11, the oldest target (Python 3.9): its own builds only, see BULLSEYE below.
    Target("debian", "11", "bullseye", "bullseye"),
)

# Two engines per target: bookworm's 20.10 and trixie's 26.1 (its dockerd needs only GLIBC_2.34).
ENGINES: tuple[tuple[str, str, str], ...] = (
    # upstream version, Debian suite of docker.io, Debian suite of the CLI package
    ("20.10.24", "bookworm", "bookworm"),
    ("26.1.5", "trixie", "trixie"),
)
CONTAINERDS: tuple[tuple[str, str], ...] = (("1.6.20", "bookworm"), ("1.7.24", "trixie"))
# Debian 11's glibc is 2.31, and every binary of bookworm's and trixie's docker.io, containerd, runc, buildx and
# compose needs GLIBC_2.34 (objdump -T): bullseye's dist is made of bullseye's own docker.io 20.10.5,
# containerd 1.4.13 and runc 1.0.0~rc93 (they need at most GLIBC_2.14). One version of each, and no buildx or
# compose plugin: Debian 11 has no build of either that runs there.
BULLSEYE_ENGINES: tuple[tuple[str, str, str], ...] = (("20.10.5", "bullseye", "bullseye"),)
BULLSEYE_CONTAINERDS: tuple[tuple[str, str], ...] = (("1.4.13", "bullseye"),)


def specs_for(target: Target) -> list[Spec]:
    """Everything the mirror offers for one target: two versions of each of the five packages and of
    docker-ce-rootless-extras (bullseye: one version of the engine, the CLI and containerd.io)."""
    bullseye = target.host_suite == "bullseye"
    engines, containerds = (BULLSEYE_ENGINES, BULLSEYE_CONTAINERDS) if bullseye else (ENGINES, CONTAINERDS)
    libc = "libc6 (>= 2.31)" if bullseye else "libc6 (>= 2.34)"
    specs: list[Spec] = []
    engine_depends = (
        f"containerd.io (>= {containerds[0][0].rsplit('.', 1)[0]}), docker-ce-cli, iptables, tini, adduser, "
        f"{libc}, libsystemd0"
    )
    for upstream, suite, cli_suite in engines:
        if suite in ("bookworm", "bullseye"):  # docker.io carries the CLI: split it out
            engine_src = Source(suite, "docker.io", exclude=CLI_PATHS)
            cli_src = Source(cli_suite, "docker.io", only=CLI_PATHS)
            depends = engine_depends + ", libdevmapper1.02.1, lsb-base"
        else:
            engine_src = Source(suite, "docker.io")
            cli_src = Source(cli_suite, "docker-cli")
            depends = engine_depends + ", sysvinit-utils"
        specs.append(
            Spec(
                "docker-ce", upstream, (engine_src,), depends, epoch=5,
                conflicts="docker.io, docker-engine, docker (<< 1.5~)",
                replaces="docker.io, docker-engine",
                docker25_init=True,
                description="Docker: the open-source application container engine",
            )
        )
        specs.append(
            Spec(
                "docker-ce-cli", upstream, (cli_src,), libc, epoch=5, keep_scripts=False,
                conflicts="docker.io (<< 26), docker-cli", replaces="docker.io (<< 26), docker-cli",
                description="Docker CLI: the open-source application container engine",
            )
        )
        if not bullseye:
            specs.append(rootless_extras(target, upstream, suite))
    for upstream, suite in containerds:
        specs.append(
            Spec(
                "containerd.io", upstream,
                (Source(suite, "containerd"), Source(target.host_suite, "runc")),
                f"{libc}, libseccomp2 (>= 2.5.0)",
                distro_suffix=False,
                provides="containerd, runc", conflicts="containerd, runc", replaces="containerd, runc",
                description="An open and reliable container runtime (containerd with runc)",
            )
        )
    if bullseye:
        return specs
    # Debian has one compose v2 and one buildx: the two lab versions are two revisions of the same build.
    for revision in (1, 2):
        specs.append(
            Spec("docker-buildx-plugin", "0.13.1", (Source("trixie", "docker-buildx"),), "libc6 (>= 2.34)",
                 revision=revision, description="Docker Buildx CLI plugin")
        )
        specs.append(
            Spec("docker-compose-plugin", "2.26.1", (Source("trixie", "docker-compose"),), "libc6 (>= 2.34)",
                 revision=revision, description="Docker Compose (V2) CLI plugin")
        )
    return specs


# The rolling-upgrade tree (mirror.lab/upgrade/linux/debian, Debian 12 only): everything the main tree has for
# bookworm plus a second revision of the 26.1.5 engine, so that a fleet on 26.1.5-1 has a patch release to move
# to. LAB STAND-IN: revision 2 is the same Debian build as revision 1, repacked under a new revision (Debian has
# one build of docker.io 26.1.5). It lives in a tree of its own so that nothing else in the lab installs it.
UPGRADE_TARGET = TARGETS[0]
UPGRADE_ENGINE = "26.1.5"
UPGRADE_PACKAGES = ("docker-ce", "docker-ce-cli", "docker-ce-rootless-extras")


def upgrade_specs(target: Target = UPGRADE_TARGET) -> list[Spec]:
    """Revision 2 of the engine's packages (docker-ce, its CLI and rootless extras at 26.1.5)."""
    return [replace(spec, revision=2) for spec in specs_for(target)
            if spec.upstream == UPGRADE_ENGINE and spec.name in UPGRADE_PACKAGES]


def rootless_extras(target: Target, upstream: str, engine_suite: str) -> Spec:
    """LAB STAND-IN for Docker's docker-ce-rootless-extras: Debian's rootlesskit (the host suite's build) with
    the engine's own dockerd-rootless.sh and dockerd-rootless-setuptool.sh from docker.io, moved to /usr/bin
    where Docker's package has them. Docker's also carries vpnkit; Debian has none (slirp4netns instead)."""
    scripts = tuple(f"{ROOTLESS_CONTRIB}/{name}" for name in ROOTLESS_SCRIPTS)
    return Spec(
        "docker-ce-rootless-extras", upstream,
        (Source(target.host_suite, "rootlesskit"),
         Source(engine_suite, "docker.io", only=scripts,
                rename=tuple((path, f"usr/bin/{name}") for path, name in zip(scripts, ROOTLESS_SCRIPTS, strict=True)))),
        "libc6 (>= 2.34)", epoch=5, keep_scripts=False,
        recommends="slirp4netns (>= 0.4.0)", conflicts="rootlesskit", replaces="rootlesskit",
        description="Rootless support for Docker (rootlesskit, dockerd-rootless.sh)",
    )


def deb_filename(spec: Spec, target: Target, arch: str) -> str:
    version = spec.version(target).split(":", 1)[-1]
    return f"{spec.name}_{version}_{arch}.deb"


def patch_init_script(text: str) -> str:
    """Turn Debian's init script into Docker 25's: `ulimit -n 1048576` becomes `ulimit -Hn 524288`."""
    if not re.search(r"^set -e\s*$", text, re.MULTILINE):
        raise ValueError("init script is not a `set -e` script: the lab would not reproduce the WSL bug")
    pattern = re.compile(rf"^([ \t]*){re.escape(DEBIAN_ULIMIT_LINE)}[ \t]*$", re.MULTILINE)
    new, count = pattern.subn(rf"\g<1>{DOCKER25_ULIMIT_LINE}", text)
    if count != 1:
        raise ValueError(f"expected one `{DEBIAN_ULIMIT_LINE}` line in the init script, found {count}")
    return new


def control_fields(spec: Spec, target: Target, original: Deb822, arch: str, origin: str) -> Deb822:
    """The DEBIAN/control of the repacked package."""
    fields: list[tuple[str, str]] = [
        ("Package", spec.name),
        ("Version", spec.version(target)),
        ("Architecture", arch),
        ("Maintainer", LAB_MAINTAINER),
        ("Installed-Size", original.get("Installed-Size", "0")),
        ("Depends", spec.depends),
    ]
    for key, value in (("Provides", spec.provides), ("Recommends", spec.recommends), ("Conflicts", spec.conflicts),
                       ("Replaces", spec.replaces)):
        if value:
            fields.append((key, value))
    fields += [
        ("Section", "admin"),
        ("Priority", "optional"),
        ("Homepage", "https://www.docker.com"),
        ("X-Dockprov-Lab-Source", origin),
        ("Description", f"{spec.description} (dockprov lab stand-in)\n"
                        f" LAB STAND-IN repacked from Debian's {origin}; not Docker's own build."),
    ]
    control = Deb822()
    for key, value in fields:
        control[key] = value
    return control


def _prune(root: Path, exclude: tuple[str, ...], only: tuple[str, ...]) -> None:
    for rel in exclude:
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    if only:
        keep = {root / rel for rel in only}
        for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.parts[len(root.parts)] == "DEBIAN":
                continue
            if any(path == k or k in path.parents for k in keep) or any(path in k.parents for k in keep):
                continue
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            else:
                path.unlink()


def _rename(root: Path, moves: tuple[tuple[str, str], ...]) -> None:
    for old, new in moves:
        target = root / new
        target.parent.mkdir(parents=True, exist_ok=True)
        (root / old).rename(target)
        parent = (root / old).parent
        while parent != root and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _md5sums(root: Path) -> str:
    lines = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == "DEBIAN" or path.is_symlink() or not path.is_file():
            continue
        lines.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {rel.as_posix()}")  # noqa: S324 (dpkg format)
    return "\n".join(lines) + "\n"


def repack(
    spec: Spec,
    target: Target,
    debs: dict[tuple[str, str], tuple[str, Path]],
    out_dir: Path,
    arch: str,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
) -> Path:
    """Build one package into out_dir from the Debian .debs in `debs` ((suite, package) -> (version, path))."""
    out = out_dir / deb_filename(spec, target, arch)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        root = Path(tmp, "root")
        origins = []
        for index, source in enumerate(spec.sources):
            version, deb = debs[(source.suite, source.package)]
            origins.append(f"{source.package} {version} ({source.suite})")
            part = Path(tmp, f"src{index}")
            run(["dpkg-deb", "-R", str(deb), str(part)], check=True)
            _prune(part, source.exclude, source.only)
            _rename(part, source.rename)
            if index == 0:
                shutil.move(str(part), root)
                original = Deb822((root / "DEBIAN/control").read_text())
            else:
                shutil.rmtree(part / "DEBIAN")
                shutil.copytree(part, root, symlinks=True, dirs_exist_ok=True)
        debian = root / "DEBIAN"
        if not spec.keep_scripts:
            for path in debian.iterdir():
                if path.name != "control":
                    path.unlink()
        conffiles = debian / "conffiles"
        if conffiles.exists():
            kept = [line for line in conffiles.read_text().splitlines()
                    if line.strip() and (root / line.strip().lstrip("/")).exists()]
            if kept:
                conffiles.write_text("\n".join(kept) + "\n")
            else:
                conffiles.unlink()
        if spec.docker25_init:
            init = root / "etc/init.d/docker"
            init.write_text(patch_init_script(init.read_text()))
        (debian / "md5sums").write_text(_md5sums(root))
        control = control_fields(spec, target, original, arch, " + ".join(origins))
        (debian / "control").write_text(control.dump())
        run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "-b", str(root), str(out)],
            check=True, capture_output=True)
    return out


@dataclass
class Plan:
    """Which Debian packages to download for a set of targets."""

    targets: tuple[Target, ...] = TARGETS
    needed: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for target in self.targets:
            for spec in specs_for(target):
                for source in spec.sources:
                    self.needed.add((source.suite, source.package))
