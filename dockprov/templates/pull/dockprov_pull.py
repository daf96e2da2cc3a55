#!/usr/bin/env python3
"""dockprov-pull: a host converges itself from the fleet's git repository with ansible-pull.

Written into a project by `dockprov init --pull URL` (as pull/dockprov-pull) and installed on the host by
`pull/dockprov-pull install`, it needs only Python 3 (which Ansible needs anyway) and, on Debian/Ubuntu, installs
git and python3-venv itself. No controller ever connects to the host.

  dockprov-pull install [--host NAME] [--interval MIN] [--no-run]   once, as root, from a clone of the repository
  dockprov-pull run        one converge now: what the systemd timer, the WSL boot command and a person run
  dockprov-pull boot       the WSL boot command (no systemd): start `loop` in the background and return at once
  dockprov-pull loop       `run` now and then every INTERVAL minutes (once per boot with INTERVAL=0)
  dockprov-pull status     print the last run's report

A run: fetch the repository (git), install the collections its requirements.yml pins into the checkout
(ansible-galaxy, again only when they changed), then `ansible-pull` on the same commit with a local connection,
limited to this host's inventory name. What happened is left in /var/log/dockprov-pull/: `last.log` (the whole
output), `status.json` (commit, result, the host's play recap, timings) and `history.log` (one line per run).
Settings: /etc/dockprov-pull.conf (KEY=value lines, written by `install` from the project's pull/pull.conf).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

CONF = Path(os.environ.get("DOCKPROV_PULL_CONF", "/etc/dockprov-pull.conf"))
STATE = Path(os.environ.get("DOCKPROV_PULL_STATE", "/var/lib/dockprov-pull"))
LOGS = Path(os.environ.get("DOCKPROV_PULL_LOGS", "/var/log/dockprov-pull"))
BIN = Path("/usr/local/sbin/dockprov-pull")
UNITS = Path("/etc/systemd/system")
BOOT_COMMAND = f"{BIN} boot"
HISTORY_LINES = 500
CONTROLLER_PYTHON = (3, 11)  # what the pinned ansible-core (2.19) needs where it runs: here, the host itself

DEFAULTS = {
    "URL": "",
    "BRANCH": "main",
    "HOST": "",  # inventory name of this host; default: the short hostname
    "PLAYBOOK": "site.yml",
    "INVENTORY": "inventory/hosts.yml",
    "INTERVAL": "30",  # minutes between runs (systemd timer, WSL loop); 0: once per boot
    "PIP_SPEC": "ansible-core ansible",
    "PIP_ARGS": "",  # e.g. --index-url https://pypi.example.com/simple, or --no-index --find-links DIR
    "GALAXY_ARGS": "",  # e.g. --offline when requirements.yml pins only artifacts and the ansible package
    "VAULT_PASSWORD_FILE": "",  # a root-only file; needed when the repository holds vaulted values
    "EXTRA_ARGS": "",  # more ansible-pull options, e.g. --diff or --tags docker
}
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.M,
)


class PullError(Exception):
    """A run cannot go on; the message says what is missing and what to do."""


# --- settings ------------------------------------------------------------------------------------------
def parse_conf(text: str) -> dict[str, str]:
    """KEY=value lines (shell-like quoting allowed), '#' comments; unknown keys are an error."""
    conf = dict(DEFAULTS)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or key not in DEFAULTS:
            raise PullError(f"{CONF} line {number}: {raw!r} is not KEY=value with KEY one of {', '.join(DEFAULTS)}")
        words = shlex.split(value, comments=True)
        conf[key] = " ".join(words) if key in ("PIP_SPEC", "PIP_ARGS", "GALAXY_ARGS", "EXTRA_ARGS") else (
            words[0] if words else "")
    return conf


def render_conf(conf: dict[str, str]) -> str:
    lines = ["# dockprov-pull settings (written by `dockprov-pull install`; see the project's pull/README.md)."]
    lines += [f"{key}={shlex.quote(conf[key]) if conf[key] else ''}" for key in DEFAULTS]
    return "\n".join(lines) + "\n"


def load_conf() -> dict[str, str]:
    if not CONF.exists():
        raise PullError(f"{CONF} is missing: run `pull/dockprov-pull install` from a clone of the repository")
    conf = parse_conf(CONF.read_text())
    if not conf["URL"]:
        raise PullError(f"{CONF}: URL is empty (the git URL of the fleet's repository)")
    conf["HOST"] = conf["HOST"] or socket.gethostname().split(".")[0]
    return conf


# --- small helpers -------------------------------------------------------------------------------------
def now() -> str:
    utc = datetime.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; hosts may have 3.9)
    return datetime.datetime.now(utc).replace(microsecond=0).isoformat()


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)


class Log:
    """The run's output: to last.log, and to the terminal when a person runs it."""

    def __init__(self, path: Path, echo: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.echo = echo

    def write(self, text: str) -> None:
        self.handle.write(text)
        self.handle.flush()
        if self.echo:
            sys.stdout.write(text)
            sys.stdout.flush()

    def say(self, text: str) -> None:
        self.write(f"dockprov-pull: {text}\n")

    def close(self) -> None:
        self.handle.close()


def run_logged(log: Log, cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    log.say("$ " + " ".join(shlex.quote(c) for c in cmd))
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    assert proc.stdout is not None
    for line in proc.stdout:
        out.append(line)
        log.write(line)
    return proc.wait(), "".join(out)


def checked(log: Log, cmd: list[str], what: str, **kwargs) -> str:
    rc, out = run_logged(log, cmd, **kwargs)
    if rc != 0:
        raise PullError(f"{what} failed (exit {rc}); see {log.path}")
    return out


@contextlib.contextmanager
def locked(name: str, wait: bool = True):
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / name, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


# --- the tools: git, and ansible in a virtualenv -------------------------------------------------------
def ensure_system_packages(log: Log) -> None:
    """git and Python's venv module: installed with apt on Debian/Ubuntu when missing."""
    missing = []
    if shutil.which("git") is None:
        missing.append("git")
    if subprocess.run([sys.executable, "-c", "import ensurepip, venv"], capture_output=True).returncode != 0:
        missing.append("python3-venv")
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise PullError(f"missing {', '.join(missing)} and no apt-get to install them: install them, then run again")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    checked(log, ["apt-get", "update", "-qq"], "apt-get update", env=env)
    checked(log, ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], "apt-get install", env=env)


def ensure_venv(log: Log, conf: dict[str, str]) -> Path:
    """STATE/venv with conf's PIP_SPEC (pinned by the project), rebuilt when the spec or pip arguments change."""
    venv = STATE / "venv"
    stamp = venv / ".dockprov-pull-spec"
    want = f"{sys.version_info[:2]} {conf['PIP_SPEC']} {conf['PIP_ARGS']}"
    if stamp.exists() and stamp.read_text() == want and (venv / "bin" / "ansible-pull").exists():
        return venv
    log.say(f"installing {conf['PIP_SPEC']} into {venv}")
    shutil.rmtree(venv, ignore_errors=True)
    checked(log, [sys.executable, "-m", "venv", str(venv)], "python3 -m venv")
    rc, _ = run_logged(log, [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                             *shlex.split(conf["PIP_ARGS"]), *shlex.split(conf["PIP_SPEC"])])
    if rc != 0:
        hint = ""
        if sys.version_info[:2] < CONTROLLER_PYTHON:  # in pull mode the host is the controller
            hint = (f" This host has Python {sys.version_info[0]}.{sys.version_info[1]}; ansible-core 2.18+ needs 3.11 "
                    f"on the controller, which in pull mode is this host: set PIP_SPEC in {CONF} to versions for it "
                    "(ansible-core 2.17 runs on 3.10), or upgrade the distribution.")
        raise PullError(f"pip install {conf['PIP_SPEC']} failed (exit {rc}); see {log.path}.{hint}")
    stamp.write_text(want)
    return venv


# --- one run -------------------------------------------------------------------------------------------
def sync(log: Log, conf: dict[str, str]) -> tuple[Path, str]:
    """Clone or update STATE/checkout to the branch's tip; returns (checkout, commit)."""
    checkout = STATE / "checkout"
    if not (checkout / ".git").is_dir():
        shutil.rmtree(checkout, ignore_errors=True)
        checked(log, ["git", "clone", "--quiet", "--depth", "1", "--branch", conf["BRANCH"], conf["URL"],
                      str(checkout)], f"git clone {conf['URL']}")
    else:
        checked(log, ["git", "-C", str(checkout), "remote", "set-url", "origin", conf["URL"]], "git remote set-url")
        checked(log, ["git", "-C", str(checkout), "fetch", "--quiet", "--depth", "1", "origin", conf["BRANCH"]],
                f"git fetch {conf['URL']}")
        checked(log, ["git", "-C", str(checkout), "checkout", "--quiet", "--force", "-B", conf["BRANCH"],
                      "FETCH_HEAD"], "git checkout")
    commit = checked(log, ["git", "-C", str(checkout), "rev-parse", "HEAD"], "git rev-parse").strip()
    return checkout, commit


def install_collections(log: Log, conf: dict[str, str], venv: Path, checkout: Path) -> bool:
    """requirements.yml's collections into the checkout (its ansible.cfg says where); again only when
    requirements.yml or an artifact it may name changed. Returns whether it installed."""
    requirements = checkout / "requirements.yml"
    if not requirements.exists():
        return False
    digest = hashlib.sha256(requirements.read_bytes())
    for artifact in sorted((checkout / "collections").glob("*.tar.gz")):
        digest.update(artifact.name.encode() + artifact.read_bytes())
    stamp = STATE / "collections.sha256"
    if stamp.exists() and stamp.read_text() == digest.hexdigest() and (checkout / "collections"
                                                                      / "ansible_collections").is_dir():
        return False
    # A fresh install rather than --force, which would also reinstall what the ansible package brings (and
    # fail offline): an artifact rebuilt under the same version is picked up all the same.
    shutil.rmtree(checkout / "collections" / "ansible_collections", ignore_errors=True)
    checked(log, [str(venv / "bin" / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
                  *shlex.split(conf["GALAXY_ARGS"])], "ansible-galaxy collection install", cwd=checkout,
            env=ansible_env(checkout))
    stamp.write_text(digest.hexdigest())
    return True


def ansible_env(checkout: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return {**env, "ANSIBLE_CONFIG": str(checkout / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0"}


def pull_vars() -> Path:
    """What makes a controller's inventory entry run here: this host, local connection, the system Python
    (with python3-apt), no become (the run is root already)."""
    path = STATE / "pull-vars.json"
    write_atomic(path, json.dumps({"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                                   "ansible_become": False}) + "\n")
    return path


def ansible_pull(log: Log, conf: dict[str, str], venv: Path, checkout: Path) -> tuple[int, str]:
    cmd = [str(venv / "bin" / "ansible-pull"), "--url", conf["URL"], "--checkout", conf["BRANCH"],
           "--directory", str(checkout), "--inventory", str(checkout / conf["INVENTORY"]),
           "--limit", conf["HOST"], "--extra-vars", f"@{pull_vars()}"]
    if conf["VAULT_PASSWORD_FILE"]:
        cmd += ["--vault-password-file", conf["VAULT_PASSWORD_FILE"]]
    cmd += [*shlex.split(conf["EXTRA_ARGS"]), conf["PLAYBOOK"]]
    return run_logged(log, cmd, cwd=checkout, env=ansible_env(checkout))


def recap(output: str, host: str) -> dict[str, int] | None:
    """The host's PLAY RECAP counts from ansible-pull's output (the last recap: the playbook's)."""
    found = [m for m in RECAP.finditer(output) if m.group("host") == host]
    return {k: int(v) for k, v in found[-1].groupdict().items() if k != "host"} if found else None


def run(trigger: str, echo: bool) -> int:
    """One converge; always leaves status.json. Returns the exit code (0: converged)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    started, clock = now(), time.monotonic()
    status: dict = {"state": "running", "trigger": trigger, "started": started, "log": str(LOGS / "last.log")}
    with locked("run.lock") as _:
        log = Log(LOGS / "last.log", echo)
        rc, message = 1, ""
        try:
            conf = load_conf()
            status.update(host=conf["HOST"], url=conf["URL"], branch=conf["BRANCH"])
            write_atomic(LOGS / "status.json", json.dumps(status, indent=2) + "\n")
            log.say(f"{started} run ({trigger}) of {conf['URL']} {conf['BRANCH']} for {conf['HOST']}")
            ensure_system_packages(log)
            venv = ensure_venv(log, conf)
            checkout, commit = sync(log, conf)
            status["commit"] = commit
            status["collections_installed"] = install_collections(log, conf, venv, checkout)
            rc, output = ansible_pull(log, conf, venv, checkout)
            stats = recap(output, conf["HOST"])
            status["stats"] = stats
            after = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True,
                                   text=True).stdout.strip()
            if after and after != commit:
                status["commit"] = after  # a push landed between the fetch and ansible-pull's own update
            if stats is None:
                rc = rc or 1
                message = (f"no play recap for {conf['HOST']}: is it the host's name in {conf['INVENTORY']}? "
                           f"Set HOST in {CONF}")
            elif rc == 0 and (stats["failed"] or stats["unreachable"]):
                rc = 2
        except PullError as exc:
            message = str(exc)
            log.say(f"ERROR: {message}")
        finally:
            stats = status.get("stats") or {}
            status.update(state="finished", finished=now(), duration_s=round(time.monotonic() - clock, 1), rc=rc,
                          result="failed" if rc else ("changed" if stats.get("changed") else "ok"))
            if message:
                status["message"] = message
            log.say(f"{status['finished']} {status['result']} (exit {rc}) in {status['duration_s']} s")
            log.close()
            write_atomic(LOGS / "status.json", json.dumps(status, indent=2) + "\n")
            _history(status)
    return rc


def _history(status: dict) -> None:
    stats = status.get("stats") or {}
    line = (f"{status['finished']} {status['result']:<7} rc={status['rc']} {status.get('commit', '-')[:12]} "
            f"changed={stats.get('changed', '-')} failed={stats.get('failed', '-')} {status['duration_s']}s "
            f"({status['trigger']})\n")
    path = LOGS / "history.log"
    lines = (path.read_text().splitlines(keepends=True) if path.exists() else [])[-(HISTORY_LINES - 1):]
    write_atomic(path, "".join(lines) + line)


# --- triggers ------------------------------------------------------------------------------------------
def loop(trigger: str) -> int:
    """`run` now and every INTERVAL minutes; one loop per host (a second `boot` finds the first and leaves)."""
    with locked("loop.lock", wait=False) as mine:
        if not mine:
            return 0
        while True:
            run(trigger, echo=False)
            interval = int(load_conf()["INTERVAL"] or 0) if CONF.exists() else 0
            if interval <= 0:
                return 0
            time.sleep(interval * 60)
            trigger = "interval"


def boot() -> int:
    """WSL's [boot] command must return: the loop goes on in its own session, output to last.log."""
    subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "loop", "--trigger", "boot"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)
    return 0


def init_system() -> str:
    if Path("/run/systemd/system").is_dir():
        return "systemd"
    wsl = (Path("/proc/sys/fs/binfmt_misc/WSLInterop").exists() or Path("/run/WSL").is_dir()
           or "WSL_DISTRO_NAME" in os.environ or "microsoft" in Path("/proc/version").read_text().lower())
    return "wsl" if wsl else "other"


SERVICE = """\
[Unit]
Description=dockprov-pull: converge this host from {url}
Documentation=file:///var/log/dockprov-pull/status.json
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={bin} run --trigger timer
"""

TIMER = """\
[Unit]
Description=dockprov-pull every {interval} minutes

[Timer]
OnBootSec=5min
OnUnitActiveSec={interval}min
RandomizedDelaySec=2min

[Install]
WantedBy=timers.target
"""


def install(args: argparse.Namespace) -> int:
    """Copy this script to /usr/local/sbin, write /etc/dockprov-pull.conf from the project's pull/pull.conf,
    set the trigger (systemd timer; WSL [boot] command through dockprov.docker.wsl_conf), run once."""
    if os.geteuid() != 0:
        raise PullError("install needs root (sudo pull/dockprov-pull install)")
    here = Path(__file__).resolve()
    project_conf = here.parent / "pull.conf"
    conf = parse_conf(project_conf.read_text()) if project_conf.exists() else dict(DEFAULTS)
    if CONF.exists():  # a re-install keeps what was set on this host
        conf.update({k: v for k, v in parse_conf(CONF.read_text()).items() if v and k in ("HOST",)})
    for key in ("url", "branch", "host", "interval"):
        value = getattr(args, key)
        if value is not None:
            conf[key.upper()] = str(value)
    if not conf["URL"]:
        raise PullError("no URL: give --url, or run this from a clone made by `dockprov init --pull URL`")
    conf["HOST"] = conf["HOST"] or socket.gethostname().split(".")[0]
    if here != BIN:
        BIN.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(here, BIN)
        BIN.chmod(0o755)
    write_atomic(CONF, render_conf(conf), 0o600)
    kind = init_system()
    print(f"dockprov-pull: {CONF} written (host {conf['HOST']}, {conf['URL']} {conf['BRANCH']}); init: {kind}")
    interval = int(conf["INTERVAL"] or 0)
    if kind == "systemd":
        write_atomic(UNITS / "dockprov-pull.service", SERVICE.format(url=conf["URL"], bin=BIN))
        write_atomic(UNITS / "dockprov-pull.timer", TIMER.format(interval=max(interval, 1)))
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "enable", "--now", "dockprov-pull.timer"], check=True)
        print("dockprov-pull: dockprov-pull.timer enabled (systemctl list-timers dockprov-pull.timer)")
    if args.no_run and kind != "wsl":
        return 0
    rc = run("install", echo=True)
    if kind == "wsl":
        # /etc/wsl.conf has one owner, the collection's wsl_conf module (it merges with a command already there,
        # such as docker_wsl's `service docker start`); the checkout has the collection once a run synced it.
        checkout = STATE / "checkout"
        if not (checkout / "collections" / "ansible_collections" / "dockprov" / "docker").is_dir():
            raise PullError(f"the first run failed before the collection was installed, so /etc/wsl.conf is not "
                            f"set yet: see {LOGS / 'last.log'}, fix it and run install again")
        rc2 = subprocess.run([str(STATE / "venv" / "bin" / "ansible"), "localhost", "-c", "local",
                              "-e", f"@{pull_vars()}", "-m", "dockprov.docker.wsl_conf",
                              "-a", f"boot_command='{BOOT_COMMAND}'"],
                             cwd=checkout, env=ansible_env(checkout)).returncode
        if rc2 != 0:
            raise PullError(f"could not add `{BOOT_COMMAND}` to /etc/wsl.conf's [boot] command")
        print(f"dockprov-pull: /etc/wsl.conf [boot] runs `{BOOT_COMMAND}` when the distribution starts"
              + (f", then every {interval} minutes while it runs" if interval > 0 else ""))
    elif kind == "other":
        print(f"dockprov-pull: no systemd and not WSL: schedule `{BIN} run` yourself (cron, ...)")
    return rc


def show_status() -> int:
    path = LOGS / "status.json"
    if not path.exists():
        print(f"no run yet ({path} is missing)")
        return 1
    print(path.read_text(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dockprov-pull", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="install on this host (root), set the trigger, run once")
    inst.add_argument("--url", help="git URL of the fleet's repository (default: pull.conf's)")
    inst.add_argument("--branch", help="branch (default: pull.conf's)")
    inst.add_argument("--host", help="this host's name in the inventory (default: the short hostname)")
    inst.add_argument("--interval", type=int, help="minutes between runs; 0: once per boot (WSL)")
    inst.add_argument("--no-run", action="store_true", help="set up only; the first run comes with the timer")
    for name in ("run", "loop"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--trigger", default="manual", help=argparse.SUPPRESS)
    sub.add_parser("boot", help="the WSL [boot] command: start the loop in the background")
    sub.add_parser("status", help="print the last run's status.json")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            return install(args)
        if args.command == "run":
            return run(args.trigger, echo=sys.stdout.isatty() or args.trigger == "manual")
        if args.command == "loop":
            return loop(args.trigger)
        if args.command == "boot":
            return boot()
        return show_status()
    except PullError as exc:
        print(f"dockprov-pull: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
