"""dockprov.lab.repack: docker-ce's names and versions, the init script patch, and real repacks of tiny .debs."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Deb822

from dockprov.lab import repack
from dockprov.lab.repack import CLI_PATHS, TARGETS, Plan, Source, Spec, Target

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BOOKWORM = Target("debian", "12", "bookworm", "bookworm")
TRIXIE = Target("debian", "13", "trixie", "trixie")
NOBLE = Target("ubuntu", "24.04", "noble", "bookworm")
BULLSEYE = Target("debian", "11", "bullseye", "bullseye")
FIVE_VERSIONS = tuple(t for t in TARGETS if t != BULLSEYE)  # the dists with two versions of the five packages
FIVE = ("docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin")
# ... and, on those dists, docker-ce-rootless-extras for each engine (LAB STAND-IN from Debian's rootlesskit).
SIX = (*FIVE, "docker-ce-rootless-extras")


def _spec(target: Target, name: str, upstream: str) -> Spec:
    found = [s for s in repack.specs_for(target) if s.name == name and s.upstream == upstream]
    assert len(found) >= 1, f"no {name} {upstream} for {target}"
    return found[0]


# --- names and versions ----------------------------------------------------------------------------------
def test_targets_are_the_four_dists():
    assert {(t.distro, t.codename) for t in TARGETS} == {("debian", "bookworm"), ("debian", "trixie"),
                                                         ("ubuntu", "noble"), ("debian", "bullseye")}
    assert NOBLE in TARGETS and NOBLE.host_suite == "bookworm"
    assert BULLSEYE in TARGETS


def test_bullseye_gets_only_bullseyes_own_builds():
    """glibc 2.31: bookworm's and trixie's binaries (GLIBC_2.34) do not run there, nor do buildx/compose."""
    specs = repack.specs_for(BULLSEYE)
    assert [(s.name, s.version(BULLSEYE)) for s in specs] == [
        ("docker-ce", "5:20.10.5-1~debian.11~bullseye"),
        ("docker-ce-cli", "5:20.10.5-1~debian.11~bullseye"),
        ("containerd.io", "1.4.13-1"),
    ]
    assert {src.suite for s in specs for src in s.sources} == {"bullseye"}
    ce, cli, containerd = specs
    assert ce.sources == (Source("bullseye", "docker.io", exclude=CLI_PATHS),)
    assert cli.sources == (Source("bullseye", "docker.io", only=CLI_PATHS),)
    assert containerd.sources == (Source("bullseye", "containerd"), Source("bullseye", "runc"))
    assert ce.docker25_init
    assert "libc6 (>= 2.31)" in ce.depends and "containerd.io (>= 1.4)" in ce.depends
    assert "2.34" not in " ".join(s.depends for s in specs)


def test_docker_ce_version_bookworm():
    spec = _spec(BOOKWORM, "docker-ce", "20.10.24")
    assert spec.version(BOOKWORM) == "5:20.10.24-1~debian.12~bookworm"
    assert repack.deb_filename(spec, BOOKWORM, "amd64") == "docker-ce_20.10.24-1~debian.12~bookworm_amd64.deb"


def test_docker_ce_version_ubuntu_noble():
    assert NOBLE.version_tag == "ubuntu.24.04~noble"
    assert _spec(NOBLE, "docker-ce", "26.1.5").version(NOBLE) == "5:26.1.5-1~ubuntu.24.04~noble"
    assert _spec(NOBLE, "docker-ce-cli", "20.10.24").version(NOBLE) == "5:20.10.24-1~ubuntu.24.04~noble"


def test_containerd_io_has_no_distro_suffix():
    for target in FIVE_VERSIONS:
        assert _spec(target, "containerd.io", "1.6.20").version(target) == "1.6.20-1"
        assert _spec(target, "containerd.io", "1.7.24").version(target) == "1.7.24-1"
    assert repack.deb_filename(_spec(TRIXIE, "containerd.io", "1.7.24"), TRIXIE, "arm64") == \
        "containerd.io_1.7.24-1_arm64.deb"


def test_plugin_versions_are_two_revisions():
    versions = {s.version(TRIXIE) for s in repack.specs_for(TRIXIE) if s.name == "docker-compose-plugin"}
    assert versions == {"2.26.1-1~debian.13~trixie", "2.26.1-2~debian.13~trixie"}


@pytest.mark.parametrize("target", FIVE_VERSIONS, ids=lambda t: t.codename)
def test_two_versions_of_each_of_the_five_packages(target: Target):
    specs = repack.specs_for(target)
    assert sorted({s.name for s in specs}) == sorted(SIX)
    for name in SIX:
        versions = [s.version(target) for s in specs if s.name == name]
        assert len(versions) == 2 and len(set(versions)) == 2, (name, versions)
    filenames = [repack.deb_filename(s, target, "amd64") for s in specs]
    assert len(set(filenames)) == len(filenames) == 12
    for spec in specs:
        if spec.name.startswith("docker-ce"):
            assert spec.version(target).startswith("5:")
            assert spec.version(target).endswith(f"~{target.distro}.{target.version_id}~{target.codename}")


def test_spec_relations():
    ce = _spec(BOOKWORM, "docker-ce", "20.10.24")
    assert ce.docker25_init and ce.keep_scripts
    assert ce.sources == (Source("bookworm", "docker.io", exclude=CLI_PATHS),)
    cli = _spec(BOOKWORM, "docker-ce-cli", "20.10.24")
    assert not cli.keep_scripts and cli.sources == (Source("bookworm", "docker.io", only=CLI_PATHS),)
    assert _spec(BOOKWORM, "docker-ce-cli", "26.1.5").sources == (Source("trixie", "docker-cli"),)
    containerd = _spec(TRIXIE, "containerd.io", "1.6.20")
    # runc always comes from the host's own suite (trixie's runc needs GLIBC_2.38)
    assert containerd.sources == (Source("bookworm", "containerd"), Source("trixie", "runc"))
    assert _spec(NOBLE, "containerd.io", "1.7.24").sources[1] == Source("bookworm", "runc")


# --- the init script -------------------------------------------------------------------------------------
def test_patch_init_script_on_debians_real_script():
    text = (FIXTURES / "init.d/docker.io-bookworm").read_text()
    patched = repack.patch_init_script(text)
    assert "ulimit -n 1048576" not in patched
    assert "\t\tulimit -Hn 524288\n" in patched  # indentation kept
    assert patched.count("ulimit -Hn 524288") == 1
    assert patched.splitlines()[1] == "set -e"
    # every other non-blank line is unchanged
    def nonblank(s):
        return [line for line in s.splitlines() if line.strip()]
    assert nonblank(patched.replace("ulimit -Hn 524288", "ulimit -n 1048576")) == nonblank(text)


def test_patch_init_script_changes_nothing_else():
    text = (FIXTURES / "init.d/docker.io-bookworm").read_text()
    assert repack.patch_init_script(text).replace("ulimit -Hn 524288", "ulimit -n 1048576") == text


def test_patched_script_matches_docker_25_line():
    docker25 = (FIXTURES / "init.d/docker-ce-25").read_text()
    patched = repack.patch_init_script((FIXTURES / "init.d/docker.io-bookworm").read_text())
    ulimits = [line.strip() for line in patched.splitlines() if line.strip().startswith("ulimit -")]
    assert ulimits == [line.strip() for line in docker25.splitlines() if line.strip().startswith("ulimit -")]


def test_patch_refuses_script_without_set_e():
    text = (FIXTURES / "init.d/docker.io-bookworm").read_text().replace("\nset -e\n", "\n")
    with pytest.raises(ValueError, match="set -e"):
        repack.patch_init_script(text)


def test_patch_refuses_script_without_ulimit_line():
    text = (FIXTURES / "init.d/docker.io-bookworm").read_text().replace("ulimit -n 1048576", "true")
    with pytest.raises(ValueError, match="found 0"):
        repack.patch_init_script(text)


def test_patch_refuses_docker25_script_and_double_line():
    with pytest.raises(ValueError):
        repack.patch_init_script((FIXTURES / "init.d/docker-ce-25").read_text())
    with pytest.raises(ValueError, match="found 2"):
        repack.patch_init_script("#!/bin/sh\nset -e\nulimit -n 1048576\nulimit -n 1048576\n")


# --- control fields --------------------------------------------------------------------------------------
def test_control_fields_docker_ce():
    original = Deb822({"Package": "docker.io", "Version": "20.10.24+dfsg1-1+b3", "Installed-Size": "12345"})
    spec = _spec(BOOKWORM, "docker-ce", "20.10.24")
    control = repack.control_fields(spec, BOOKWORM, original, "amd64", "docker.io 20.10.24+dfsg1-1+b3 (bookworm)")
    assert control["Package"] == "docker-ce"
    assert control["Version"] == "5:20.10.24-1~debian.12~bookworm"
    assert control["Architecture"] == "amd64"
    assert control["Installed-Size"] == "12345"
    assert control["Maintainer"] == repack.LAB_MAINTAINER
    assert control["Depends"].startswith("containerd.io (>= 1.6), docker-ce-cli")
    assert "lsb-base" in control["Depends"]
    assert control["Conflicts"] == "docker.io, docker-engine, docker (<< 1.5~)"
    assert control["Replaces"] == "docker.io, docker-engine"
    assert "Provides" not in control
    assert control["X-Dockprov-Lab-Source"] == "docker.io 20.10.24+dfsg1-1+b3 (bookworm)"
    assert "(dockprov lab stand-in)" in control["Description"].splitlines()[0]
    assert "LAB STAND-IN repacked from Debian's docker.io" in control["Description"]
    # it dumps to a control file dpkg can parse back
    again = Deb822(control.dump())
    assert again["Package"] == "docker-ce" and "not Docker's own build" in again["Description"]


def test_control_fields_containerd_io():
    spec = _spec(NOBLE, "containerd.io", "1.6.20")
    control = repack.control_fields(spec, NOBLE, Deb822({"Package": "containerd"}), "arm64", "x")
    assert control["Version"] == "1.6.20-1"
    assert control["Provides"] == "containerd, runc"
    assert control["Conflicts"] == "containerd, runc"
    assert control["Installed-Size"] == "0"
    assert control["Architecture"] == "arm64"


# --- Plan ------------------------------------------------------------------------------------------------
def test_plan_needed():
    assert Plan().needed == {
        ("bookworm", "docker.io"), ("trixie", "docker.io"), ("trixie", "docker-cli"),
        ("bookworm", "containerd"), ("trixie", "containerd"),
        ("bookworm", "runc"), ("trixie", "runc"),
        ("trixie", "docker-buildx"), ("trixie", "docker-compose"),
        ("bullseye", "docker.io"), ("bullseye", "containerd"), ("bullseye", "runc"),
        ("bookworm", "rootlesskit"), ("trixie", "rootlesskit"),
    }
    # noble alone needs bookworm's runc, never trixie's
    noble = Plan(targets=(NOBLE,)).needed
    assert ("bookworm", "runc") in noble and ("trixie", "runc") not in noble


# --- real repacks ----------------------------------------------------------------------------------------
DOCKER_IO_FILES = {
    "usr/bin/dockerd": "dockerd binary\n",
    "usr/bin/docker": "docker cli binary\n",
    "usr/share/bash-completion/completions/docker": "complete docker\n",
    "usr/share/zsh/vendor-completions/_docker": "#compdef docker\n",
    "usr/share/doc/docker.io/README": "docs\n",
    "lib/systemd/system/docker.service": "[Service]\nExecStart=/usr/bin/dockerd\n",
    "etc/init.d/docker": (FIXTURES / "init.d/docker.io-bookworm").read_text(),
    "etc/default/docker": "DOCKER_OPTS=\n",
}
DOCKER_IO_CONFFILES = ("/etc/default/docker", "/etc/init.d/docker")
SCRIPTS = {"postinst": "#!/bin/sh\nset -e\n# enable and start units\n", "prerm": "#!/bin/sh\nset -e\n"}


def _contents(deb: Path) -> set[str]:
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True, capture_output=True, text=True).stdout
    paths = set()
    for line in out.splitlines():
        name = line.split(None, 5)[5].split(" -> ")[0]
        paths.add(name.removeprefix("./").rstrip("/"))
    return paths - {""}


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True, text=True).stdout.strip()


def _control_dir(deb: Path, dest: Path) -> Path:
    subprocess.run(["dpkg-deb", "-e", str(deb), str(dest)], check=True, capture_output=True)
    return dest


def _assert_md5sums_match(deb: Path, tmp: Path) -> None:
    tree = tmp / f"{deb.name}.tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True, capture_output=True)
    listed = {}
    for line in (tree / "DEBIAN/md5sums").read_text().splitlines():
        digest, rel = line.split("  ", 1)
        listed[rel] = digest
    actual = {
        p.relative_to(tree).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()  # noqa: S324
        for p in tree.rglob("*")
        if p.is_file() and not p.is_symlink() and p.relative_to(tree).parts[0] != "DEBIAN"
    }
    assert listed == actual
    assert "usr/bin/stale" not in listed


@pytest.fixture
def docker_io(make_deb):
    return make_deb("docker.io_20.10.24+dfsg1-1_amd64.deb", "docker.io", "20.10.24+dfsg1-1", DOCKER_IO_FILES,
                    conffiles=DOCKER_IO_CONFFILES, scripts=SCRIPTS, installed_size="4242")


def test_repack_docker_ce_excludes_cli_and_patches_init(docker_io, tmp_path):
    spec = _spec(BOOKWORM, "docker-ce", "20.10.24")
    out_dir = tmp_path / "pool"
    out_dir.mkdir()
    debs = {("bookworm", "docker.io"): ("20.10.24+dfsg1-1", docker_io)}
    deb = repack.repack(spec, BOOKWORM, debs, out_dir, "amd64")
    assert deb == out_dir / "docker-ce_20.10.24-1~debian.12~bookworm_amd64.deb"
    assert sorted(p.name for p in out_dir.iterdir()) == [deb.name]  # no temporary left behind
    assert _field(deb, "Package") == "docker-ce"
    assert _field(deb, "Version") == "5:20.10.24-1~debian.12~bookworm"
    assert _field(deb, "Conflicts") == "docker.io, docker-engine, docker (<< 1.5~)"
    assert _field(deb, "X-Dockprov-Lab-Source") == "docker.io 20.10.24+dfsg1-1 (bookworm)"
    files = _contents(deb)
    assert {"usr/bin/dockerd", "lib/systemd/system/docker.service", "etc/init.d/docker",
            "etc/default/docker", "usr/share/doc/docker.io/README"} <= files
    assert not files & {"usr/bin/docker", "usr/share/bash-completion/completions/docker",
                        "usr/share/zsh/vendor-completions/_docker", "usr/share/zsh", "usr/share/bash-completion"}
    control = _control_dir(deb, tmp_path / "ctl")
    assert sorted(p.name for p in control.iterdir()) == ["conffiles", "control", "md5sums", "postinst", "prerm"]
    assert (control / "conffiles").read_text().split() == list(DOCKER_IO_CONFFILES)
    assert (control / "postinst").read_text() == SCRIPTS["postinst"]
    _assert_md5sums_match(deb, tmp_path)
    tree = tmp_path / f"{deb.name}.tree"
    init = (tree / "etc/init.d/docker").read_text()
    assert "\t\tulimit -Hn 524288\n" in init and "ulimit -n 1048576" not in init


def test_repack_docker_ce_cli_keeps_only_cli_and_drops_scripts(docker_io, tmp_path):
    spec = _spec(BOOKWORM, "docker-ce-cli", "20.10.24")
    debs = {("bookworm", "docker.io"): ("20.10.24+dfsg1-1", docker_io)}
    deb = repack.repack(spec, BOOKWORM, debs, tmp_path, "amd64")
    assert _field(deb, "Package") == "docker-ce-cli"
    files = _contents(deb)
    assert {"usr/bin/docker", "usr/share/bash-completion/completions/docker",
            "usr/share/zsh/vendor-completions/_docker"} <= files
    # parents of kept paths stay; everything else goes
    assert files <= {"usr", "usr/bin", "usr/share", "usr/bin/docker", "usr/share/bash-completion",
                     "usr/share/bash-completion/completions", "usr/share/bash-completion/completions/docker",
                     "usr/share/zsh", "usr/share/zsh/vendor-completions", "usr/share/zsh/vendor-completions/_docker"}
    assert "usr/bin/dockerd" not in files and "etc/init.d/docker" not in files
    control = _control_dir(deb, tmp_path / "ctl")
    assert sorted(p.name for p in control.iterdir()) == ["control", "md5sums"]
    _assert_md5sums_match(deb, tmp_path)


def test_repack_filters_conffiles_of_pruned_files(docker_io, tmp_path):
    spec = Spec("docker-ce", "20.10.24", (Source("bookworm", "docker.io", exclude=("etc/default",)),), "libc6",
                epoch=5)
    deb = repack.repack(spec, BOOKWORM, {("bookworm", "docker.io"): ("1", docker_io)}, tmp_path, "amd64")
    assert "etc/default/docker" not in _contents(deb)
    control = _control_dir(deb, tmp_path / "ctl")
    assert (control / "conffiles").read_text() == "/etc/init.d/docker\n"
    # the unpatched init script stays as Debian ships it when docker25_init is off
    assert "postinst" in {p.name for p in control.iterdir()}


def test_repack_drops_empty_conffiles(docker_io, tmp_path):
    spec = Spec("docker-ce-cli", "20.10.24", (Source("bookworm", "docker.io", only=("usr/bin/docker",)),), "libc6")
    deb = repack.repack(spec, BOOKWORM, {("bookworm", "docker.io"): ("1", docker_io)}, tmp_path, "amd64")
    assert _contents(deb) == {"usr", "usr/bin", "usr/bin/docker"}
    control = _control_dir(deb, tmp_path / "ctl")
    assert sorted(p.name for p in control.iterdir()) == ["control", "md5sums", "postinst", "prerm"]


def test_repack_containerd_io_merges_runc(make_deb, tmp_path):
    containerd = make_deb(
        "containerd_1.6.20~ds1-1_amd64.deb", "containerd", "1.6.20~ds1-1",
        {"usr/bin/containerd": "containerd\n", "usr/bin/ctr": "ctr\n",
         "lib/systemd/system/containerd.service": "[Service]\n", "etc/containerd/config.toml": "version = 2\n",
         "usr/share/doc/containerd/copyright": "c\n"},
        conffiles=("/etc/containerd/config.toml",), scripts={"postinst": "#!/bin/sh\n# containerd\n"},
    )
    runc = make_deb(
        "runc_1.1.5+ds1-1_amd64.deb", "runc", "1.1.5+ds1-1",
        {"usr/sbin/runc": "runc\n", "usr/share/doc/runc/copyright": "r\n"},
        conffiles=(), scripts={"postinst": "#!/bin/sh\n# runc must not win\n"},
    )
    spec = _spec(BOOKWORM, "containerd.io", "1.6.20")
    debs = {("bookworm", "containerd"): ("1.6.20~ds1-1", containerd), ("bookworm", "runc"): ("1.1.5+ds1-1", runc)}
    deb = repack.repack(spec, BOOKWORM, debs, tmp_path, "amd64")
    assert deb.name == "containerd.io_1.6.20-1_amd64.deb"
    assert _field(deb, "Version") == "1.6.20-1"
    assert _field(deb, "Provides") == "containerd, runc"
    assert _field(deb, "X-Dockprov-Lab-Source") == "containerd 1.6.20~ds1-1 (bookworm) + runc 1.1.5+ds1-1 (bookworm)"
    files = _contents(deb)
    assert {"usr/bin/containerd", "usr/bin/ctr", "usr/sbin/runc", "lib/systemd/system/containerd.service",
            "usr/share/doc/containerd/copyright", "usr/share/doc/runc/copyright"} <= files
    control = _control_dir(deb, tmp_path / "ctl")
    assert (control / "postinst").read_text() == "#!/bin/sh\n# containerd\n"
    assert (control / "conffiles").read_text() == "/etc/containerd/config.toml\n"
    _assert_md5sums_match(deb, tmp_path)
    listed = (tmp_path / f"{deb.name}.tree/DEBIAN/md5sums").read_text()
    assert "usr/sbin/runc" in listed and "usr/bin/containerd" in listed


def test_repack_missing_source_deb_is_an_error(tmp_path):
    with pytest.raises(KeyError):
        repack.repack(_spec(BOOKWORM, "docker-ce", "20.10.24"), BOOKWORM, {}, tmp_path, "amd64")
