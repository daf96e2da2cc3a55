"""Tests of module_utils/_daemon_json.py: the daemon_json module's logic on temp files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps, find_backups

NVIDIA = {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}


def subprocess_runner(argv: list[str]) -> tuple[int, str, str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def fake_dockerd(tmp_path: Path, body: str) -> str:
    """A stand-in dockerd: a sh script; $3 is the --config-file argument."""
    script = tmp_path / "bin" / "dockerd"
    script.parent.mkdir(exist_ok=True)
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


# dockerd >= 23: accepts files whose mirrors are URLs, rejects the rest like dockerd does.
DOCKERD_NEW = """[ "$1" = --validate ] || exit 99
if grep -q '"not-a-url"' "$3"; then
  echo "unable to configure the Docker daemon with file $3: invalid mirror: not-a-url" >&2; exit 1
fi
echo "configuration OK"; exit 0"""
# dockerd 20.10, exactly as this machine's prints it.
DOCKERD_OLD = """echo "Status: unknown flag: --validate" >&2
echo "See 'dockerd --help'., Code: 125" >&2
exit 1"""


def params(path: Path, **kwargs: object) -> dict[str, object]:
    base: dict[str, object] = {
        "path": str(path),
        "settings": {},
        "merge_lists": [],
        "remove": [],
        "validate": "builtin",
        "dockerd_path": "dockerd",
        "backup": True,
        "state": "present",
    }
    base.update(kwargs)
    return base


# --------------------------------------------------------------------------- load


def test_load_missing_and_empty(tmp_path: Path) -> None:
    assert dj.load(str(tmp_path / "nope.json")) == {}
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert dj.load(str(empty)) == {}
    blank = tmp_path / "blank.json"
    blank.write_text("  \n\n")
    assert dj.load(str(blank)) == {}


def test_load_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "daemon.json"
    bad.write_text('{\n  "debug": true,\n  "registry-mirrors": ["http://a" "http://b"]\n}\n')
    with pytest.raises(dj.DaemonJsonParseError) as info:
        dj.load(str(bad))
    assert (info.value.line, info.value.column) == (3, 35)
    assert str(info.value).startswith(f"{bad}:3:35: Expecting ")


@pytest.mark.parametrize("text", ["[]", '"x"', "42", "null"])
def test_load_top_level_not_object(tmp_path: Path, text: str) -> None:
    f = tmp_path / "daemon.json"
    f.write_text(text)
    with pytest.raises(dj.DaemonJsonParseError, match="must be a JSON object"):
        dj.load(str(f))


# --------------------------------------------------------------------------- merge


def test_merge_sets_and_keeps_unmentioned() -> None:
    current = {"log-driver": "json-file", "debug": False}
    new = dj.merge(current, {"debug": True, "registry-mirrors": ["http://m:5000"]})
    assert new == {"log-driver": "json-file", "debug": True, "registry-mirrors": ["http://m:5000"]}
    assert current == {"log-driver": "json-file", "debug": False}  # input not modified


def test_merge_dicts_recursively_keeps_other_runtimes() -> None:
    current = {
        "runtimes": {"crun": {"path": "/usr/bin/crun"}},
        "log-opts": {"max-size": "10m", "max-file": "3"},
    }
    new = dj.merge(current, {"runtimes": NVIDIA, "log-opts": {"max-size": "50m"}})
    assert new["runtimes"] == {"crun": {"path": "/usr/bin/crun"}, **NVIDIA}
    assert new["log-opts"] == {"max-size": "50m", "max-file": "3"}


def test_merge_lists_replace_by_default_and_append_when_named() -> None:
    current = {"registry-mirrors": ["http://a", "http://b"], "dns": ["1.1.1.1"]}
    replaced = dj.merge(current, {"registry-mirrors": ["http://c"], "dns": ["9.9.9.9"]})
    assert replaced["registry-mirrors"] == ["http://c"]
    merged = dj.merge(
        current, {"registry-mirrors": ["http://b", "http://c", "http://c"]}, ["registry-mirrors"]
    )
    assert merged["registry-mirrors"] == ["http://a", "http://b", "http://c"]
    # merge_lists on a key that does not exist yet just sets the list
    assert dj.merge({}, {"dns": ["8.8.8.8"]}, ["dns"]) == {"dns": ["8.8.8.8"]}


def test_merge_none_means_leave_as_is() -> None:
    current = {"data-root": "/srv/docker", "log-opts": {"max-size": "10m"}}
    new = dj.merge(current, {"data-root": None, "mtu": None, "log-opts": {"max-size": None, "max-file": "2"}})
    assert new == {"data-root": "/srv/docker", "log-opts": {"max-size": "10m", "max-file": "2"}}


def test_merge_remove_dotted_and_top_level() -> None:
    current = {"runtimes": {"crun": {"path": "crun"}, **NVIDIA}, "debug": True, "default-runtime": "nvidia"}
    new = dj.merge(current, {}, remove=["runtimes.nvidia", "default-runtime", "absent.key", "nope"])
    assert new == {"runtimes": {"crun": {"path": "crun"}}, "debug": True}


def test_merge_remove_key_containing_dots() -> None:
    current = {"default-network-opts": {"bridge": {"com.docker.network.driver.mtu": "1400", "x": "y"}}}
    new = dj.merge(current, {}, remove=["default-network-opts.bridge.com.docker.network.driver.mtu"])
    assert new == {"default-network-opts": {"bridge": {"x": "y"}}}


def test_merge_set_and_remove_same_key_is_an_error() -> None:
    with pytest.raises(dj.DaemonJsonError, match="both set and removed: debug"):
        dj.merge({}, {"debug": True}, remove=["debug"])


# --------------------------------------------------------------------------- render / classify


def test_render_is_stable_and_sorted() -> None:
    text = dj.render({"b": 1, "a": {"z": 1, "y": [1, 2]}})
    assert text == '{\n  "a": {\n    "y": [\n      1,\n      2\n    ],\n    "z": 1\n  },\n  "b": 1\n}\n'
    assert dj.render(json.loads(text)) == text


@pytest.mark.parametrize(
    ("old", "new", "action"),
    [
        ({}, {}, "none"),
        ({"debug": False}, {"debug": False}, "none"),
        ({}, {"registry-mirrors": ["http://m"]}, "reload"),
        ({"debug": False}, {"debug": True, "labels": ["a=b"], "live-restore": True}, "reload"),
        ({}, {"runtimes": NVIDIA, "default-runtime": "nvidia"}, "reload"),
        ({}, {"data-root": "/srv/docker"}, "restart"),
        ({"debug": True}, {"debug": True, "log-driver": "local"}, "restart"),
        ({"registry-mirrors": ["http://m"]}, {"debug": True, "storage-driver": "overlay2"}, "restart"),
        # removing a key that SIGHUP only updates "if set" keeps the old value live: restart
        ({"registry-mirrors": ["http://m"]}, {}, "restart"),
        # these reset to their default on reload when absent
        ({"max-concurrent-downloads": 10}, {}, "reload"),
        ({}, {"features": {"buildkit": True}}, "reload"),
        ({}, {"features": {"containerd-snapshotter": True}}, "restart"),
    ],
)
def test_classify(old: dict, new: dict, action: str) -> None:
    assert dj.classify(old, new) == action


def test_changed_keys() -> None:
    assert dj.changed_keys({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4}) == ["b", "c", "d"]


def test_reloadable_keys_match_moby_docs() -> None:
    documented = {
        "debug", "labels", "live-restore", "max-concurrent-downloads", "max-concurrent-uploads",
        "max-download-attempts", "default-runtime", "runtimes", "authorization-plugins",
        "allow-nondistributable-artifacts", "insecure-registries", "registry-mirrors", "shutdown-timeout",
        "features",
    }  # fmt: skip
    assert documented == dj.RELOADABLE_KEYS


# --------------------------------------------------------------------------- check_types


def test_check_types_accepts_a_realistic_config() -> None:
    config = {
        "registry-mirrors": ["https://mirror.example.com", "http://registry.lab:5000"],
        "insecure-registries": ["registry.lab:5000"],
        "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "3"},
        "data-root": "/var/lib/docker",
        "live-restore": True,
        "ipv6": False,
        "dns": ["1.1.1.1"],
        "default-address-pools": [{"base": "172.30.0.0/16", "size": 24}],
        "runtimes": NVIDIA,
        "default-runtime": "runc",
        "max-concurrent-downloads": 3,
        "labels": ["env=lab"],
        "features": {"buildkit": True},
        "proxies": {"http-proxy": "http://p:3128", "no-proxy": "localhost"},
        "exec-opts": ["native.cgroupdriver=systemd"],
        "storage-driver": "overlay2",
        "mtu": 1400,
        "bip": "10.10.0.1/24",
        "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 65536, "Soft": 65536}},
        "some-future-key": {"anything": 1},
    }
    assert dj.check_types(config) == []


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"registry-mirrors": "http://m"}, "registry-mirrors: is a string, expected a list of http(s) URL"),
        ({"registry-mirrors": ["registry.lab:5000"]}, "registry-mirrors: item 0 'registry.lab:5000' is not"),
        ({"log-opts": {"max-file": 3}}, "log-opts: 'max-file' is a integer, expected an object of string"),
        ({"data-root": "var/lib/docker"}, "data-root: 'var/lib/docker' is not absolute"),
        ({"live-restore": "true"}, "live-restore: is a string, expected a boolean"),
        ({"mtu": True}, "mtu: is a boolean, expected an integer"),
        ({"max-concurrent-uploads": "5"}, "max-concurrent-uploads: is a string, expected an integer"),
        ({"dns": ["1.1.1.1", 8]}, "dns: item 1 is a integer, expected a list of strings"),
        ({"default-address-pools": [{"base": "nope", "size": 24}]}, "item 0 base 'nope' is not a CIDR"),
        ({"default-address-pools": [{"base": "10.0.0.0/8", "size": "24"}]}, "item 0 size '24'"),
        ({"runtimes": {"nvidia": {"args": []}}}, "runtimes: 'nvidia' has no path"),
        (
            {"features": {"buildkit": "yes"}},
            "features: 'buildkit' is a string, expected an object of name to",
        ),
        ({"proxies": {"ftp-proxy": "x"}}, "proxies: unknown key 'ftp-proxy'"),
        ({"default-ulimits": {"nofile": {"Hard": "1"}}}, "default-ulimits: 'nofile' Hard is a string"),
    ],
)
def test_check_types_errors(config: dict, fragment: str) -> None:
    errors = dj.check_types(config)
    assert len(errors) == 1
    assert fragment in errors[0]
    assert "expected" in errors[0]


# --------------------------------------------------------------------------- run(): module logic on files


def test_run_creates_dir_and_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "docker" / "daemon.json"
    result = dj.run(params(path, settings={"registry-mirrors": ["http://registry.lab:5000"]}))
    assert result["changed"] is True
    assert result["action"] == "reload"
    assert result["changed_keys"] == ["registry-mirrors"]
    assert result["validated_with"] == "builtin"
    assert path.read_text() == '{\n  "registry-mirrors": [\n    "http://registry.lab:5000"\n  ]\n}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    # no previous file: the marker that says so, in the backup scheme (what state=restore reads)
    assert result["backup_file"].startswith(str(path) + ".") and result["backup_file"].endswith(".absent~")
    assert Path(result["backup_file"]).read_bytes() == b""
    assert [b.absent for b in find_backups(str(path))] == [True]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    # second run: unchanged, nothing written
    again = dj.run(params(path, settings={"registry-mirrors": ["http://registry.lab:5000"]}))
    assert again["changed"] is False
    assert again["action"] == "none"
    assert again["validated_with"] == "none"


def test_run_keeps_other_keys_mode_and_makes_backup(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    original = '{"log-driver": "json-file", "registry-mirrors": ["http://old"]}'
    path.write_text(original)
    path.chmod(0o600)
    result = dj.run(
        params(path, settings={"registry-mirrors": ["http://new"]}, merge_lists=["registry-mirrors"])
    )
    assert result["changed"] is True
    assert json.loads(path.read_text()) == {
        "log-driver": "json-file",
        "registry-mirrors": ["http://old", "http://new"],
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup = Path(result["backup_file"])
    assert [b.path for b in find_backups(str(path))] == [str(backup)]
    assert backup.name.startswith(f"daemon.json.{os.getpid()}.") and backup.name.endswith("~")
    assert backup.read_text() == original
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert result["diff"]["before"] == original
    assert result["diff"]["after"] == path.read_text()


def test_run_semantically_equal_file_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    hand = '{ "debug":true,\n\t"registry-mirrors" : [ "http://m" ] }'
    path.write_text(hand)
    before = path.stat().st_mtime_ns
    result = dj.run(params(path, settings={"registry-mirrors": ["http://m"], "debug": True}))
    assert result["changed"] is False
    assert path.read_text() == hand
    assert path.stat().st_mtime_ns == before


def test_run_invalid_json_leaves_file_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    raw = b'{\r\n  "debug": true,\r\n  "registry-mirrors": [\r\n}\r\n'
    path.write_bytes(raw)
    with pytest.raises(dj.DaemonJsonParseError) as info:
        dj.run(params(path, settings={"debug": False}))
    assert str(info.value).startswith(f"{path}:4:1: ")
    assert path.read_bytes() == raw
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon.json"]


def test_run_builtin_validation_failure_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}')
    with pytest.raises(dj.DaemonJsonError, match="live-restore: is a string, expected a boolean"):
        dj.run(params(path, settings={"live-restore": "yes"}))
    assert path.read_text() == '{"debug": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon.json"]


def test_run_check_mode_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "docker" / "daemon.json"
    result = dj.run(params(path, settings={"data-root": "/srv/docker"}), check_mode=True)
    assert result["changed"] is True
    assert result["action"] == "restart"
    assert result["config"] == {"data-root": "/srv/docker"}
    assert not path.parent.exists()
    existing = tmp_path / "daemon.json"
    existing.write_text('{"debug": false}')
    result = dj.run(params(existing, settings={"debug": True}), check_mode=True)
    assert result["changed"] is True
    assert result["backup_file"] is None  # check mode makes no backup and names none
    assert existing.read_text() == '{"debug": false}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon.json"]


def test_run_validate_none_skips_type_check(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    result = dj.run(params(path, settings={"mtu": "1400"}, validate="none"))
    assert result["validated_with"] == "none"
    assert json.loads(path.read_text()) == {"mtu": "1400"}


def test_run_dockerd_validation_ok_and_rejected(tmp_path: Path) -> None:
    dockerd = fake_dockerd(tmp_path, DOCKERD_NEW)
    path = tmp_path / "daemon.json"
    ok = dj.run(
        params(path, settings={"debug": True}, validate="auto", dockerd_resolved=dockerd),
        runner=subprocess_runner,
    )
    assert ok["validated_with"] == "dockerd"
    with pytest.raises(dj.DaemonJsonError) as info:
        dj.run(
            params(
                path,
                settings={"registry-mirrors": ["not-a-url"]},
                validate="dockerd",
                dockerd_resolved=dockerd,
            ),
            runner=subprocess_runner,
        )
    assert "invalid mirror: not-a-url" in str(info.value)
    assert json.loads(path.read_text()) == {"debug": True}


def test_run_auto_falls_back_to_builtin_on_old_dockerd(tmp_path: Path) -> None:
    dockerd = fake_dockerd(tmp_path, DOCKERD_OLD)
    path = tmp_path / "daemon.json"
    result = dj.run(
        params(path, settings={"debug": True}, validate="auto", dockerd_resolved=dockerd),
        runner=subprocess_runner,
    )
    assert result["validated_with"] == "builtin"
    with pytest.raises(dj.DaemonJsonError, match="unknown flag"):
        dj.run(
            params(path, settings={"debug": False}, validate="dockerd", dockerd_resolved=dockerd),
            runner=subprocess_runner,
        )
    # no dockerd at all: auto uses builtin, dockerd fails
    assert (
        dj.run(params(path, settings={"ipv6": False}, validate="auto"), runner=subprocess_runner)[
            "validated_with"
        ]
        == "builtin"
    )
    with pytest.raises(dj.DaemonJsonError, match="dockerd not found"):
        dj.run(params(path, settings={"ipv6": True}, validate="dockerd"), runner=subprocess_runner)


def test_validate_temp_file_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def runner(argv: list[str]) -> tuple[int, str, str]:
        seen.append(argv[3])
        assert json.loads(Path(argv[3]).read_text()) == {"debug": True}
        return 0, "configuration OK", ""

    assert dj.dockerd_validate(runner, "dockerd", dj.render({"debug": True})) == (True, "configuration OK")
    assert seen and not os.path.exists(seen[0])


def test_restore_puts_previous_file_back(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    original = '{"registry-mirrors": ["http://old"]}\n'
    path.write_text(original)
    dj.run(params(path, settings={"data-root": "/srv/docker"}))
    assert json.loads(path.read_text())["data-root"] == "/srv/docker"
    check = dj.run(params(path, state="restore"), check_mode=True)
    assert check["changed"] is True
    assert "data-root" in path.read_text()
    result = dj.run(params(path, state="restore"))
    assert result["changed"] is True
    assert result["action"] == "restart"
    assert result["changed_keys"] == ["data-root"]
    assert path.read_text() == original
    assert dj.run(params(path, state="restore"))["changed"] is False


def test_restore_removes_file_the_module_created(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    created = dj.run(params(path, settings={"debug": True}))
    assert path.exists()
    result = dj.run(params(path, state="restore"))
    assert result["changed"] is True
    assert result["backup_file"] == created["backup_file"]
    assert not path.exists()
    assert dj.run(params(path, state="restore"))["changed"] is False


def test_restore_without_backup_fails_and_keeps_file(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}')
    with pytest.raises(dj.DaemonJsonError, match="nothing to restore"):
        dj.run(params(path, state="restore"))
    assert path.read_text() == '{"debug": true}'


class Clock:
    """A clock for FileOps: every backup one second after the one before."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1
        return self.now


