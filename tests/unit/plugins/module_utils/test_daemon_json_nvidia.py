"""dockprov_daemon_json as the nvidia_container_toolkit role uses it: runtime by reload, CDI by restart."""

from __future__ import annotations

from ansible_collections.dockprov.docker.plugins.module_utils import _daemon_json as dj

NVIDIA = {"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}}
DOCKER = {"registry-mirrors": ["http://registry.lab:5000"], "runtimes": {"custom": {"path": "runc"}}, "debug": True}


def test_runtime_merges_into_other_runtimes_and_reloads():
    new = dj.merge(DOCKER, NVIDIA)
    assert new["runtimes"] == {"custom": {"path": "runc"},
                               "nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}
    assert new["registry-mirrors"] == DOCKER["registry-mirrors"] and new["debug"] is True
    assert dj.classify(DOCKER, new) == "reload"
    assert dj.classify(new, dj.merge(new, {"default-runtime": "nvidia"})) == "reload"


def test_none_values_leave_keys_alone():
    new = dj.merge(DOCKER, {**NVIDIA, "default-runtime": None, "features": None})
    assert "default-runtime" not in new and "features" not in new


def test_cdi_feature_needs_a_restart():
    # dockerd registers its CDI driver only at start-up: SIGHUP would leave CDI off
    with_runtime = dj.merge(DOCKER, NVIDIA)
    assert dj.classify(with_runtime, dj.merge(with_runtime, {"features": {"cdi": True}})) == "restart"
    with_cdi = dj.merge(with_runtime, {"features": {"cdi": True}})
    assert dj.classify(with_cdi, dj.merge(with_cdi, {"features": {"other": True}})) == "reload"


def test_docker_daemon_settings_keep_the_nvidia_runtime():
    # docker_daemon never names "runtimes": merging its settings keeps the runtime the toolkit role added
    with_runtime = dj.merge(DOCKER, NVIDIA)
    after = dj.merge(with_runtime, {"registry-mirrors": ["http://a:5000", "http://b:5000"], "log-driver": None})
    assert after["runtimes"]["nvidia"] == NVIDIA["runtimes"]["nvidia"]
