"""dockprov_host_facts against fixture trees under tests/fixtures/hosts/, and the module end to end."""

from __future__ import annotations

import hashlib
from pathlib import Path

import module_harness as h
import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _host_facts as hf

HOSTS = Path(__file__).resolve().parents[3] / "fixtures" / "hosts"


def gather(name: str, **kwargs):
    kwargs.setdefault("machine", "x86_64")
    kwargs.setdefault("environ", {})
    return hf.gather(root=str(HOSTS / name), **kwargs)


def test_debian12_systemd():
    f = gather("debian12-systemd")
    assert f["init_system"] == "systemd" and f["pid1_comm"] == "systemd" and f["systemd_running"] is True
    assert f["wsl"] == {"detected": False, "version": None, "evidence": []}
    assert f["gpu"] == {"present": False, "kind": None, "evidence": []}
    assert f["packages"] == {
        "containerd.io": "1.7.25-1",
        "docker-ce": "5:27.5.1-1~debian.12~bookworm",
        "docker-ce-cli": "5:27.5.1-1~debian.12~bookworm",
        "docker-compose-plugin": "2.32.4-1~debian.12~bookworm",
    }  # docker.io is config-files only, runc is purged, adduser is not in the list
    assert f["arch"] == "amd64" and f["machine"] == "x86_64"
    d = f["distro"]
    assert (d["id"], d["version_id"], d["codename"], d["ubuntu_codename"]) == ("debian", "12", "bookworm", None)
    assert (d["docker_distro"], d["docker_codename"]) == ("debian", "bookworm")
    assert f["docker_binary"] == "/usr/bin/dockerd" and f["docker_cli"] == "/usr/bin/docker"


def test_wsl2_ubuntu_without_systemd():
    f = gather("wsl2-ubuntu", environ={"WSL_DISTRO_NAME": "Ubuntu-22.04", "PATH": "/usr/bin:/usr/lib/wsl/lib"})
    assert f["init_system"] == "sysvinit" and f["pid1_comm"] == "init" and f["systemd_running"] is False
    assert f["wsl"]["detected"] is True and f["wsl"]["version"] == 2
    assert f["wsl"]["evidence"] == [
        "kernel release 5.15.153.1-microsoft-standard-WSL2",
        "/run/WSL exists",
        "/proc/sys/fs/binfmt_misc/WSLInterop exists",
        "WSL_DISTRO_NAME=Ubuntu-22.04",
    ]
    assert f["gpu"]["present"] is True and f["gpu"]["kind"] == "wsl"
    assert "/usr/lib/wsl/lib/libcuda.so.1 exists" in f["gpu"]["evidence"]
    assert "/dev/dxg and /usr/lib/wsl/lib/nvidia-smi exist" in f["gpu"]["evidence"]
    assert not any(e.startswith("nvidia-smi at") for e in f["gpu"]["evidence"])
    assert f["packages"] == {
        "docker.io": "24.0.7-0ubuntu2~22.04.1",
        "containerd": "1.7.12-0ubuntu2~22.04.1",
        "runc": "1.1.12-0ubuntu2~22.04.1",
    }
    assert (f["distro"]["docker_distro"], f["distro"]["docker_codename"]) == ("ubuntu", "jammy")
    assert f["docker_binary"] == "/usr/sbin/dockerd" and f["docker_cli"] is None


def test_baremetal_nvidia():
    f = gather("baremetal-nvidia", machine="aarch64")
    assert f["gpu"]["present"] is True and f["gpu"]["kind"] == "nvidia"
    assert f["gpu"]["evidence"] == [
        "/dev/nvidia0 exists",
        "/dev/nvidiactl exists",
        "/proc/driver/nvidia/version: NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.120  "
        "Fri Sep 13 10:10:01 UTC 2024",
        "nvidia-smi at /usr/bin/nvidia-smi",
    ]
    assert f["wsl"]["detected"] is False
    assert f["packages"] == {"nvidia-container-toolkit": "1.17.3-1"}  # -base is not in the default list
    assert f["arch"] == "arm64"
    assert (f["distro"]["docker_distro"], f["distro"]["docker_codename"]) == ("ubuntu", "noble")
    assert f["docker_binary"] is None