def test_restore_takes_the_newest_backup_and_makes_none(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    files = FileOps(clock=Clock())
    users = '{"debug": true}\n'
    path.write_text(users)
    dj.run(params(path, settings={"debug": False}), files=files)
    dj.run(params(path, settings={"data-root": "/srv/docker"}), files=files)
    backups = find_backups(str(path))
    assert [Path(b.path).read_text() for b in backups] == [users, dj.render({"debug": False})]
    result = dj.run(params(path, state="restore"), files=files)
    assert result["backup_file"] == backups[-1].path
    assert path.read_text() == dj.render({"debug": False})
    assert result["changed_keys"] == ["data-root"] and result["action"] == "restart"
    assert len(find_backups(str(path))) == 2  # restore backs nothing up ...
    again = dj.run(params(path, state="restore"), files=files)
    assert again["changed"] is False  # ... so a second restore does not undo the first
    assert path.read_text() == dj.render({"debug": False})


def test_restore_prefers_the_absent_marker_when_newest(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    files = FileOps(clock=Clock())
    path.write_text('{"debug": true}\n')
    dj.run(params(path, settings={"debug": False}), files=files)  # backup of the user's file
    path.unlink()  # someone removed it; the next write creates it again
    dj.run(params(path, settings={"ipv6": False}), files=files)  # marker: there was no file
    assert [b.absent for b in find_backups(str(path))] == [False, True]
    assert dj.run(params(path, state="restore"), files=files)["changed"] is True
    assert not path.exists()


def test_failed_write_keeps_the_file_and_restore_finds_it_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ansible_collections.dockprov.docker.plugins.module_utils import _files

    path = tmp_path / "daemon.json"
    original = '{"registry-mirrors": ["http://old"]}\n'
    path.write_text(original)

    def full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        dj.run(params(path, settings={"data-root": "/srv/docker"}))
    monkeypatch.undo()
    assert path.read_text() == original
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0] == "daemon.json" and names[1].endswith("~")  # one backup, no temp file
    assert (tmp_path / names[1]).read_text() == original
    result = dj.run(params(path, state="restore"))
    assert result["changed"] is False and path.read_text() == original


def test_restore_reads_the_backups_of_dockprov_0_1(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text('{"data-root": "/srv/docker"}\n')
    Path(str(path) + ".dockprov-previous").write_text('{"debug": true}\n')
    result = dj.run(params(path, state="restore"))
    assert result["backup_file"] == str(path) + ".dockprov-previous"
    assert path.read_text() == '{"debug": true}\n'
    other = tmp_path / "created.json"
    other.write_text("{}\n")
    Path(str(other) + ".dockprov-previous.none").write_text("")
    assert dj.run(params(other, state="restore"))["changed"] is True
    assert not other.exists()
    # a backup in the current scheme wins over the old rolling one
    path.write_text('{"mtu": 1400}\n')
    dj.run(params(path, settings={"ipv6": True}))
    dj.run(params(path, state="restore"))
    assert path.read_text() == '{"mtu": 1400}\n'


def _fake_proc(root: Path, pid: int, comm: str, pid_file: str = "var/run/docker.pid") -> None:
    (root / pid_file).parent.mkdir(parents=True, exist_ok=True)
    (root / pid_file).write_text(f"{pid}\n")
    (root / "proc" / str(pid)).mkdir(parents=True, exist_ok=True)
    (root / "proc" / str(pid) / "comm").write_text(f"{comm}\n")


def test_running_dockerd_from_pid_file(tmp_path: Path) -> None:
    _fake_proc(tmp_path, 4211, "dockerd")
    assert dj.running_dockerd(str(tmp_path)) == 4211


def test_running_dockerd_reads_run_when_var_run_is_absent(tmp_path: Path) -> None:
    _fake_proc(tmp_path, 77, "dockerd", pid_file="run/docker.pid")
    assert dj.running_dockerd(str(tmp_path)) == 77


@pytest.mark.parametrize("comm", ["bash", None])
def test_stale_pid_file_is_no_daemon(tmp_path: Path, comm: str | None) -> None:
    # A pid file left by a dockerd that died, its PID reused by another process, or by nothing.
    _fake_proc(tmp_path, 4211, comm or "x")
    if comm is None:
        (tmp_path / "proc" / "4211" / "comm").unlink()
    assert dj.running_dockerd(str(tmp_path)) is None


def test_no_pid_file_is_no_daemon(tmp_path: Path) -> None:
    assert dj.running_dockerd(str(tmp_path)) is None


def test_run_reports_the_running_daemon(tmp_path: Path) -> None:
    _fake_proc(tmp_path, 9, "dockerd")
    params = {"path": str(tmp_path / "daemon.json"), "settings": {"debug": True}, "validate": "builtin"}
    result = dj.run(params, check_mode=True, root=str(tmp_path))
    assert result["dockerd_pid"] == 9 and result["action"] == "reload"
