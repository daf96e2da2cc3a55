"""Start, stop and describe the lab fleet: hosts, mirror.lab and registry.lab on one Docker network."""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import apps, cachekey
from .dockercli import LABEL, DockerError, daemon_answers, docker, ensure_volume, inspect, labelled
from .images import FLEET_KINDS, HOST_KINDS, PREFIX, Builder, HostKind, host_image, log

NETWORK = "dockprov-lab"
MIRROR = "dockprov-mirror"
REGISTRY = "dockprov-registry"
REGISTRY_VOLUME = "dockprov-lab-registry"
HOST_PREFIX = "dockprov-"
ARGS_LABEL = "dockprov.lab.args"

# Every capability the lab machine grants (engine 20.10 names), i.e. all but SYS_RESOURCE:
# --privileged fails here ("unable to apply caps"), see shared/notes/lab-facts.md.
HOST_CAPS = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
)


def host_run_args(name: str, volume: str) -> list[str]:
    """`docker run` options of a lab host: never --privileged; a volume for the inner /var/lib/docker."""
    args = ["--hostname", name, "--network", NETWORK, "--label", f"{LABEL}=1",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            # /proc/sys writable as on a real host: the inner dockerd 26 sets IPv6 sysctls per container.
            "--security-opt", "systempaths=unconfined",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v", f"{volume}:/var/lib/docker",
            "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp"]
    for cap in HOST_CAPS:
        args += ["--cap-add", cap]
    return args


def _ensure_network() -> None:
    if inspect("network", NETWORK) is None:
        docker("network", "create", "--label", f"{LABEL}=1", NETWORK)


def _running(name: str) -> dict[str, Any] | None:
    info = inspect("container", name)
    if info is not None and not info["State"]["Running"]:
        docker("rm", "-f", name)
        return None
    return info


def _current(info: dict[str, Any] | None, image: str) -> bool:
    """A running container made from the current build of its image."""
    if info is None:
        return False
    image_id = (inspect("image", image) or {}).get("Id")
    return info["Image"] == image_id


def _service(name: str, alias: str, image: str, extra: list[str]) -> None:
    info = _running(name)
    if _current(info, image):
        return
    if info is not None:
        docker("rm", "-f", name)
    docker("run", "-d", "--name", name, "--hostname", alias, "--network", NETWORK, "--network-alias", alias,
           "--label", f"{LABEL}=1", "--restart", "unless-stopped", *extra, image)


def registry_port() -> int:
    out = docker("port", REGISTRY, "5000/tcp").splitlines()[0]
    return int(out.rsplit(":", 1)[1])


def _wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback only)
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise DockerError(f"{url} did not answer: {exc}") from exc
            time.sleep(0.3)


def _seed_registry(hello_image: str) -> None:
    """Push the lab's hello-world to registry.lab as library/hello-world (what a mirror serves)."""
    port = registry_port()
    _wait_http(f"http://127.0.0.1:{port}/v2/")
    ref = f"127.0.0.1:{port}/library/hello-world:latest"
    docker("tag", hello_image, ref)
    docker("push", ref)
    docker("rmi", ref)


def _seed_apps() -> None:
    """Push the LAB STAND-IN app images (library/wordpress, ...) that registry.lab lacks or holds older."""
    port = registry_port()
    _wait_http(f"http://127.0.0.1:{port}/v2/")
    stale = apps.stale(port)
    if stale:
        log(f"registry.lab: pushing {', '.join(a.repository for a in stale)}")
        apps.push(port, stale)


def write_inventory_vars(project: Path, fingerprint: str, armored: str) -> Path:
    """Record the mirror key where inventory/lab reads it (a generated, git-ignored group_vars file)."""
    path = project / "inventory" / "lab" / "group_vars" / "all" / "lab_generated.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The armor's blank line stays empty (no indent): same block scalar, no trailing spaces for yamllint.
    indented = "".join(f"  {line}\n" if line else "\n" for line in armored.strip().splitlines())
    text = (
        "---\n# Written by `dockprov lab up`: the key the lab generated to sign mirror.lab. Do not edit.\n"
        f'dockprov_lab_mirror_fingerprint: "{fingerprint}"\n'
        f"dockprov_lab_mirror_key: |\n{indented}"
    )
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


@contextlib.contextmanager
def _locked(state: Path) -> Any:
    """One `lab up` at a time per state dir: two builders would share (and delete) the same build context."""
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another `dockprov lab up` is running; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(project: Path, state: Path, hosts: list[str] | None = None, rebuild: bool = False) -> dict[str, Any]:
    if not daemon_answers():
        raise DockerError("no Docker daemon answers: run `make setup` (installs docker.io and starts dockerd)")
    with _locked(state):
        return _up(project, state, hosts, rebuild)


