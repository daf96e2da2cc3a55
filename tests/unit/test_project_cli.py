"""The init/validate/plan command line: exit codes, nothing written on errors, no overwrite without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockprov import cli
from dockprov.project import commands, presets

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "fleet.yml")


def run(*argv: str) -> int:
    return cli.main(list(argv))


@pytest.mark.parametrize("command", [[], ["init"], ["validate"], ["plan"], ["lab"], ["lab", "up"]])
def test_help_on_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(*command, "--help")
    assert exc.value.code == 0
    assert "usage: dockprov" in capsys.readouterr().out


def test_init_from_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "p"
    code = run("init", "--host", "web1=192.0.2.11", "--host", "lap=192.0.2.51,wsl,gpu", "--mirror-preset", "ustc",
               "--registry-mirror", "https://abc.mirror.aliyuncs.com", "--docker-user", "alice", str(dest))
    assert code == 0
    inv = yaml.safe_load((dest / "inventory/hosts.yml").read_text())["docker_hosts"]["children"]
    assert list(inv["servers"]["hosts"]) == ["web1"]
    assert list(inv["wsl"]["hosts"]) == ["lap"] and list(inv["gpu"]["hosts"]) == ["lap"]
    docker = yaml.safe_load((dest / "inventory/group_vars/all/docker.yml").read_text())
    assert docker["docker_repo_mirrors"] == ["ustc"]
    assert docker["docker_engine_users"] == ["alice"]
    assert "to create" in capsys.readouterr().out


def test_bad_flags_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "p"
    code = run("init", "--host", "web1=192.0.2.11", "--mirror-preset", "ustcc",
               "--registry-mirror", "abc.mirror.aliyuncs.com", str(dest))
    err = capsys.readouterr().err
    assert code == commands.EXIT_INVALID
    assert "unknown mirror preset 'ustcc'" in err and "has no scheme" in err and "nothing was written" in err
    assert not dest.exists()


def test_bad_fleet_file_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "fleet.yml"
    bad.write_text("repo:\n  mirrors: ustc\nhosts:\n  web1:\n    address: 192.0.2.1\n")
    dest = tmp_path / "p"
    assert run("init", "--fleet", str(bad), str(dest)) == commands.EXIT_INVALID
    err = capsys.readouterr().err
    assert f"{bad}: repo.mirrors: expected a list, got the string 'ustc'" in err
    assert not dest.exists()
    assert run("validate", str(bad)) == commands.EXIT_INVALID


def test_no_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "p"
    assert run("init", "--fleet", EXAMPLE, str(dest)) == 0
    docker = dest / "inventory/group_vars/all/docker.yml"
    docker.write_text(docker.read_text().replace("- ustc\n", "- tuna\n"))
    edited = docker.read_text()
    capsys.readouterr()
    # Same fleet again: the hand edit differs from what init would write.
    assert run("init", "--fleet", EXAMPLE, str(dest)) == commands.EXIT_REFUSED
    captured = capsys.readouterr()
    assert "-  - tuna\n+  - ustc" in captured.out  # the unified diff of what would change
    assert "nothing was written" in captured.err and "--force" in captured.err
    assert docker.read_text() == edited
    # --dry-run with --force still writes nothing.
    assert run("init", "--fleet", EXAMPLE, "--force", "--dry-run", str(dest)) == 0
    assert docker.read_text() == edited
    assert run("init", "--fleet", EXAMPLE, "--force", str(dest)) == 0
    assert "- ustc" in docker.read_text()
    # Unchanged now: a rerun is a no-op and succeeds.
    capsys.readouterr()
    assert run("init", "--fleet", EXAMPLE, str(dest)) == 0
    assert "0 to create, 0 to update" in capsys.readouterr().out


def test_dry_run_writes_nothing_and_diff_shows_content(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "p"
    assert run("init", "--fleet", EXAMPLE, "--dry-run", "--diff", str(dest)) == 0
    out = capsys.readouterr().out
    assert not dest.exists()
    assert "+++ b/inventory/hosts.yml" in out and "would create site.yml" in out
    # The artifact is binary: named, never printed.
    assert "new collection artifact b/collections/dockprov-docker-0.2.0.tar.gz" in out
    assert "would create collections/dockprov-docker-0.2.0.tar.gz" in out
    assert "\x1f" not in out and "FILES.json" not in out  # no gzip bytes, no tar listing


def test_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "p"
    assert run("init", "--fleet", EXAMPLE, str(dest)) == 0
    assert run("validate", str(dest)) == 0  # the vault warning does not fail
    (dest / "inventory/group_vars/all/typo.yml").write_text("---\ndocker_daemon_mirrors: []\n")
    capsys.readouterr()
    assert run("validate", str(dest)) == commands.EXIT_INVALID
    err = capsys.readouterr().err
    assert "inventory/group_vars/all/typo.yml: docker_daemon_mirrors:" in err
    assert run("validate", str(tmp_path / "missing")) == commands.EXIT_INVALID


def test_interactive_questions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    answers = iter(["lab", "debian", "web1", "", "server", "n", "laptop", "192.0.2.51", "wsl", "y", "",
                    "ustc official", "https://abc.mirror.aliyuncs.com", "alice"])
    data = presets.ask(lambda prompt: next(answers))
    assert data["hosts"] == {"web1": {"address": "web1", "groups": ["servers"]},
                             "laptop": {"address": "192.0.2.51", "groups": ["wsl", "gpu"]}}
    assert data["repo"]["mirrors"] == ["ustc", "official"]
    assert data["users"] == ["alice"]
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(presets, "ask", lambda: data)
    assert run("init", str(tmp_path / "p")) == 0
    assert (tmp_path / "p" / "site.yml").is_file()


def test_init_without_a_source_and_no_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(SystemExit, match="give --fleet FILE"):
        run("init", str(tmp_path / "p"))


def test_plan_without_a_project(tmp_path: Path) -> None:
    assert run("plan", str(tmp_path)) == commands.EXIT_INVALID


def test_plan_needs_the_collection_installed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "p"
    assert run("init", "--fleet", EXAMPLE, str(dest)) == 0
    capsys.readouterr()
    assert run("plan", str(dest)) == commands.EXIT_INVALID
    assert "collections/ansible_collections/dockprov/docker is missing: run `ansible-galaxy collection install " \
           "-r requirements.yml`" in capsys.readouterr().err


def test_collection_pins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    galaxy = tmp_path / "galaxy"
    assert run("init", "--fleet", EXAMPLE, "--collection-version", "0.2.0", str(galaxy)) == 0
    assert "dockprov.docker 0.2.0 from Galaxy" in capsys.readouterr().out
    reqs = yaml.safe_load((galaxy / "requirements.yml").read_text())["collections"]
    assert reqs[0] == {"name": "dockprov.docker", "version": "0.2.0"}
    assert not (galaxy / "collections").exists()
    assert run("validate", str(galaxy)) == 0  # judged by dockprov's own collection until one is installed
    # An artifact of one's own (a release download, an internal mirror's copy) is checked before use.
    given = tmp_path / "given.tar.gz"
    given.write_bytes(b"not a tarball")
    assert run("init", "--fleet", EXAMPLE, "--collection-artifact", str(given), str(tmp_path / "bad")) == 1
    assert "not a readable collection artifact" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    both = run("init", "--fleet", EXAMPLE, "--collection-version", "0.2.0", "--collection-artifact", str(given),
               str(tmp_path / "both"))
    assert both == commands.EXIT_INVALID and "not both" in capsys.readouterr().err


def test_replaced_artifact_needs_force_and_says_how_to_reinstall(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "p"
    assert run("init", "--fleet", EXAMPLE, str(dest)) == 0
    artifact = dest / "collections" / "dockprov-docker-0.2.0.tar.gz"
    good = artifact.read_bytes()
    artifact.write_bytes(b"not a tarball")
    capsys.readouterr()
    assert run("init", "--fleet", EXAMPLE, str(dest)) == commands.EXIT_REFUSED
    out = capsys.readouterr().out
    assert "collection artifact a/collections/dockprov-docker-0.2.0.tar.gz and b/" in out
    assert "not a readable collection artifact" in out
    assert run("init", "--fleet", EXAMPLE, "--force", str(dest)) == 0
    assert "install it over the old copy" in capsys.readouterr().out
    assert artifact.read_bytes() == good  # the same build (cached in this process)
    (dest / "collections" / "dockprov-docker-0.1.0.tar.gz").write_bytes(b"")
    assert run("init", "--fleet", EXAMPLE, str(dest)) == 0
    assert "collections/dockprov-docker-0.1.0.tar.gz is no longer pinned" in capsys.readouterr().out
