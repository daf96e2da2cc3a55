"""An installed dockprov (the wheel, not an editable install, in a fresh venv with only its own dependencies)
generates and validates a project: templates and the collection artifact come as package data.

About 25 s. Needs PyPI (or pip's cache) for the dependencies (ansible-core, jinja2, PyYAML, python-debian);
skipped, saying so, when pip cannot get them. The wheel is built from this working tree's dockprov/ and
pyproject.toml, its artifact with `python -m dockprov.build_collection` (the checkout's committed collection).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPS = ["ansible-core==2.19.14", "jinja2==3.1.6", "PyYAML>=6.0", "python-debian==1.1.1"]  # [project] dependencies


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    env_dir = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], cwd=tmp)
    assert made.returncode == 0, made.stderr
    pip = [str(BIN / "pip"), "--python", str(env_dir / "bin" / "python"), "install", "-q"]
    deps = _run([*pip, *DEPS], cwd=tmp)
    if deps.returncode != 0:
        pytest.skip(f"pip could not install {DEPS} (no PyPI?): {deps.stderr.strip()[-500:]}")
    src = tmp / "src"
    src.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", src)
    shutil.copytree(ROOT / "dockprov", src / "dockprov",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.tar.gz"))
    built = _run([sys.executable, "-m", "dockprov.build_collection", "--output", str(src / "dockprov" / "collection")],
                 cwd=ROOT)
    assert built.returncode == 0, built.stderr
    # As a user builds it (an isolated build: setuptools comes from PyPI, like the dependencies above).
    wheel = _run([str(BIN / "pip"), "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(src)], cwd=tmp)
    assert wheel.returncode == 0, wheel.stdout + wheel.stderr
    (whl,) = (tmp / "dist").glob("dockprov-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert "dockprov/collection/dockprov-docker-0.2.0.tar.gz" in names
    assert "dockprov/templates/project/site.yml.j2" in names and "dockprov/templates/project/.gitignore.j2" in names
    installed = _run([*pip, "--no-deps", str(whl)], cwd=tmp)
    assert installed.returncode == 0, installed.stderr
    return env_dir


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHON", "VIRTUAL_ENV"))}


def test_installed_wheel_inits_and_validates_a_project(venv: Path, tmp_path: Path) -> None:
    where = _run([str(venv / "bin" / "python"), "-c", "import dockprov, sys; print(dockprov.__file__)"], cwd=tmp_path,
                 env=_env())
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel, not this checkout
    dockprov = str(venv / "bin" / "dockprov")
    made = _run([dockprov, "init", "--fleet", str(ROOT / "examples" / "fleet.yml"), "p"], cwd=tmp_path, env=_env())
    assert made.returncode == 0, made.stdout + made.stderr
    assert "collections/dockprov-docker-0.2.0.tar.gz, shipped with this dockprov" in made.stdout
    project = tmp_path / "p"
    assert (project / "collections" / "dockprov-docker-0.2.0.tar.gz").is_file()
    assert "dockprov.docker.site" in (project / "site.yml").read_text()
    checked = _run([dockprov, "validate", "p"], cwd=tmp_path, env=_env())
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 error(s), 1 warning(s)" in checked.stdout  # the unencrypted vault
    # The specs come from the artifact: a misspelled variable is found without any checkout around.
    (project / "inventory/group_vars/all/typo.yml").write_text("---\ndocker_daemon_mirrors: []\n")
    typo = _run([dockprov, "validate", "p"], cwd=tmp_path, env=_env())
    assert typo.returncode == 1 and "did you mean 'docker_daemon_registry_mirrors'?" in typo.stderr, typo.stderr


def test_wheel_without_an_artifact_says_what_to_do(venv: Path, tmp_path: Path) -> None:
    site = _run([str(venv / "bin" / "python"), "-c", "import dockprov, os; print(os.path.dirname(dockprov.__file__))"],
                cwd=tmp_path, env=_env()).stdout.strip()
    packaged = Path(site, "collection", "dockprov-docker-0.2.0.tar.gz")
    kept = tmp_path / packaged.name
    shutil.move(packaged, kept)
    try:
        made = _run([str(venv / "bin" / "dockprov"), "init", "--host", "web1=192.0.2.11", "p"], cwd=tmp_path,
                    env=_env())
        assert made.returncode == 1 and not (tmp_path / "p").exists()
        assert "python -m dockprov.build_collection" in made.stderr and "--collection-artifact" in made.stderr
        given = _run([str(venv / "bin" / "dockprov"), "init", "--host", "web1=192.0.2.11", "--collection-artifact",
                      str(kept), "p"], cwd=tmp_path, env=_env())
        assert given.returncode == 0, given.stdout + given.stderr
        assert (tmp_path / "p" / "collections" / packaged.name).read_bytes() == kept.read_bytes()
    finally:
        shutil.move(kept, packaged)