def _up(project: Path, state: Path, hosts: list[str] | None, rebuild: bool) -> dict[str, Any]:
    started = time.monotonic()
    wanted = list(FLEET_KINDS) if hosts is None else [k for k in HOST_KINDS if k.name in hosts]
    builder = Builder(state, rebuild=rebuild)
    builder.all(with_hosts=bool(wanted))
    for kind in wanted:
        if not kind.fleet:  # asked for by name (--hosts deb11): built on demand
            builder.host(kind)
    fpr, armored = builder.mirror_key()
    write_inventory_vars(project, fpr, armored)
    _ensure_network()
    _service(MIRROR, "mirror.lab", f"{PREFIX}/mirror", [])
    registry_was_current = _current(_running(REGISTRY), f"{PREFIX}/registry")
    ensure_volume(REGISTRY_VOLUME)
    _service(REGISTRY, "registry.lab", f"{PREFIX}/registry",
             ["-p", "127.0.0.1::5000", "-v", f"{REGISTRY_VOLUME}:/var/lib/docker-registry"])
    if not registry_was_current or not _has_hello():
        _seed_registry(f"{PREFIX}/hello-world")
    from . import secure_registry  # registry-tls.lab: TLS (lab CA) + htpasswd; writes lab_generated_registry.yml

    secure_registry.up(project, state, f"{PREFIX}/hello-world", f"{PREFIX}/registry")
    _seed_apps()
    for kind in wanted:
        start_host(kind)
    log(f"up in {time.monotonic() - started:.1f}s")
    return status()


def _has_hello() -> bool:
    try:
        port = registry_port()
        _wait_http(f"http://127.0.0.1:{port}/v2/library/hello-world/manifests/latest", seconds=5)
        return True
    except (DockerError, IndexError):
        return False


def host_kind(name: str) -> HostKind:
    for kind in HOST_KINDS:
        if kind.name == name:
            return kind
    raise DockerError(f"unknown host kind {name!r}; kinds: {', '.join(k.name for k in HOST_KINDS)}")


def host_up(state: Path, kind: HostKind, name: str | None = None) -> str:
    """`dockprov lab host up`: a kind outside the fleet (deb11) has its image built first if it is missing
    or stale (cached by its inputs, under the lab's lock); fleet kinds' images come from `lab up`."""
    if not kind.fleet:
        with _locked(state):
            Builder(state).host(kind)
    return start_host(kind, name)


def start_host(kind: HostKind, name: str | None = None) -> str:
    """Start a lab host, or recreate it when its image or its run options changed.

    Molecule scenarios start their hosts through this too (`dockprov lab host up`), so a test host is
    exactly a lab host: same image, capabilities and inner /var/lib/docker volume.
    """
    name = name or HOST_PREFIX + kind.name
    image = host_image(kind)
    volume = f"dockprov-lab-{kind.name}-docker" if name == HOST_PREFIX + kind.name else f"{name}-docker"
    args = host_run_args(name, volume)
    args_key = cachekey.key(*args)
    info = _running(name)
    if _current(info, image) and (info or {}).get("Config", {}).get("Labels", {}).get(ARGS_LABEL) == args_key:
        return name
    docker("rm", "-f", name, check=False)
    ensure_volume(volume)
    docker("run", "-d", "--name", name, "--label", f"{ARGS_LABEL}={args_key}", *args, image)
    return name


def remove_host(name: str) -> None:
    """Remove one host container and its inner /var/lib/docker volume (lab-labelled ones only)."""
    info = inspect("container", name)
    if info is not None and LABEL in (info["Config"].get("Labels") or {}):
        docker("rm", "-f", "-v", name)
    volume = inspect("volume", f"{name}-docker")
    if volume is not None and LABEL in (volume.get("Labels") or {}):
        docker("volume", "rm", f"{name}-docker")


def down() -> dict[str, list[str]]:
    """Remove every container, network and volume the lab made (found by its label), and nothing else."""
    removed: dict[str, list[str]] = {"containers": labelled("container")}
    if removed["containers"]:
        docker("rm", "-f", "-v", *removed["containers"])
    removed["networks"] = labelled("network")
    for network in removed["networks"]:
        docker("network", "rm", network)
    removed["volumes"] = labelled("volume")
    if removed["volumes"]:
        docker("volume", "rm", *removed["volumes"])
    return removed


def status() -> dict[str, Any]:
    containers = []
    for name in labelled("container"):
        info = inspect("container", name) or {}
        nets = info.get("NetworkSettings", {}).get("Networks", {})
        containers.append({
            "name": name,
            "image": info.get("Config", {}).get("Image"),
            "running": info.get("State", {}).get("Running", False),
            "aliases": sorted({a for n in nets.values() for a in (n.get("Aliases") or []) if "." in a}),
        })
    result: dict[str, Any] = {
        "daemon": daemon_answers(),
        "network": NETWORK if inspect("network", NETWORK) else None,
        "containers": sorted(containers, key=lambda c: c["name"]),
        "volumes": labelled("volume"),
        "hosts": {HOST_PREFIX + k.name: k.description for k in FLEET_KINDS},
    }
    try:
        result["registry"] = f"127.0.0.1:{registry_port()}"
    except (DockerError, IndexError):
        result["registry"] = None
    return result


def print_status(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2))
        return
    print(f"network: {data['network'] or '-'}   registry on loopback: {data['registry'] or '-'}")
    for c in data["containers"]:
        state = "running" if c["running"] else "stopped"
        print(f"  {c['name']:<22} {state:<8} {c['image']:<28} {' '.join(c['aliases'])}")
    if not data["containers"]:
        print("  (no lab containers)")
