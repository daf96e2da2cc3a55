"""GPU detection (dockprov_host.gpu) on small fixture trees, one signal at a time.

The nvidia_container_toolkit role acts on ``gpu.present`` (auto mode), so each case here is a host the
role would or would not touch. The full host trees in tests/fixtures/hosts are covered by test_host_facts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _host_facts as hf

HOSTS = Path(__file__).resolve().parents[3] / "fixtures" / "hosts"
DRIVER = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.120  Fri Sep 13 10:10:01 UTC 2024\nGCC version: 12\n"


def tree(root: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if rel.endswith("nvidia-smi"):
            path.chmod(0o755)
    return str(root)


def gpu(root: str, environ: dict[str, str] | None = None) -> dict:
    return hf.gpu_facts(root, environ if environ is not None else {"PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize(
    ("files", "evidence"),
    [
        ({"proc/driver/nvidia/version": DRIVER},
         ["/proc/driver/nvidia/version: NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.120  "
          "Fri Sep 13 10:10:01 UTC 2024"]),
        ({"dev/nvidia0": ""}, ["/dev/nvidia0 exists"]),
        ({"usr/bin/nvidia-smi": "#!/bin/sh\n"}, ["nvidia-smi at /usr/bin/nvidia-smi"]),
    ],
    ids=["driver-version", "device-node", "nvidia-smi"],
)
def test_bare_metal_each_signal_alone(tmp_path, files, evidence):
    assert gpu(tree(tmp_path, files)) == {"present": True, "kind": "nvidia", "evidence": evidence}


@pytest.mark.parametrize(
    ("files", "evidence"),
    [
        ({"usr/lib/wsl/lib/libcuda.so.1": ""}, ["/usr/lib/wsl/lib/libcuda.so.1 exists"]),
        ({"usr/lib/wsl/lib/libcuda.so": ""}, ["/usr/lib/wsl/lib/libcuda.so exists"]),
        ({"dev/dxg": "", "usr/lib/wsl/lib/nvidia-smi": "#!/bin/sh\n"},
         ["/dev/dxg and /usr/lib/wsl/lib/nvidia-smi exist"]),
    ],
    ids=["libcuda.so.1", "libcuda.so", "dxg+nvidia-smi"],
)
def test_wsl2_windows_driver(tmp_path, files, evidence):
    assert gpu(tree(tmp_path, files)) == {"present": True, "kind": "wsl", "evidence": evidence}


def test_wsl2_nvidia_smi_on_path_is_not_a_linux_driver(tmp_path):
    root = tree(tmp_path, {"dev/dxg": "", "usr/lib/wsl/lib/nvidia-smi": "#!/bin/sh\n"})
    facts = gpu(root, {"PATH": "/usr/lib/wsl/lib:/usr/bin"})
    assert facts["kind"] == "wsl"
    assert not any(e.startswith("nvidia-smi at") for e in facts["evidence"])


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"dev/dxg": ""},  # a WSL2 GPU of another vendor: no NVIDIA libraries from the Windows driver
        {"usr/lib/wsl/lib/libd3d12.so": ""},
        {"proc/driver/other/version": "x"},
        {"dev/nvidia-foo": ""},
    ],
    ids=["empty", "dxg-only", "wsl-lib-without-cuda", "other-driver", "other-device"],
)
def test_no_gpu(tmp_path, files):
    assert gpu(tree(tmp_path, files)) == {"present": False, "kind": None, "evidence": []}


@pytest.mark.parametrize(
    ("host", "present", "kind"),
    [("baremetal-nvidia", True, "nvidia"), ("wsl2-ubuntu", True, "wsl"), ("debian12-systemd", False, None)],
)
def test_fixture_hosts(host, present, kind):
    facts = gpu(str(HOSTS / host))
    assert (facts["present"], facts["kind"]) == (present, kind)
    assert bool(facts["evidence"]) == present
