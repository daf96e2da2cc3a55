"""LAB STAND-IN for NVIDIA's container toolkit: four tiny .deb packages under the real package names,
served the way https://nvidia.github.io/libnvidia-container serves the real ones.

The lab has no GPU and no NVIDIA driver, and must not fetch NVIDIA's binaries. What these packages do
instead (and the package descriptions say so):

- ``nvidia-ctk`` (nvidia-container-toolkit-base) is a small Python script that writes files the way the
  real one does: ``runtime configure --runtime=docker`` edits daemon.json like NVIDIA's (the
  nvidia_container_toolkit role never calls it for that: only the daemon.json module writes that file),
  and ``cdi generate --output=FILE`` writes a minimal CDI spec.
- ``nvidia-container-runtime`` hands every call over to runc, so ``docker run --runtime nvidia`` works
  without a GPU. The real runtime also hands over to runc, after adding the GPU hooks.
- ``nvidia-container-cli`` and ``nvidia-container-runtime-hook`` only say that they are stand-ins.

Layout (NVIDIA's flat repo, ``deb [signed-by=...] <base>/stable/deb/$(ARCH) /``):

    libnvidia-container/gpgkey                                   armored signing key
    libnvidia-container/stable/deb/nvidia-container-toolkit.list the one-line source NVIDIA publishes
    libnvidia-container/stable/deb/<arch>/{InRelease,Release,Release.gpg,Packages,Packages.gz}
    libnvidia-container/stable/deb/<arch>/*.deb
"""

from __future__ import annotations

import gzip
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import aptrepo

# Two versions, so a pin has something to choose between. "~lab1" sorts below NVIDIA's real "-1" builds.
VERSIONS = ("1.17.7-1~lab1", "1.17.8-1~lab1")
PACKAGES = ("nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
            "libnvidia-container1")
STANDIN = "LAB STAND-IN (dockprov lab, no GPU): not NVIDIA's software."
REPO_DIR = "libnvidia-container"
FIXED_MTIME = "1700000000"  # reproducible .deb files (SOURCE_DATE_EPOCH)

NVIDIA_CTK = r'''#!/usr/bin/python3
"""LAB STAND-IN for NVIDIA's nvidia-ctk (dockprov lab): writes files the way the real one does."""
import json
import os
import sys

VERSION = "@UPSTREAM@"


def opts(args):
    out, rest = {}, []
    for arg in args:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            out[key] = value if _ else "true"
        else:
            rest.append(arg)
    return out, rest


def runtime_configure(o):
    if o.get("runtime", "docker") != "docker":
        sys.exit("LAB STAND-IN nvidia-ctk: only --runtime=docker is implemented")
    path = o.get("config", "/etc/docker/daemon.json")
    config = {}
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path) as fh:
            config = json.load(fh)
    name = o.get("nvidia-runtime-name", "nvidia")
    config.setdefault("runtimes", {})[name] = {"args": [], "path": "nvidia-container-runtime"}
    if o.get("set-as-default") == "true":
        config["default-runtime"] = name
    if o.get("cdi.enabled") == "true":
        config.setdefault("features", {})["cdi"] = True
    if o.get("dry-run") == "true":
        print(json.dumps(config, indent=4, sort_keys=True))
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as fh:
        json.dump(config, fh, indent=4, sort_keys=True)
        fh.write("\n")
    print(f"INFO[0000] Wrote updated config to {path}")
    print("INFO[0000] It is recommended that docker daemon be restarted.")


SPEC = """---
# LAB STAND-IN CDI spec (dockprov lab): no GPU behind it.
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
  - name: all
    containerEdits:
      env:
        - NVIDIA_LAB_STANDIN=1
containerEdits:
  env:
    - NVIDIA_VISIBLE_DEVICES=void
"""


def cdi_generate(o):
    out = o.get("output", "")
    if not out:
        sys.stdout.write(SPEC)
        return
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as fh:
        fh.write(SPEC)
    os.chmod(out, 0o644)
    print(f"INFO[0000] Generated CDI spec with version 0.5.0 (LAB STAND-IN) in {out}")


def main(argv):
    o, words = opts(argv)
    if "version" in o or words[:1] == ["--version"] or not words:
        print(f"NVIDIA Container Toolkit CLI version {VERSION} (LAB STAND-IN)")
        return
    if words[:2] == ["runtime", "configure"]:
        return runtime_configure(o)
    if words[:2] == ["cdi", "generate"]:
        return cdi_generate(o)
    if words[:2] == ["cdi", "list"]:
        print("INFO[0000] Found 1 CDI devices (LAB STAND-IN)")
        print("nvidia.com/gpu=all")
        return
    sys.exit(f"LAB STAND-IN nvidia-ctk: {' '.join(words)} is not implemented")


main(sys.argv[1:])
'''

RUNTIME = """#!/bin/sh
# LAB STAND-IN for NVIDIA's nvidia-container-runtime (dockprov lab): no GPU hooks, straight to runc,
# so `docker run --runtime nvidia` works on a host without a GPU.
for runc in /usr/bin/runc /usr/sbin/runc /usr/local/bin/runc /usr/local/sbin/runc; do
  [ -x "$runc" ] && exec "$runc" "$@"
done
echo "LAB STAND-IN nvidia-container-runtime: runc not found" >&2
exit 1
"""

