"""Tests of module_utils/_ulimit.py (the init_ulimit module's logic).

Fixtures (tests/fixtures/init.d/):
- docker.io-bookworm: Debian bookworm's docker.io 20.10.24 /etc/init.d/docker, verbatim (``ulimit -n 1048576``
  at line 86, ``ulimit -u/-p unlimited`` in an ``if [ "$BASH" ]`` block, ``set -e``).
- docker-ce-25: a reconstruction of Docker 25+'s docker-ce script, modelled on moby's
  contrib/init/sysvinit-debian/docker: same structure, ``ulimit -Hn 524288`` at line 62 as in the
  tutorial's error message ``/etc/init.d/docker:62: ulimit: ... (Invalid argument)``.
"""

from __future__ import annotations

import resource
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _ulimit as ul

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "init.d"
DEBIAN = (FIXTURES / "docker.io-bookworm").read_text()
DOCKER_CE = (FIXTURES / "docker-ce-25").read_text()
DASH = shutil.which("dash")


# --------------------------------------------------------------------------- line matching


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("-n", ("HS", "n")),
        ("-Hn", ("H", "n")),
        ("-H -n", ("H", "n")),
        ("-nS", ("S", "n")),
        ("-u", ("HS", "u")),
    ],
)
def test_parse_flags(flags: str, expected: tuple[str, str]) -> None:
    assert ul.parse_flags(flags) == expected


@pytest.mark.parametrize(
    "line",
    [
        "ulimit -n",  # a query
        "ulimit -Hn",
        "ulimit -a",
        "# ulimit -Hn 524288",  # a comment
        "\t\tulimit -n 1048576 && echo done",  # compound: not understood, left alone
        "ulimit -nu 5",  # two resources
        "echo ulimit -n 5",
    ],
)
def test_lines_left_alone(line: str) -> None:
    assert ul.guard_line(line + "\n") is None


def test_guard_hard_line_exact_text() -> None:
    assert ul.guard_line("\t\tulimit -Hn 524288\n") == (
        "\t\t{ _dockprov_hard=$(ulimit -Hn 2>/dev/null) || _dockprov_hard=; "
        'if [ "$_dockprov_hard" = unlimited ] || [ "$_dockprov_hard" -gt 524288 ] 2>/dev/null; then '
        "_dockprov_soft=$(ulimit -Sn 2>/dev/null) || _dockprov_soft=; "
        'if [ "$_dockprov_soft" = unlimited ] || [ "$_dockprov_soft" -gt 524288 ] 2>/dev/null; then '
        "ulimit -Sn 524288 2>/dev/null || true; fi; ulimit -Hn 524288 2>/dev/null || true; fi; } "
        "# dockprov: guarded (was: ulimit -Hn 524288)\n"
    )


def test_guard_unlimited_lines() -> None:
    assert ul.guard_line("\t\t\tulimit -u unlimited\n") == (
        "\t\t\tulimit -u unlimited 2>/dev/null || true # dockprov: guarded (was: ulimit -u unlimited)\n"
    )
    assert ul.guard_line("ulimit -Hp unlimited") == (
        "ulimit -Hp unlimited 2>/dev/null || true # dockprov: guarded (was: ulimit -Hp unlimited)"
    )


def test_guard_keeps_indentation_spaces_crlf_and_trailing_comment() -> None:
    out = ul.guard_line("    ulimit -n 1048576  # many files\r\n")
    assert out is not None
    assert out.startswith("    { _dockprov_want=1048576;")
    assert out.endswith("# dockprov: guarded (was: ulimit -n 1048576  # many files)\r\n")


# --------------------------------------------------------------------------- whole scripts


def test_guard_debian_script() -> None:
    new, patched = ul.patch(DEBIAN, "guard")
    assert [p["line_number"] for p in patched] == [86, 91, 93]
    assert [p["before"] for p in patched] == [
        "\t\tulimit -n 1048576",
        "\t\t\tulimit -u unlimited",
        "\t\t\tulimit -p unlimited",
    ]
    assert all(ul.MARKER in p["after"] for p in patched)
    old_lines, new_lines = DEBIAN.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    assert [i + 1 for i in range(len(old_lines)) if old_lines[i] != new_lines[i]] == [
        86,
        91,
        93,
    ]
    assert new.startswith("#!/bin/sh\nset -e\n")


