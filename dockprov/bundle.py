"""`dockprov bundle`: what an air-gapped fleet needs, collected on a controller that can reach the mirrors.

A bundle is a directory the roles install from (docker_repo's `docker_repo_bundle`), copied to each host or
served from the controller (`dockprov bundle serve`):

    manifest.json                         targets, pins, images and every file's SHA256
    keys/docker.asc                       Docker's repo key (fingerprint checked when collected)
    <distro>-<codename>-<arch>.tar        one target's tree, what `copy` delivery puts on a host:
      docker/linux/<distro>/dists/<codename>/{InRelease,Release,...}   Docker's own signed metadata
      docker/linux/<distro>/dists/<codename>/pool/...                   the chosen packages
      distro/dists/<codename>/{InRelease,main/binary-<arch>/Packages*}  the distro's own signed metadata
      distro/pool/...                                                   the packages Docker's need
    <distro>-<codename>-<arch>/           the same tree unpacked (what `serve` delivery serves)
    images/<name>.tar                     `docker save` of each image (the smoke test's, the workloads')

Nothing is re-signed: apt on the host checks Docker's signature with Docker's key and the distro's with the
distro's keyring, exactly as it would online, so a tampered package or index is refused.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aptindex import AptIndexError, Deb, Index, download, fetch_deb

MANIFEST = "manifest.json"
FORMAT = 1
DOCKER_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
DEFAULT_DOCKER_MIRROR = "https://download.docker.com"
DISTRO_MIRRORS = {"debian": "http://deb.debian.org/debian", "ubuntu": "http://archive.ubuntu.com/ubuntu"}
DISTRO_KEYRINGS = {
    "debian": "/usr/share/keyrings/debian-archive-keyring.gpg",
    "ubuntu": "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
}
DISTRO_COMPONENTS = {"debian": "main", "ubuntu": "main universe"}
# docker_engine's default packages, and the rootless role's.
DOCKER_PACKAGES = ("docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin",
                   "docker-ce-rootless-extras")
# The engine's pin moves these together (docker_engine_version).
PINNED = ("docker-ce", "docker-ce-cli", "docker-ce-rootless-extras")
DEFAULT_NVIDIA_MIRROR = "https://nvidia.github.io/libnvidia-container"
NVIDIA_FINGERPRINT = "C95B321B61E88C1809C4F759DDCAE044F796ECB0"
# nvidia_container_toolkit's four packages, always together.
NVIDIA_PACKAGES = ("nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
                   "libnvidia-container1")
# What Ansible's apt module needs on the host, and installs itself first when it is missing.
DISTRO_EXTRAS = ("python3-apt",)
_UPSTREAM = re.compile(r"^(?:\d+:)?([0-9][0-9.]*)")


class BundleError(RuntimeError):
    """A target, pin, key or image the bundle cannot be made of."""


@dataclass(frozen=True)
class NvidiaSource:
    """Where the NVIDIA Container Toolkit comes from (its flat repo, NVIDIA's or a mirror), when asked for."""

    mirror: str = DEFAULT_NVIDIA_MIRROR
    key_file: str | None = None
    fingerprints: tuple[str, ...] = (NVIDIA_FINGERPRINT,)
    version: str | None = None
    channel: str = "stable"


@dataclass(frozen=True)
class Target:
    distro: str
    codename: str
    arch: str

    @classmethod
    def parse(cls, text: str) -> Target:
        parts = text.replace(":", "/").split("/")
        if len(parts) != 3 or parts[0] not in DISTRO_MIRRORS or not all(parts):
            raise BundleError(f"target {text!r}: write distro/codename/arch, e.g. debian/bookworm/amd64 "
                              f"(distros: {', '.join(DISTRO_MIRRORS)})")
        return cls(*parts)

    @property
    def name(self) -> str:
        return f"{self.distro}-{self.codename}-{self.arch}"


def upstream(version: str) -> str:
    match = _UPSTREAM.match(version)
    return match.group(1) if match else version


def choose_nvidia(index: Index, version: str | None) -> list[Deb]:
    """The toolkit's four packages at one version: ``version`` (upstream or full), or the newest."""
    from debian.debian_support import Version

    chosen = []
    for name in NVIDIA_PACKAGES:
        debs = [d for d in index.debs
                if d.name == name and (not version or version in (d.version, upstream(d.version)))]
        if not debs:
            raise BundleError(f"{index.url}: no {name}{' ' + version if version else ''}")
        chosen.append(max(debs, key=lambda d: Version(d.version)))
    return chosen


def choose_docker(index: Index, packages: tuple[str, ...], engine_versions: list[str]) -> list[Deb]:
    """The Docker packages a host gets: the pinned engine versions (all of them: an upgrade needs both ends),
    or the newest; the newest of what the pin does not move. Packages the dist lacks are left out (bullseye has
    no buildx), a pin the dist lacks is an error."""
    from debian.debian_support import Version

    newest = index.newest()
    chosen: dict[tuple[str, str], Deb] = {}
    for name in packages:
        if name not in newest:
            continue
        if name in PINNED and engine_versions:
            for pin in engine_versions:
                matches = [d for d in index.debs if d.name == name and pin in (d.version, upstream(d.version))]
                if not matches:
                    have = sorted({upstream(d.version) for d in index.debs if d.name == name})
                    raise BundleError(f"{index.url}: no {name} {pin} (it has {', '.join(have)})")
                best = max(matches, key=lambda d: Version(d.version))
                chosen[(best.name, best.version)] = best
        else:
            chosen[(name, newest[name].version)] = newest[name]
    return list(chosen.values())


def resolve_distro(roots: list[Deb], docker: dict[str, Deb], distro: dict[str, Deb],
                   extras: tuple[str, ...] = DISTRO_EXTRAS) -> list[Deb]:
    """The distro packages that ``roots`` need, recursively: Pre-Depends and Depends, and Recommends, which apt
    installs by default whenever the index lists them (and the bundle's index is the whole distro's); the
    first alternative that exists; virtual names through Provides. Essential and Priority required packages
    are on every installation and are left out, with what they need."""
    providers: dict[str, str] = {}
    for deb in distro.values():
        for name in deb.provides:
            providers.setdefault(name, deb.name)
    wanted: dict[str, Deb] = {}

    def add(name: str) -> bool:
        if name in docker:
            return True
        real = name if name in distro else providers.get(name)
        if real is None:
            return False
        deb = distro[real]
        if real not in wanted and not deb.essential and deb.priority != "required":
            wanted[real] = deb
            visit(deb)
        return True

    def visit(deb: Deb) -> None:
        for group in deb.depends:
            if not any(add(name) for name in group):
                raise BundleError(f"{deb.name} {deb.version} needs {' | '.join(group)}, which neither "
                                  f"Docker's repo nor the distro's archive has")
        for group in deb.recommends:  # apt skips a recommendation it cannot satisfy, and so does the bundle
            any(add(name) for name in group)

    for deb in roots:
        visit(deb)
    for name in extras:
        add(name)
    return sorted(wanted.values(), key=lambda d: d.name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _save_dist(index: Index, root: Path) -> None:
    """InRelease (apt reads it first, and needs nothing else signed) and the verified index files, also under
    by-hash/ when the Release asks apt to fetch by hash (Debian's does)."""
    dist = root / index.dist
    _write(dist / "InRelease", index.inrelease)
    by_hash = b"Acquire-By-Hash: yes" in index.release
    for path, data in index.index_files.items():
        _write(dist / path, data)
        if by_hash:
            _write(dist / Path(path).parent / "by-hash" / "SHA256" / hashlib.sha256(data).hexdigest(), data)


def _key(url: str, key_file: str | None, fingerprints: list[str], work: Path) -> tuple[str, Path]:
    """(armored key, binary keyring for gpgv); the key's primary fingerprint must be one of ``fingerprints``."""
    armored = Path(key_file).read_bytes() if key_file else download(url)
    work.mkdir(parents=True, exist_ok=True)
    keyring = work / "docker.gpg"
    subprocess.run(["gpg", "--batch", "--yes", "--dearmor", "--output", str(keyring)], input=armored,
                   check=True, capture_output=True)
    shown = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", str(keyring)], check=True,
                           capture_output=True, text=True).stdout
    found = [line.split(":")[9] for line in shown.splitlines() if line.startswith("fpr:")][:1]
    accepted = {f.replace(" ", "").upper() for f in fingerprints}
    if not found or found[0] not in accepted:
        raise BundleError(f"the key from {key_file or url} has fingerprint {found[0] if found else 'none'}, "
                          f"not {', '.join(sorted(accepted))}: pass --fingerprint for your mirror's own key")
    return armored.decode(), keyring


def save_images(names: list[str], out: Path) -> list[dict[str, Any]]:
    """`docker save` each image from the controller's daemon into images/<name>.tar."""
    saved = []
    for name in names:
        ref = name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
        path = out / "images" / (re.sub(r"[^A-Za-z0-9_.-]+", "_", ref) + ".tar")
        path.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["docker", "save", "--output", str(path), ref], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise BundleError(f"docker save {ref}: {proc.stderr.strip()} (pull or build it on this controller)")
        saved.append({"path": str(path.relative_to(out)), "images": [ref], "sha256": _sha256(path)})
    return saved


def _pack(tree: Path, tar_path: Path) -> str:
    """The target's tree as one uncompressed tar (.debs do not compress): what `copy` delivery sends.

    Its last member is a marker named after the tree's content: docker_repo unpacks the tar when the marker
    is missing, so a new bundle, or an unpacking an interrupted run cut short, is unpacked (again).
    """
    for stale in tree.glob(".dockprov-bundle-*"):  # an older packing's marker would claim this content
        stale.unlink()
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(tree)} {_sha256(path)}\n".encode())
    marker = tree / f".dockprov-bundle-{digest.hexdigest()[:16]}"
    marker.write_text("unpacked whole: every file before this one in the tar is in place\n")
    part = tar_path.with_name(tar_path.name + ".part")
    with tarfile.open(part, "w") as tar:
        for path in [*(p for p in sorted(tree.rglob("*")) if p != marker), marker]:
            info = tar.gettarinfo(str(path), str(path.relative_to(tree)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
            if path.is_file():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    part.replace(tar_path)
    return marker.name


def create(out: Path, targets: list[Target], docker_mirror: str = DEFAULT_DOCKER_MIRROR,
           distro_mirrors: dict[str, str] | None = None, key_file: str | None = None,
           fingerprints: list[str] | None = None, channel: str = "stable", engine_versions: list[str] | None = None,
           packages: tuple[str, ...] = DOCKER_PACKAGES, images: list[str] | None = None,
           nvidia: NvidiaSource | None = None, log: Any = print) -> dict[str, Any]:
    """Collect the bundle into ``out`` (made or updated in place; files whose SHA256 matches are kept)."""
    mirrors = {**DISTRO_MIRRORS, **(distro_mirrors or {})}
    docker_mirror = docker_mirror.rstrip("/")
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": FORMAT, "channel": channel, "engine_versions": engine_versions or [],
                                "targets": {}, "images": []}
    with tempfile.TemporaryDirectory() as tmp:
        keys: dict[str, tuple[str, Path]] = {}
        for target in targets:
            if target.distro not in keys:
                keys[target.distro] = _key(f"{docker_mirror}/linux/{target.distro}/gpg", key_file,
                                           fingerprints or [DOCKER_FINGERPRINT], Path(tmp) / target.distro)
            armored, keyring = keys[target.distro]
            _write(out / "keys" / "docker.asc", armored.encode())
            tree = out / target.name
            shutil.rmtree(tree, ignore_errors=True)
            base = f"{docker_mirror}/linux/{target.distro}"
            log(f"{target.name}: Docker's {channel} index from {base}")
            docker_index = Index.fetch(base, target.codename, channel, target.arch, keyring)
            chosen = choose_docker(docker_index, packages, engine_versions or [])
            toolkit: list[Deb] = []
            if nvidia is not None:
                if "nvidia" not in keys:
                    keys["nvidia"] = _key(f"{nvidia.mirror.rstrip('/')}/gpgkey", nvidia.key_file,
                                          list(nvidia.fingerprints), Path(tmp) / "nvidia")
                    _write(out / "keys" / "nvidia.asc", keys["nvidia"][0].encode())
                nvidia_base = f"{nvidia.mirror.rstrip('/')}/{nvidia.channel}/deb/{target.arch}"
                log(f"{target.name}: the NVIDIA Container Toolkit's index from {nvidia_base}")
                nvidia_index = Index.fetch_flat(nvidia_base, target.arch, keys["nvidia"][1])
                toolkit = choose_nvidia(nvidia_index, nvidia.version)
            distro_base = mirrors[target.distro].rstrip("/")
            log(f"{target.name}: the distro's index from {distro_base}")
            distro_index = Index.fetch(distro_base, target.codename, "main", target.arch,
                                       Path(DISTRO_KEYRINGS[target.distro]))
            ours = {**docker_index.newest(), **{d.name: d for d in toolkit}}
            deps = resolve_distro(chosen + toolkit, ours, distro_index.newest())
            log(f"{target.name}: {len(chosen)} Docker packages, {len(toolkit)} NVIDIA packages, "
                f"{len(deps)} distro packages")
            _save_dist(docker_index, tree / "docker" / "linux" / target.distro)
            if toolkit:
                nvidia_tree = tree / "nvidia" / nvidia.channel / "deb" / target.arch
                _save_dist(nvidia_index, nvidia_tree)
                for deb in toolkit:
                    fetch_deb(nvidia_base, deb, nvidia_tree / deb.filename)
            _save_dist(distro_index, tree / "distro")
            for deb in chosen:
                fetch_deb(base, deb, tree / "docker" / "linux" / target.distro / deb.filename)
            for deb in deps:
                fetch_deb(distro_base, deb, tree / "distro" / deb.filename)
            tar_path = out / f"{target.name}.tar"
            marker = _pack(tree, tar_path)
            manifest["targets"][target.name] = {
                "distro": target.distro, "codename": target.codename, "arch": target.arch,
                "docker": sorted(f"{d.name}={d.version}" for d in chosen),
                "distro_packages": [f"{d.name}={d.version}" for d in deps],
                "distro_components": "main", "distro_keyring": DISTRO_KEYRINGS[target.distro],
                "nvidia": [f"{d.name}={d.version}" for d in toolkit],
                "tar": tar_path.name, "tar_sha256": _sha256(tar_path), "marker": marker,
            }
    manifest["images"] = save_images(images or [], out)
    part = out / (MANIFEST + ".part")
    part.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    part.replace(out / MANIFEST)
    return manifest


def verify(out: Path) -> list[str]:
    """What no longer matches the manifest (empty: the bundle is whole)."""
    manifest = json.loads((out / MANIFEST).read_text())
    problems = []
    checks = [(t["tar"], t["tar_sha256"]) for t in manifest["targets"].values()]
    checks += [(i["path"], i["sha256"]) for i in manifest["images"]]
    for rel, want in checks:
        path = out / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif _sha256(path) != want:
            problems.append(f"{rel}: SHA256 differs from the manifest")
    return problems


def serve(out: Path, bind: str, port: int) -> None:
    """Serve the bundle read-only over HTTP (`serve` delivery); Ctrl-C stops it."""
    if not (out / MANIFEST).is_file():
        raise BundleError(f"{out} has no {MANIFEST}: make it with `dockprov bundle create`")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    with http.server.ThreadingHTTPServer((bind, port), handler) as server:
        print(f"serving {out} at http://{bind}:{server.server_address[1]} "
              f"(docker_repo_bundle_url); Ctrl-C stops", flush=True)
        server.serve_forever()


# --------------------------------------------------------------------------- command line

def _cmd(args: argparse.Namespace) -> int:
    out = Path(args.dir).resolve()
    try:
        if args.bundle_cmd == "create":
            distro_mirrors = dict(item.split("=", 1) for item in args.distro_mirror)
            nvidia = None
            if args.nvidia or args.nvidia_mirror or args.nvidia_key or args.nvidia_version:
                nvidia = NvidiaSource(args.nvidia_mirror or DEFAULT_NVIDIA_MIRROR, args.nvidia_key,
                                      tuple(args.nvidia_fingerprint) or (NVIDIA_FINGERPRINT,), args.nvidia_version)
            manifest = create(out, [Target.parse(t) for t in args.target], args.docker_mirror, distro_mirrors,
                              args.key, args.fingerprint or None, args.channel, args.engine_version,
                              images=args.image, nvidia=nvidia, log=lambda msg: print(msg, file=sys.stderr))
            size = sum(p.stat().st_size for p in out.glob("*.tar")) + sum(
                (out / i["path"]).stat().st_size for i in manifest["images"])
            print(f"{out}: {', '.join(manifest['targets'])}; {len(manifest['images'])} image(s); "
                  f"{size / 1e6:.0f} MB to copy per fleet. Set docker_repo_bundle: {out}")
        elif args.bundle_cmd == "verify":
            problems = verify(out)
            for problem in problems:
                print(problem, file=sys.stderr)
            print(f"{out}: {'whole' if not problems else f'{len(problems)} problem(s)'}")
            return 1 if problems else 0
        else:
            serve(out, args.bind, args.port)
    except (BundleError, AptIndexError, OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"dockprov bundle: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    bundle = sub.add_parser("bundle", help="collect, check or serve an air-gapped bundle (docs/air-gapped.md)")
    bsub = bundle.add_subparsers(dest="bundle_cmd", required=True)
    create_p = bsub.add_parser(
        "create", help="collect Docker's packages (with their signed metadata), the distro packages they need, "
                       "the key and images into DIR",
        epilog="example:\n  dockprov bundle create --target debian/bookworm/amd64 --target ubuntu/noble/amd64 "
               "--engine-version 26.1.5 --image hello-world ./bundle",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    create_p.add_argument("--target", action="append", required=True, metavar="DISTRO/CODENAME/ARCH",
                          help="a kind of host in the fleet; repeat for each")
    create_p.add_argument("--docker-mirror", default=DEFAULT_DOCKER_MIRROR, metavar="URL",
                          help="Docker's repo or a mirror of it (base URL, as in docker_repo_mirrors)")
    create_p.add_argument("--distro-mirror", action="append", default=[], metavar="DISTRO=URL",
                          help="the distro's archive for Docker's dependencies (default: "
                               + ", ".join(f"{k}={v}" for k, v in DISTRO_MIRRORS.items()) + ")")
    create_p.add_argument("--key", metavar="FILE", help="the repo key, armored (default: <mirror>/linux/<distro>/gpg)")
    create_p.add_argument("--fingerprint", action="append", default=[], metavar="FPR",
                          help="accepted key fingerprint (default: Docker's); repeat for more")
    create_p.add_argument("--channel", default="stable", help="Docker's channel (stable or test)")
    create_p.add_argument("--engine-version", action="append", default=[], metavar="VERSION",
                          help="engine version(s) to carry, e.g. 26.1.5 (default: the newest); give both ends of "
                               "a rolling upgrade")
    create_p.add_argument("--image", action="append", default=[], metavar="NAME",
                          help="an image on this controller's Docker to `docker save` into the bundle; repeat")
    gpu = create_p.add_argument_group("the NVIDIA Container Toolkit, for GPU hosts (nvidia_container_toolkit)")
    gpu.add_argument("--nvidia", action="store_true", help="carry the toolkit's four packages")
    gpu.add_argument("--nvidia-mirror", metavar="URL",
                     help=f"libnvidia-container's repo or a mirror (default {DEFAULT_NVIDIA_MIRROR}); implies --nvidia")
    gpu.add_argument("--nvidia-key", metavar="FILE", help="its key, armored (default: <mirror>/gpgkey)")
    gpu.add_argument("--nvidia-fingerprint", action="append", default=[], metavar="FPR",
                     help="accepted key fingerprint (default: NVIDIA's)")
    gpu.add_argument("--nvidia-version", metavar="VERSION", help="the toolkit version (default: the newest)")
    verify_p = bsub.add_parser("verify", help="check every file against the manifest's SHA256")
    serve_p = bsub.add_parser("serve", help="serve DIR over HTTP for `docker_repo_bundle_delivery: serve`")
    serve_p.add_argument("--bind", default="0.0.0.0", help="address to listen on (default: all)")
    serve_p.add_argument("--port", type=int, default=8808, help="port (default: 8808)")
    for p in (create_p, verify_p, serve_p):
        p.add_argument("dir", help="the bundle directory")
        p.set_defaults(func=_cmd)
