# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""The small set of host facts dockprov roles need, read cheaply from the filesystem.

Every read goes through ``root`` so the functions run unchanged against fixture trees.
Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import glob
import os
import platform
import re
import shlex
from typing import Any

from ansible_collections.dockprov.docker.plugins.module_utils._apt import dpkg_arch
from ansible_collections.dockprov.docker.plugins.module_utils._daemon_json import running_dockerd

DEFAULT_PACKAGES = [
    "ca-certificates",
    "python3-apt",  # apt's Python bindings: check mode cannot ask apt without them
    "python3-requests",  # community.docker's modules need it on the host
    "docker-ce",
    "docker-ce-cli",
    "containerd.io",
    "docker-buildx-plugin",
    "docker-compose-plugin",
    "docker.io",
    "docker-doc",
    "docker-compose",
    "docker-compose-v2",
    "podman-docker",
    "containerd",
    "runc",
    "docker",
    "docker-engine",
    "nvidia-container-toolkit",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WSL_LIB = "/usr/lib/wsl/lib"


def _p(root: str, path: str) -> str:
    if not root or root == "/":
        return path
    return os.path.join(root, path.lstrip("/"))


def _read(root: str, path: str) -> str | None:
    try:
        with open(_p(root, path), encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _exists(root: str, path: str) -> bool:
    return os.path.lexists(_p(root, path))


# --------------------------------------------------------------------------- os-release


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines with shell-style quoting, as os-release(5) describes."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        try:
            parts = shlex.split(value)
            value = parts[0] if parts else ""
        except ValueError:
            value = value.strip("\"'")
        result[key.strip()] = value
    return result


def read_os_release(root: str = "/") -> dict[str, str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = _read(root, path)
        if text is not None:
            return parse_os_release(text)
    return {}


def distro_facts(osr: dict[str, str]) -> dict[str, Any]:
    """Distro identity plus the Docker repo family and codename to use for it."""
    dist_id = osr.get("ID", "").lower() or None
    id_like = osr.get("ID_LIKE", "").lower().split()
    codename = osr.get("VERSION_CODENAME") or None
    ubuntu_codename = osr.get("UBUNTU_CODENAME") or None
    debian_codename = osr.get("DEBIAN_CODENAME") or None
    docker_distro = None
    docker_codename = None
    if dist_id == "ubuntu":
        docker_distro, docker_codename = "ubuntu", codename or ubuntu_codename
    elif ubuntu_codename:
        docker_distro, docker_codename = "ubuntu", ubuntu_codename
    elif dist_id == "debian":
        docker_distro, docker_codename = "debian", codename or debian_codename
    elif "ubuntu" in id_like:
        docker_distro, docker_codename = "ubuntu", codename
    elif "debian" in id_like:
        docker_distro, docker_codename = "debian", debian_codename or codename
    return {
        "id": dist_id,
        "version_id": osr.get("VERSION_ID") or None,
        "codename": codename,
        "ubuntu_codename": ubuntu_codename,
        "id_like": id_like,
        "pretty_name": osr.get("PRETTY_NAME") or None,
        "docker_distro": docker_distro,
        "docker_codename": docker_codename,
    }


# --------------------------------------------------------------------------- init / WSL / GPU


def init_facts(root: str = "/") -> dict[str, Any]:
    comm = _read(root, "/proc/1/comm")
    comm = comm.strip() if comm is not None else None
    if comm == "systemd":
        init = "systemd"
    elif comm == "init" or comm == "upstart":
        init = "sysvinit"
    else:
        init = "other"
    return {
        "init_system": init,
        "pid1_comm": comm,
        "systemd_running": init == "systemd" and os.path.isdir(_p(root, "/run/systemd/system")),
    }


def wsl_facts(root: str = "/", environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = environ or {}
    evidence: list[str] = []
    release = (_read(root, "/proc/sys/kernel/osrelease") or "").strip()
    lower = release.lower()
    if "microsoft" in lower or "wsl" in lower:
        evidence.append(f"kernel release {release}")
    if _exists(root, "/run/WSL"):
        evidence.append("/run/WSL exists")
    for interop in ("/proc/sys/fs/binfmt_misc/WSLInterop", "/proc/sys/fs/binfmt_misc/WSLInterop-late"):
        if _exists(root, interop):
            evidence.append(f"{interop} exists")
    if environ.get("WSL_DISTRO_NAME"):
        evidence.append(f"WSL_DISTRO_NAME={environ['WSL_DISTRO_NAME']}")
    version = None
    if "WSL2" in release or _exists(root, "/run/WSL"):
        version = 2
    elif "microsoft" in lower:
        version = 1
    return {"detected": bool(evidence), "version": version, "evidence": evidence}


def _path_dirs(environ: dict[str, str] | None) -> list[str]:
    dirs = []
    for d in ((environ or {}).get("PATH") or DEFAULT_PATH).split(":") + DEFAULT_PATH.split(":"):
        if d and d.startswith("/") and d not in dirs:
            dirs.append(d)
    return dirs


def which(root: str, name: str, environ: dict[str, str] | None = None) -> str | None:
    """Host path of executable ``name`` in PATH (searched below ``root``)."""
    for d in _path_dirs(environ):
        candidate = os.path.join(d, name)
        real = _p(root, candidate)
        if os.path.isfile(real) and (os.access(real, os.X_OK) or root not in ("", "/")):
            return candidate
    return None


def gpu_facts(root: str = "/", environ: dict[str, str] | None = None) -> dict[str, Any]:
    evidence: list[str] = []
    wsl_evidence: list[str] = []
    native = False
    for dev in ("/dev/nvidia0", "/dev/nvidiactl"):
        if _exists(root, dev):
            evidence.append(f"{dev} exists")
            native = True
    version = _read(root, "/proc/driver/nvidia/version")
    if version is not None:
        first = version.strip().splitlines()[0] if version.strip() else ""
        evidence.append(f"/proc/driver/nvidia/version: {first}".rstrip(": "))
        native = True
    smi = which(root, "nvidia-smi", environ)
    if smi and not smi.startswith(WSL_LIB + "/"):
        evidence.append(f"nvidia-smi at {smi}")
        native = True
    libcuda = sorted(glob.glob(_p(root, WSL_LIB + "/libcuda.so*")))
    if libcuda:
        wsl_evidence.append(f"{WSL_LIB}/{os.path.basename(libcuda[0])} exists")
    if _exists(root, "/dev/dxg") and _exists(root, WSL_LIB + "/nvidia-smi"):
        wsl_evidence.append(f"/dev/dxg and {WSL_LIB}/nvidia-smi exist")
    evidence.extend(wsl_evidence)
    kind = "wsl" if wsl_evidence else ("nvidia" if native else None)
    return {"present": kind is not None, "kind": kind, "evidence": evidence}


# --------------------------------------------------------------------------- packages / arch / binaries


def parse_dpkg_status(text: str, names: list[str] | None = None) -> dict[str, str]:
    """{package: version} for installed packages (Status "install ok installed", or "hold ok installed")."""
    wanted = set(names) if names is not None else None
    result: dict[str, str] = {}
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if not line or line[0] in " \t" or ":" not in line:
                continue
            key, _sep, value = line.partition(":")
            fields[key.strip()] = value.strip()
        name = fields.get("Package")
        if not name or fields.get("Status") not in ("install ok installed", "hold ok installed"):
            continue
        if wanted is not None and name not in wanted:
            continue
        result.setdefault(name, fields.get("Version", ""))
    return result


def held_packages(root: str = "/", names: list[str] | None = None) -> list[str]:
    """Installed packages marked hold (apt-mark hold / dpkg --set-selections)."""
    text = _read(root, "/var/lib/dpkg/status") or ""
    held = []
    for stanza in text.split("\n\n"):
        name = re.search(r"^Package:\s*(\S+)", stanza, re.MULTILINE)
        if (
            name
            and re.search(r"^Status:\s*hold ok installed\s*$", stanza, re.MULTILINE)
            and (names is None or name.group(1) in names)
        ):
            held.append(name.group(1))
    return sorted(held)


def installed_packages(root: str = "/", names: list[str] | None = None) -> dict[str, str]:
    text = _read(root, "/var/lib/dpkg/status")
    return parse_dpkg_status(text, names) if text else {}


def host_arch(machine: str | None = None) -> tuple[str, str | None]:
    """(machine, dpkg arch or None when unknown)."""
    machine = machine or platform.machine()
    try:
        return machine, dpkg_arch(machine)
    except ValueError:
        return machine, None


def find_binary(root: str, name: str) -> str | None:
    for d in ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin"):
        candidate = f"{d}/{name}"
        if os.path.isfile(_p(root, candidate)):
            return candidate
    return None


def dockerd_facts(root: str = "/") -> dict[str, Any]:
    """Whether dockerd runs now (its PID) and starts at boot (a systemd .wants link or an rc S-link)."""
    pid = running_dockerd(root)
    links = glob.glob(_p(root, "/etc/systemd/system/*.wants/docker.service"))
    links += glob.glob(_p(root, "/etc/rc[2345].d/S*docker"))
    return {"running": pid is not None, "pid": pid, "enabled": bool(links)}


def gather(
    root: str = "/",
    packages: list[str] | None = None,
    machine: str | None = None,
    environ: dict[str, str] | None = None,
) -> dict[str, Any]:
    """All dockprov_host facts."""
    init = init_facts(root)
    machine, arch = host_arch(machine)
    return {
        "init_system": init["init_system"],
        "pid1_comm": init["pid1_comm"],
        "systemd_running": init["systemd_running"],
        "wsl": wsl_facts(root, environ),
        "gpu": gpu_facts(root, environ),
        "packages": installed_packages(root, packages if packages is not None else DEFAULT_PACKAGES),
        "held": held_packages(root, packages if packages is not None else DEFAULT_PACKAGES),
        "machine": machine,
        "arch": arch,
        "distro": distro_facts(read_os_release(root)),
        "docker_binary": find_binary(root, "dockerd"),
        "docker_cli": find_binary(root, "docker"),
        "dockerd": dockerd_facts(root),
    }