def test_guard_docker_ce_line_62() -> None:
    new, patched = ul.patch(DOCKER_CE, "guard")
    assert [p["line_number"] for p in patched] == [62, 67, 69]
    assert patched[0]["before"] == "\t\tulimit -Hn 524288"
    assert new.splitlines()[61].endswith("# dockprov: guarded (was: ulimit -Hn 524288)")


def test_guard_is_idempotent() -> None:
    once, patched = ul.patch(DOCKER_CE, "guard")
    twice, patched_again = ul.patch(once, "guard")
    assert patched and patched_again == []
    assert twice == once


def test_guard_spaces_instead_of_tabs() -> None:
    spaced = DEBIAN.expandtabs(4)
    new, patched = ul.patch(spaced, "guard")
    assert [p["line_number"] for p in patched] == [86, 91, 93]
    assert new.splitlines()[85].startswith("        { _dockprov_want=1048576;")


def test_seed_exact_diff() -> None:
    new, patched = ul.patch(DOCKER_CE, "seed")
    assert patched == [
        {"line_number": 62, "before": "\t\tulimit -Hn 524288", "after": "\t\tulimit -n 524288"}
    ]
    assert new == DOCKER_CE.replace("\t\tulimit -Hn 524288\n", "\t\tulimit -n 524288\n")
    assert ul.patch(new, "seed") == (new, [])
    # Debian's script has no -Hn line: nothing to do
    assert ul.patch(DEBIAN, "seed") == (DEBIAN, [])


def test_seed_leaves_guarded_lines_alone() -> None:
    guarded, _ = ul.patch(DOCKER_CE, "guard")
    assert ul.patch(guarded, "seed") == (guarded, [])


# --------------------------------------------------------------------------- run the guarded lines in dash


def _start_block(script: str) -> str:
    """The start section's ulimit lines through the end of the if [ "$BASH" ] block."""
    lines = script.splitlines()
    first = next(i for i, line in enumerate(lines) if "ulimit" in line and not line.strip().startswith("#"))
    last = next(i for i in range(first, len(lines)) if lines[i].strip() == "fi")
    return "\n".join(lines[first : last + 1]) + "\n"


def _cap() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 20000 if hard == resource.RLIM_INFINITY else min(hard, 20000)


def _run_dash(block: str, hard: int, soft: int) -> subprocess.CompletedProcess[str]:
    script = (
        "set -e\n"
        f"ulimit -Hn {hard}\nulimit -Sn {soft}\n"
        'echo "BEFORE $(ulimit -Sn) $(ulimit -Hn)"\n'
        f"{block}"
        'echo "AFTER $(ulimit -Sn) $(ulimit -Hn)"\n'
    )
    return subprocess.run([DASH or "dash", "-c", script], capture_output=True, text=True, check=False)


def _limits(output: str, tag: str) -> tuple[int, int]:
    line = next(line for line in output.splitlines() if line.startswith(tag + " "))
    soft, hard = line.split()[1:]
    return int(soft), int(hard)


needs_dash = pytest.mark.skipif(DASH is None, reason="dash not installed")


@needs_dash
@pytest.mark.parametrize("fixture", [DEBIAN, DOCKER_CE], ids=["docker.io", "docker-ce-25"])
@pytest.mark.parametrize("soft_share", [1.0, 0.05], ids=["soft=hard", "soft<hard"])
def test_guarded_block_survives_set_e_in_dash(fixture: str, soft_share: float) -> None:
    hard = _cap()
    soft = max(64, int(hard * soft_share))
    guarded, _ = ul.patch(fixture, "guard")
    proc = _run_dash(_start_block(guarded), hard, soft)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    before_soft, before_hard = _limits(proc.stdout, "BEFORE")
    after_soft, after_hard = _limits(proc.stdout, "AFTER")
    assert (before_soft, before_hard) == (soft, hard)
    assert after_hard <= before_hard
    assert after_soft <= after_hard
    if soft_share == 1.0:  # already at the cap: nothing may go up
        assert (after_soft, after_hard) == (before_soft, before_hard)
    if "ulimit -n 1048576" in fixture:  # -n: the soft limit goes up to the hard limit, no further
        assert after_soft == before_hard


@needs_dash
def test_guard_fixes_the_wsl_einval_case_in_dash() -> None:
    """Scaled-down WSL failure: soft limit above the new hard limit. Original aborts, guarded lowers both."""
    hard = _cap()
    target = hard // 2
    original = f"\t\tulimit -Hn {target}\n"
    proc = _run_dash(original + 'echo "AFTER $(ulimit -Sn) $(ulimit -Hn)"\n', hard, hard)
    assert proc.returncode != 0
    assert "AFTER" not in proc.stdout
    guarded = ul.guard_line(original)
    assert guarded is not None
    proc = _run_dash(guarded, hard, hard)
    assert proc.returncode == 0, proc.stderr
    assert _limits(proc.stdout, "AFTER") == (target, target)