def test_mint_derivative_uses_ubuntu_codename_and_usr_lib_os_release():
    f = gather("mint-derivative")
    d = f["distro"]
    assert d["id"] == "linuxmint" and d["codename"] == "virginia" and d["ubuntu_codename"] == "jammy"
    assert d["id_like"] == ["ubuntu", "debian"]
    assert (d["docker_distro"], d["docker_codename"]) == ("ubuntu", "jammy")
    assert f["packages"] == {}


def test_custom_package_list():
    f = gather("baremetal-nvidia", packages=["nvidia-container-toolkit-base", "docker-ce"])
    assert f["packages"] == {"nvidia-container-toolkit-base": "1.17.3-1"}


def test_empty_root_gives_safe_defaults(tmp_path):
    f = hf.gather(root=str(tmp_path), machine="mips", environ={})
    assert f["init_system"] == "other" and f["pid1_comm"] is None and not f["systemd_running"]
    assert f["arch"] is None and f["machine"] == "mips"
    assert f["packages"] == {} and f["distro"]["docker_distro"] is None
    assert not f["wsl"]["detected"] and not f["gpu"]["present"]


def test_wsl1_version_from_kernel_release(tmp_path):
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/osrelease").write_text("4.4.0-19041-Microsoft\n")
    w = hf.wsl_facts(str(tmp_path), {})
    assert w == {"detected": True, "version": 1, "evidence": ["kernel release 4.4.0-19041-Microsoft"]}


def test_wsl_detected_from_env_only_has_unknown_version(tmp_path):
    w = hf.wsl_facts(str(tmp_path), {"WSL_DISTRO_NAME": "Debian"})
    assert w == {"detected": True, "version": None, "evidence": ["WSL_DISTRO_NAME=Debian"]}


def test_systemd_pid1_without_run_dir_is_not_running(tmp_path):
    (tmp_path / "proc/1").mkdir(parents=True)
    (tmp_path / "proc/1/comm").write_text("systemd\n")
    assert hf.init_facts(str(tmp_path)) == {"init_system": "systemd", "pid1_comm": "systemd", "systemd_running": False}


@pytest.mark.parametrize(
    ("osr", "expected"),
    [
        ({"ID": "ubuntu", "VERSION_CODENAME": "noble", "UBUNTU_CODENAME": "noble"}, ("ubuntu", "noble")),
        ({"ID": "debian", "VERSION_CODENAME": "trixie"}, ("debian", "trixie")),
        (
            {"ID": "pop", "ID_LIKE": "ubuntu debian", "VERSION_CODENAME": "jammy", "UBUNTU_CODENAME": "jammy"},
            ("ubuntu", "jammy"),
        ),
        ({"ID": "raspbian", "ID_LIKE": "debian", "VERSION_CODENAME": "bookworm"}, ("debian", "bookworm")),
        (
            {"ID": "linuxmint", "ID_LIKE": "debian", "VERSION_CODENAME": "faye", "DEBIAN_CODENAME": "bookworm"},
            ("debian", "bookworm"),
        ),
        ({"ID": "fedora", "VERSION_ID": "40"}, (None, None)),
    ],
)
def test_distro_facts(osr, expected):
    d = hf.distro_facts(osr)
    assert (d["docker_distro"], d["docker_codename"]) == expected


def test_parse_os_release_quoting():
    osr = hf.parse_os_release("# comment\nNAME=\"Linux Mint\"\nID=linuxmint\nX='single q'\nBAD LINE\nEMPTY=\n")
    assert osr == {"NAME": "Linux Mint", "ID": "linuxmint", "X": "single q", "EMPTY": ""}


def test_parse_dpkg_status_continuation_lines_and_multiarch():
    text = (
        "Package: runc\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.1\n"
        "Description: x\n Version: 9.9 (continuation line, not a field)\n\n"
        "Package: runc\nStatus: install ok installed\nArchitecture: i386\nVersion: 1.0\n\n"
        "Package: containerd\nStatus: install reinstreq half-installed\nVersion: 2\n"
    )
    assert hf.parse_dpkg_status(text, ["runc", "containerd"]) == {"runc": "1.1"}
    assert hf.parse_dpkg_status(text) == {"runc": "1.1"}


