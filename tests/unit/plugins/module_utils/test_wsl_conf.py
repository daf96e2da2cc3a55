"""Tests of module_utils/_wsl_conf.py: the wsl_conf module's logic on temp files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _wsl_conf as wc

# A wsl.conf as Windows users write them: comments, several sections, a boot command already there.
TYPICAL = """# /etc/wsl.conf
[automount]
enabled = true
options = "metadata,umask=22,fmask=11"

[network]
# keep our own resolv.conf
generateResolvConf = false

[boot]
command = "mount --make-rshared /"

[user]
default=dev
"""


def test_merge_command() -> None:
    assert wc.merge_command("", "service docker start") == "service docker start"
    assert wc.merge_command("mount -a", "service docker start") == "mount -a; service docker start"
    assert wc.merge_command("mount -a;", "service docker start") == "mount -a; service docker start"
    assert wc.merge_command("sshd &", "service docker start") == "sshd & service docker start"
    assert (
        wc.merge_command("a && service docker start", "service docker start") == "a && service docker start"
    )


def test_missing_file_gets_only_boot() -> None:
    text, notes = wc.update("")
    assert text == '[boot]\ncommand="service docker start"\n'
    assert len(notes) == 1
    assert "wsl --shutdown" in notes[0]


def test_existing_boot_command_is_merged_rest_untouched() -> None:
    text, notes = wc.update(TYPICAL)
    assert text == TYPICAL.replace(
        'command = "mount --make-rshared /"', 'command = "mount --make-rshared /; service docker start"'
    )
    assert notes
    assert wc.update(text) == (text, [])


def test_command_already_present_is_unchanged() -> None:
    text = "[boot]\ncommand=service docker start; echo hi\n"
    assert wc.update(text) == (text, [])


def test_unquoted_command_stays_unquoted() -> None:
    text, _ = wc.update("[boot]\ncommand=mount -a\n")
    assert text == "[boot]\ncommand=mount -a; service docker start\n"


def test_boot_section_without_command_gets_it_inside_the_section() -> None:
    before = "[boot]\n# our boot tweaks\nsystemd=false\n\n[user]\ndefault=dev\n"
    text, _ = wc.update(before)
    assert text == (
        '[boot]\n# our boot tweaks\nsystemd=false\ncommand="service docker start"\n\n[user]\ndefault=dev\n'
    )


def test_no_boot_section_is_appended_at_the_end() -> None:
    before = "[user]\ndefault=dev"  # no final newline
    text, _ = wc.update(before)
    assert text == '[user]\ndefault=dev\n\n[boot]\ncommand="service docker start"\n'


def test_systemd_true_set_or_replaced_with_note() -> None:
    text, notes = wc.update(TYPICAL, systemd=True)
    boot = text.split("[boot]\n")[1].split("\n\n")[0]
    assert boot == 'command = "mount --make-rshared /; service docker start"\nsystemd=true'
    assert any("systemd=true" in note and "wsl --shutdown" in note for note in notes)
    replaced, notes = wc.update("[boot]\nsystemd = false\ncommand=service docker start\n", systemd=True)
    assert replaced == "[boot]\nsystemd = true\ncommand=service docker start\n"
    assert notes == [f"[boot] systemd=true {wc.NOTE_RESTART}"]
    # systemd=False leaves an existing value alone
    kept = "[boot]\nsystemd=true\ncommand=service docker start\n"
    assert wc.update(kept, systemd=False) == (kept, [])


def test_crlf_file_keeps_crlf() -> None:
    text, _ = wc.update("[boot]\r\nsystemd=true\r\n")
    assert text == '[boot]\r\nsystemd=true\r\ncommand="service docker start"\r\n'


def test_custom_command_and_empty_command_rejected() -> None:
    text, _ = wc.update("", boot_command="/usr/local/bin/start-docker")
    assert 'command="/usr/local/bin/start-docker"' in text
    with pytest.raises(wc.WslConfError):
        wc.update("", boot_command="  ")


def test_only_first_boot_section_is_edited() -> None:
    before = "[boot]\ncommand=a\n[other]\nx=1\n[boot]\ncommand=b\n"
    text, _ = wc.update(before)
    assert text == "[boot]\ncommand=a; service docker start\n[other]\nx=1\n[boot]\ncommand=b\n"


# --------------------------------------------------------------------------- run(): module logic on files


def test_run_creates_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "wsl.conf"
    result = wc.run({"path": str(path), "backup": True})
    assert result["changed"] is True
    assert result["backup_file"] is None
    assert path.read_text() == '[boot]\ncommand="service docker start"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert wc.run({"path": str(path)})["changed"] is False


def test_run_backup_mode_and_check_mode(tmp_path: Path) -> None:
    path = tmp_path / "wsl.conf"
    path.write_text(TYPICAL)
    path.chmod(0o600)
    check = wc.run({"path": str(path), "systemd": True, "backup": True}, check_mode=True)
    assert check["changed"] is True and check["backup_file"] is None
    assert path.read_text() == TYPICAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wsl.conf"]
    result = wc.run({"path": str(path), "systemd": True, "backup": True})
    assert result["changed"] is True
    backups = [p for p in tmp_path.iterdir() if p.name != "wsl.conf"]
    assert backups == [Path(result["backup_file"])] and backups[0].name.endswith("~")
    assert Path(result["backup_file"]).read_text() == TYPICAL
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    assert "systemd=true" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result["diff"]["before"] == TYPICAL
    assert result["diff"]["after"] == path.read_text()