@needs_dash
def test_guard_keeps_lower_hard_limit_in_dash() -> None:
    """ulimit -Hn N with a hard limit already below N: never raised, nothing fails."""
    hard = _cap()
    guarded = ul.guard_line(f"ulimit -Hn {hard * 10}\n")
    assert guarded is not None
    proc = _run_dash(guarded, hard, hard // 4)
    assert proc.returncode == 0, proc.stderr
    assert _limits(proc.stdout, "AFTER") == (hard // 4, hard)


# --------------------------------------------------------------------------- run(): module logic on files


def _script(tmp_path: Path, text: str = DOCKER_CE) -> Path:
    path = tmp_path / "docker"
    path.write_text(text)
    path.chmod(0o755)
    return path


def _backups(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name + ".") and p.name.endswith("~"))


def test_run_guard_writes_once_with_backup(tmp_path: Path) -> None:
    path = _script(tmp_path)
    result = ul.run({"path": str(path), "mode": "guard", "backup": True})
    assert result["changed"] is True
    assert [p["line_number"] for p in result["patched_lines"]] == [62, 67, 69]
    # Ansible's backup name, which systemd's SysV generator skips (a *.dockprov-orig copy would become a unit)
    assert _backups(path) == [Path(result["backup_file"])]
    backup = Path(result["backup_file"])
    assert backup.read_text() == DOCKER_CE
    assert stat.S_IMODE(backup.stat().st_mode) == 0o755
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert path.read_text() == ul.patch(DOCKER_CE, "guard")[0]
    assert result["diff"]["before"] == DOCKER_CE
    again = ul.run({"path": str(path), "mode": "guard", "backup": True})
    assert again["changed"] is False
    assert again["patched_lines"] == [] and again["backup_file"] is None
    assert len(_backups(path)) == 1


def test_run_backs_up_each_change_the_oldest_is_the_original(tmp_path: Path) -> None:
    from ansible_collections.dockprov.docker.plugins.module_utils._files import FileOps

    clock = iter(range(1_767_225_600, 1_767_225_700))
    files = FileOps(clock=lambda: float(next(clock)))
    path = _script(tmp_path)
    first = ul.run({"path": str(path), "mode": "seed", "backup": True}, files=files)
    # the package ships a new script: patched again, backed up again
    path.write_text(DEBIAN)
    second = ul.run({"path": str(path), "mode": "guard", "backup": True}, files=files)
    assert _backups(path) == [Path(first["backup_file"]), Path(second["backup_file"])]
    assert Path(first["backup_file"]).read_text() == DOCKER_CE
    assert Path(second["backup_file"]).read_text() == DEBIAN


def test_run_without_backup(tmp_path: Path) -> None:
    path = _script(tmp_path)
    result = ul.run({"path": str(path), "mode": "seed", "backup": False})
    assert result["changed"] is True and result["backup_file"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker"]


def test_run_check_mode_writes_nothing(tmp_path: Path) -> None:
    path = _script(tmp_path)
    result = ul.run({"path": str(path), "mode": "guard", "backup": True}, check_mode=True)
    assert result["changed"] is True
    assert len(result["patched_lines"]) == 3
    assert path.read_text() == DOCKER_CE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker"]


def test_run_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ul.UlimitError, match="does not exist"):
        ul.run({"path": str(tmp_path / "docker"), "mode": "guard"})
    result = ul.run({"path": str(tmp_path / "docker"), "mode": "guard", "missing_ok": True})
    assert result["changed"] is False
    assert result["skipped"] is True


@needs_dash
@pytest.mark.parametrize("fixture", [DEBIAN, DOCKER_CE], ids=["docker.io", "docker-ce-25"])
def test_unpatched_block_aborts_where_the_hard_limit_cannot_be_raised(fixture: str) -> None:
    """The bug being fixed, reproduced: needs a machine without CAP_SYS_RESOURCE (like the lab's)."""
    hard = _cap()
    proc = _run_dash(_start_block(fixture), hard, hard)
    if proc.returncode == 0:
        pytest.skip("this machine may raise hard limits (CAP_SYS_RESOURCE): the original lines do not fail")
    assert "ulimit" in proc.stderr
    assert "AFTER" not in proc.stdout
