"""Build the lab's images. Nothing is pulled: base images come from debootstrap + `docker import`,
the rest are built FROM them. Each image carries the key of its inputs; a matching image is reused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import apps, aptrepo, cachekey, gpgkey, nvidia, repack
from .debian import Archive, archive_url
from .dockercli import IMAGE_LABEL, KEY_LABEL, docker, image_key

FILES = Path(__file__).parent / "files"
PREFIX = "dockprov-lab"
SUITES = ("bookworm", "trixie")
MIRROR_KEY_UID = "dockprov lab mirror <mirror@dockprov.lab>"


def log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class HostKind:
    name: str  # inventory/container name suffix
    dockerfile: str
    base: str  # image the Dockerfile builds FROM
    systemd: bool
    description: str
    extra_files: tuple[str, ...] = ()
    fleet: bool = True  # part of `dockprov lab up`'s fleet; False: built and started only on demand


HOST_KINDS: tuple[HostKind, ...] = (
    HostKind("deb12", "host-systemd.Dockerfile", f"{PREFIX}/base-bookworm", True, "Debian 12, systemd"),
    HostKind("deb13", "host-systemd.Dockerfile", f"{PREFIX}/base-trixie", True, "Debian 13, systemd"),
    HostKind("ubuntu2404", "host-ubuntu.Dockerfile", f"{PREFIX}/host-deb12", True,
             "Ubuntu 24.04 identity on Debian 12 (stand-in), systemd",
             ("os-release-ubuntu2404", "lsb-release-ubuntu2404")),
    HostKind("wsl", "host-wsl.Dockerfile", f"{PREFIX}/base-bookworm", False,
             "WSL2 stand-in: Debian 12, no systemd", ("wsl-init",)),
    # The oldest target Python (3.9). Not in the fleet: `dockprov lab host up NAME --kind deb11` builds its
    # base and image the first time (about a minute), so `lab up` costs nothing more.
    HostKind("deb11", "host-systemd.Dockerfile", f"{PREFIX}/base-bullseye", True,
             "Debian 11, systemd, Python 3.9", fleet=False),
)
FLEET_KINDS: tuple[HostKind, ...] = tuple(k for k in HOST_KINDS if k.fleet)


def host_image(kind: HostKind) -> str:
    return f"{PREFIX}/host-{kind.name}"


def dpkg_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


class Builder:
    def __init__(self, state_dir: Path, rebuild: bool = False) -> None:
        self.state = state_dir
        self.rebuild = rebuild
        self.arch = dpkg_arch()
        self.keys: dict[str, str] = {}

    # --- helpers -------------------------------------------------------------------------------------
    def _fresh(self, image: str, key: str) -> bool:
        self.keys[image] = key
        if not self.rebuild and image_key(image) == key:
            log(f"{image}: up to date")
            return True
        return False

    def _build(self, image: str, key: str, dockerfile: Path, context: Path, base: str | None = None) -> None:
        log(f"{image}: building")
        args = ["build", "-q", "-t", image, "--label", f"{KEY_LABEL}={key}", "--label", f"{IMAGE_LABEL}=1",
                "-f", str(dockerfile)]
        if base:
            args += ["--build-arg", f"BASE={base}"]
        docker(*args, str(context))

    # --- base images ---------------------------------------------------------------------------------
    def base(self, suite: str) -> str:
        image = f"{PREFIX}/base-{suite}"
        mirror = archive_url()
        key = cachekey.key("debootstrap minbase python3", suite, mirror, IMAGE_LABEL)
        if self._fresh(image, key):
            return image
        log(f"{image}: debootstrap {suite} from {mirror} (about a minute)")
        work = Path(tempfile.mkdtemp(prefix=f"rootfs-{suite}-", dir=self._tmp()))
        try:
            subprocess.run(
                ["debootstrap", "--variant=minbase", "--include=python3", suite, str(work), mirror],
                check=True, capture_output=True,
            )
            tar = subprocess.Popen(["tar", "-C", str(work), "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(
                ["docker", "import", "--change", f"LABEL {KEY_LABEL}={key}", "--change", f"LABEL {IMAGE_LABEL}=1",
                 "--change", 'CMD ["/bin/bash"]', "-", image],
                stdin=tar.stdout, check=True, capture_output=True,
            )
            tar.wait()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return image

    def _tmp(self) -> Path:
        path = self.state / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- hosts ---------------------------------------------------------------------------------------
    def hosts(self, kinds: tuple[HostKind, ...] = FLEET_KINDS) -> None:
        for kind in kinds:  # ordered: ubuntu2404 builds FROM host-deb12
            dockerfile = FILES / kind.dockerfile
            parts: list = [dockerfile, self.keys[kind.base]] + [FILES / f for f in kind.extra_files]
            key = cachekey.key(*parts)
            image = host_image(kind)
            if not self._fresh(image, key):
                self._build(image, key, dockerfile, FILES, kind.base)

    # --- registry and hello-world --------------------------------------------------------------------
    def registry(self) -> str:
        image = f"{PREFIX}/registry"
        dockerfile = FILES / "registry.Dockerfile"
        key = cachekey.key(dockerfile, FILES / "registry-config.yml", self.keys[f"{PREFIX}/base-bookworm"])
        if not self._fresh(image, key):
            self._build(image, key, dockerfile, FILES, f"{PREFIX}/base-bookworm")
        return image

    def hello(self) -> str:
        image = f"{PREFIX}/hello-world"
        src = FILES / "hello"
        key = cachekey.key(src / "hello.c", src / "Dockerfile", IMAGE_LABEL)
        if self._fresh(image, key):
            return image
        with tempfile.TemporaryDirectory(dir=self._tmp()) as tmp:
            shutil.copy(src / "Dockerfile", tmp)
            subprocess.run(["gcc", "-static", "-Os", "-s", "-o", f"{tmp}/hello", str(src / "hello.c")],
                           check=True, capture_output=True)
            self._build(image, key, Path(tmp, "Dockerfile"), Path(tmp))
        return image

    # --- apt mirror ----------------------------------------------------------------------------------
    def mirror_key(self) -> tuple[str, str]:
        gnupghome = self.state / "gnupg"
        fpr = gpgkey.ensure_key(gnupghome, MIRROR_KEY_UID)
        return fpr, gpgkey.export_armored(gnupghome, fpr)

    def mirror(self) -> str:
        image = f"{PREFIX}/mirror"
        fpr, armored = self.mirror_key()
        lab_dir = Path(__file__).parent
        key = cachekey.key(fpr, self.arch, self.keys[f"{PREFIX}/base-bookworm"],
                           lab_dir / "repack.py", lab_dir / "aptrepo.py", FILES / "mirror.Dockerfile",
                           lab_dir / "nvidia.py")
        if self._fresh(image, key):
            return image
        context = self.state / "mirror-build"
        shutil.rmtree(context, ignore_errors=True)
        root = context / "repo"
        root.mkdir(parents=True)
        archive = Archive(self.state / "debs", arch=self.arch)
        plan = repack.Plan()
        log(f"mirror: fetching {len(plan.needed)} Debian packages (signatures checked)")
        debs = {}
        for suite, package in sorted(plan.needed):
            ref, path = archive.fetch(suite, package)
            debs[(suite, package)] = (ref.version, path)
        jobs = []
        for target in repack.TARGETS:
            out = aptrepo.pool_dir(root, target.distro, target.codename, self.arch)
            out.mkdir(parents=True, exist_ok=True)
            jobs += [(spec, target, out) for spec in repack.specs_for(target)]
        log(f"mirror: repacking {len(jobs)} packages")
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: repack.repack(job[0], job[1], debs, job[2], self.arch), jobs))
        for target in repack.TARGETS:
            aptrepo.build_dist(root, target.distro, target.codename, self.arch)
            aptrepo.sign_dist(root, target.distro, target.codename, self.state / "gnupg", fpr)
            aptrepo.write_key(root, target.distro, armored)
        aptrepo.link_china_layout(root)
        self._upgrade_tree(root, debs, fpr, armored)
        nvidia.build_repo(root, self.arch, self.state / "gnupg", fpr, armored)  # LAB STAND-IN toolkit
        self._build(image, key, FILES / "mirror.Dockerfile", context, f"{PREFIX}/base-bookworm")
        shutil.rmtree(context, ignore_errors=True)
        return image

    def _upgrade_tree(self, root: Path, debs: dict, fpr: str, armored: str) -> None:
        """mirror.lab/upgrade: the bookworm tree again (hard links) plus revision 2 of the 26.1.5 engine
        (repack.upgrade_specs, a LAB STAND-IN), signed with the same key: what rolling upgrades move to."""
        target = repack.UPGRADE_TARGET
        upgrade = root / "upgrade"
        src = aptrepo.pool_dir(root, target.distro, target.codename, self.arch)
        out = aptrepo.pool_dir(upgrade, target.distro, target.codename, self.arch)
        out.mkdir(parents=True, exist_ok=True)
        for deb in sorted(src.glob("*.deb")):
            os.link(deb, out / deb.name)
        for spec in repack.upgrade_specs(target):
            repack.repack(spec, target, debs, out, self.arch)
        aptrepo.build_dist(upgrade, target.distro, target.codename, self.arch)
        aptrepo.sign_dist(upgrade, target.distro, target.codename, self.state / "gnupg", fpr)
        aptrepo.write_key(upgrade, target.distro, armored)

    def host(self, kind: HostKind) -> str:
        """One host image and what it is built FROM (a base or another host image), each cached by its key."""
        parent = next((k for k in HOST_KINDS if host_image(k) == kind.base), None)
        if parent is not None:
            self.host(parent)
        else:
            self.base(kind.base.removeprefix(f"{PREFIX}/base-"))
        self.hosts((kind,))
        return host_image(kind)

    def all(self, with_hosts: bool = True) -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(self.base, SUITES))
        self.hello()
        self.registry()
        self.mirror()
        apps.build(self)  # LAB STAND-IN workload images (WordPress, MariaDB, pandas, nginx)
        if with_hosts:
            self.hosts()
