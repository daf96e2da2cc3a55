"""module_utils/_repo_plan.py against the real apt_key and apt_source modules, run in-process on temp trees.

The plan may say "as wanted" only where the module itself, run next, changes nothing: each case below
first converges a tree with the modules, then changes one thing on disk or in the inputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import module_harness as h
import pytest
from ansible_collections.dockprov.docker.plugins.module_utils._repo_plan import docker_repo_as_wanted

KEYS = Path(__file__).resolve().parents[3] / "fixtures" / "keys"
RSA = json.loads((KEYS / "fingerprints.json").read_text())["rsa-test"]["primary"]
OTHER = json.loads((KEYS / "fingerprints.json").read_text())["other-rsa-test"]["primary"]
KEY = "/etc/apt/keyrings/docker.asc"
DISTRO = {"docker_distro": "debian", "docker_codename": "bookworm"}

apt_key = h.load("apt_key")
apt_source = h.load("apt_source")


def plan(**kwargs) -> dict:
    base = {"key_path": KEY, "fingerprints": [RSA], "content": (KEYS / "rsa-test.asc").read_text(),
            "legacy_cleanup": True, "mirrors": ["http://mirror.test"], "probe": True, "channel": "stable"}
    base.update(kwargs)
    return base


@pytest.fixture
def converged(monkeypatch, tmp_path: Path) -> Path:
    """A tree the two modules wrote, as docker_repo calls them."""
    p = plan()
    failed, res = h.run(monkeypatch, apt_key, {"dest": KEY, "content": p["content"], "fingerprints": [RSA],
                                                "root": str(tmp_path)})
    assert not failed and res["changed"], res
    failed, res = h.run(monkeypatch, apt_source, {"mirrors": p["mirrors"], "distro": "debian", "codename": "bookworm",
                                                   "arch": "amd64", "signed_by": KEY, "probe": False,
                                                   "root": str(tmp_path)})
    assert not failed and res["changed"], res
    return tmp_path


def as_wanted(root: Path, **kwargs) -> dict:
    return docker_repo_as_wanted(plan(**kwargs), DISTRO, "amd64", root=str(root))


def test_converged_tree_is_as_wanted(converged):
    assert as_wanted(converged) == {"key": True, "source": True,
                                    "repo_url": "http://mirror.test/linux/debian"}


def test_nothing_on_disk_is_not(tmp_path):
    assert as_wanted(tmp_path) == {"key": False, "source": False, "repo_url": "http://mirror.test/linux/debian"}


def test_key_needing_a_download_is_never_assumed(converged):
    (converged / KEY.lstrip("/")).unlink()
    assert as_wanted(converged, content="")["key"] is False


def test_existing_key_without_content_is_as_wanted(converged):
    assert as_wanted(converged, content="")["key"] is True


def test_other_fingerprint_or_mode_is_not(converged):
    assert as_wanted(converged, fingerprints=[OTHER])["key"] is False
    os.chmod(converged / KEY.lstrip("/"), 0o600)
    assert as_wanted(converged)["key"] is False


def test_source_changes_are_seen(converged):
    assert as_wanted(converged, channel="test")["source"] is False
    assert as_wanted(converged, mirrors=["http://other.test"])["source"] is False
    assert as_wanted(converged, mirrors=["http://mirror.test", "http://other.test"], probe=False)["source"] is True


def test_several_probed_mirrors_are_left_to_the_probe(converged):
    got = as_wanted(converged, mirrors=["http://mirror.test", "http://other.test"])
    assert got["source"] is False and got["key"] is True


def test_legacy_source_is_not_as_wanted(converged):
    legacy = converged / "etc/apt/sources.list.d/docker.list"
    legacy.write_text("deb [arch=amd64] https://download.docker.com/linux/debian bookworm stable\n")
    assert as_wanted(converged)["source"] is False
    assert as_wanted(converged, legacy_cleanup=False)["source"] is True