SAYS_STANDIN = """#!/bin/sh
# LAB STAND-IN for NVIDIA's @NAME@ (dockprov lab).
case "$1" in
  --version|-V) echo "@NAME@ version @UPSTREAM@ (LAB STAND-IN)"; exit 0 ;;
esac
echo "LAB STAND-IN @NAME@: there is no NVIDIA driver or GPU in the dockprov lab" >&2
exit 1
"""

CONFIG_TOML = """# LAB STAND-IN (dockprov lab) of /etc/nvidia-container-runtime/config.toml
[nvidia-container-runtime]
mode = "auto"
runtimes = ["runc", "docker-runc"]
"""


@dataclass(frozen=True)
class Pkg:
    name: str
    depends: str
    files: dict[str, tuple[str, int]]  # path -> (text, mode)
    conffiles: tuple[str, ...] = ()


def packages(version: str) -> list[Pkg]:
    upstream = version.split("-", 1)[0]

    def fill(text: str, name: str = "") -> str:
        return text.replace("@UPSTREAM@", upstream).replace("@NAME@", name)

    return [
        Pkg("libnvidia-container1", "libc6",
            {"usr/share/doc/libnvidia-container1/LAB-STAND-IN": (STANDIN + "\n", 0o644)}),
        Pkg("libnvidia-container-tools", f"libnvidia-container1 (= {version})",
            {"usr/bin/nvidia-container-cli": (fill(SAYS_STANDIN, "nvidia-container-cli"), 0o755)}),
        Pkg("nvidia-container-toolkit-base", "python3",
            {"usr/bin/nvidia-ctk": (fill(NVIDIA_CTK), 0o755),
             "usr/bin/nvidia-container-runtime": (RUNTIME, 0o755),
             "etc/nvidia-container-runtime/config.toml": (CONFIG_TOML, 0o644)},
            conffiles=("/etc/nvidia-container-runtime/config.toml",)),
        Pkg("nvidia-container-toolkit",
            f"nvidia-container-toolkit-base (= {version}), libnvidia-container-tools (= {version})",
            {"usr/bin/nvidia-container-runtime-hook": (fill(SAYS_STANDIN, "nvidia-container-runtime-hook"), 0o755)}),
    ]


def control(pkg: Pkg, version: str, arch: str) -> str:
    return (
        f"Package: {pkg.name}\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: dockprov lab <lab@dockprov.invalid>\n"
        f"Depends: {pkg.depends}\nSection: utils\nPriority: optional\n"
        "Homepage: https://github.com/NVIDIA/nvidia-container-toolkit\n"
        f"Description: LAB STAND-IN for NVIDIA's {pkg.name}\n"
        f" {STANDIN}\n"
        " Built by dockprov's offline lab under the real package name so the nvidia_container_toolkit\n"
        " role can be tested without a GPU.\n"
    )


def build_deb(pkg: Pkg, version: str, arch: str, out_dir: Path) -> Path:
    out = out_dir / f"{pkg.name}_{version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix=f"{pkg.name}-") as tmp:
        root = Path(tmp)
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN/control").write_text(control(pkg, version, arch))
        if pkg.conffiles:
            (root / "DEBIAN/conffiles").write_text("".join(f"{c}\n" for c in pkg.conffiles))
        for rel, (text, mode) in pkg.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(mode)
        root.chmod(0o755)  # the package's "./": dpkg must never see a 0700 root
        for path in root.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        env = {**os.environ, "SOURCE_DATE_EPOCH": FIXED_MTIME}
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(out)],
                       env=env, check=True, capture_output=True)
    return out


def arch_dir(root: Path, arch: str) -> Path:
    return root / REPO_DIR / "stable" / "deb" / arch


def release_options(arch: str) -> list[str]:
    fields = {"Origin": "https://nvidia.github.io/libnvidia-container/stable/deb", "Label": "LAB STAND-IN",
              "Architectures": arch,
              "Description": "dockprov lab mirror (LAB STAND-IN for nvidia.github.io/libnvidia-container)"}
    return [f"-oAPT::FTPArchive::Release::{key}={value}" for key, value in fields.items()]


def build_repo(root: Path, arch: str, gnupghome: Path, fingerprint: str, armored_key: str) -> Path:
    """Build the stand-in packages and the signed flat repo under ``root``; returns the <arch> dir."""
    repo = arch_dir(root, arch)
    repo.mkdir(parents=True, exist_ok=True)
    for version in VERSIONS:
        for pkg in packages(version):
            build_deb(pkg, version, arch, repo)
    aptrepo.build_flat(repo, release_options(arch))
    aptrepo.sign_release(repo, gnupghome, fingerprint)
    (root / REPO_DIR / "gpgkey").write_text(armored_key)
    (root / REPO_DIR / "stable" / "deb" / "nvidia-container-toolkit.list").write_text(
        "deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] "
        "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n"
    )
    return repo


def packages_index(repo: Path) -> str:
    return gzip.decompress((repo / "Packages.gz").read_bytes()).decode()