def test_module_returns_facts_and_never_changes(monkeypatch):
    mod = h.load("host_facts")
    failed, res = h.run(monkeypatch, mod, {"root": str(HOSTS / "wsl2-ubuntu"), "machine": "x86_64"}, check_mode=True)
    assert not failed and res["changed"] is False
    facts = res["ansible_facts"]["dockprov_host"]
    assert facts["wsl"]["version"] == 2 and facts["init_system"] == "sysvinit"
    assert facts["arch"] == "amd64" and "docker.io" in facts["packages"]


def test_held_packages_count_as_installed_and_are_reported(tmp_path):
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: docker-ce\nStatus: hold ok installed\nVersion: 5:26.1.5-1~debian.12~bookworm\n\n"
        "Package: docker-ce-cli\nStatus: install ok installed\nVersion: 5:26.1.5-1~debian.12~bookworm\n\n"
        "Package: runc\nStatus: deinstall ok config-files\nVersion: 1.1.5\n"
    )
    assert hf.installed_packages(str(tmp_path)) == {
        "docker-ce": "5:26.1.5-1~debian.12~bookworm",
        "docker-ce-cli": "5:26.1.5-1~debian.12~bookworm",
    }
    assert hf.held_packages(str(tmp_path)) == ["docker-ce"]


def test_dockerd_running_and_enabled_under_systemd(tmp_path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run/docker.pid").write_text("321\n")
    (tmp_path / "proc/321").mkdir(parents=True)
    (tmp_path / "proc/321/comm").write_text("dockerd\n")
    wants = tmp_path / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "docker.service").symlink_to("/lib/systemd/system/docker.service")
    assert hf.dockerd_facts(str(tmp_path)) == {"running": True, "pid": 321, "enabled": True}


def test_dockerd_enabled_by_rc_link_and_not_running(tmp_path) -> None:
    rc2 = tmp_path / "etc/rc2.d"
    rc2.mkdir(parents=True)
    (rc2 / "S01docker").symlink_to("../init.d/docker")
    assert hf.dockerd_facts(str(tmp_path)) == {"running": False, "pid": None, "enabled": True}


def test_no_dockerd(tmp_path) -> None:
    assert hf.dockerd_facts(str(tmp_path)) == {"running": False, "pid": None, "enabled": False}


def test_checks_report_accounts_and_file_states(tmp_path) -> None:
    """What the roles read instead of a round trip of their own: homes, ~/.docker states, CA file states."""
    from ansible_collections.dockprov.docker.plugins.module_utils._host_checks import host_checks

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1001::/home/alice:/bin/sh\n")
    docker_dir = tmp_path / "home/alice/.docker"
    docker_dir.mkdir(parents=True)
    docker_dir.chmod(0o700)
    (docker_dir / "config.json").write_text('{"auths": {"r": {"auth": "c2VjcmV0"}}}')
    (docker_dir / "config.json").chmod(0o600)
    certs = tmp_path / "etc/docker/certs.d/registry.example"
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_text("CERT\n")
    (certs / "ca.crt").chmod(0o644)
    (certs / "link.crt").symlink_to("ca.crt")
    out = host_checks(str(tmp_path), ["alice", "bob"], [], ["/etc/docker/certs.d/registry.example",
                                                          "/etc/docker/certs.d/registry.example/ca.crt",
                                                          "/etc/docker/certs.d/registry.example/link.crt",
                                                          "/etc/docker/certs.d/other/ca.crt"],
                      [".docker", ".docker/config.json", ".docker/none"])
    assert out["missing_users"] == ["bob"]
    alice = out["accounts"]["alice"]
    assert (alice["uid"], alice["gid"], alice["home"]) == (1000, 1001, "/home/alice")
    assert alice["files"][".docker"]["type"] == "directory" and alice["files"][".docker"]["mode"] == "0700"
    assert alice["files"][".docker/config.json"]["mode"] == "0600"
    assert "sha1" not in alice["files"][".docker/config.json"]  # it holds credentials: never hashed
    assert alice["files"][".docker/none"] is None and "bob" not in out["accounts"]
    files = out["files"]
    assert files["/etc/docker/certs.d/registry.example/ca.crt"]["sha1"] == hashlib.sha1(b"CERT\n").hexdigest()
    assert files["/etc/docker/certs.d/registry.example/link.crt"]["type"] == "link"  # never followed
    assert files["/etc/docker/certs.d/registry.example"]["type"] == "directory"
    assert files["/etc/docker/certs.d/other/ca.crt"] is None
