"""Cache keys: a lab image is rebuilt exactly when one of its inputs changed (no docker needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dockprov.lab import cachekey, images

PREFIX = images.PREFIX
REAL_FRESH = images.Builder._fresh


# --- cachekey.key ----------------------------------------------------------------------------------------
def test_key_is_stable_and_short():
    assert cachekey.key("a", b"b") == cachekey.key("a", b"b")
    assert len(cachekey.key("a")) == 20
    int(cachekey.key("a"), 16)


def test_key_changes_with_each_input():
    base = ("debootstrap", "bookworm", "http://deb.debian.org/debian")
    keys = {cachekey.key(*base)}
    for i in range(len(base)):
        changed = list(base)
        changed[i] += "x"
        keys.add(cachekey.key(*changed))
    keys.add(cachekey.key(*base, ""))  # one more (empty) input
    keys.add(cachekey.key(*reversed(base)))  # order matters
    assert len(keys) == len(base) + 3


def test_key_boundaries_between_parts_matter():
    assert cachekey.key("ab", "c") != cachekey.key("a", "bc")
    assert cachekey.key("abc") != cachekey.key("ab", "c")
    assert cachekey.key() != cachekey.key("")


def test_key_reads_file_contents_not_names(tmp_path: Path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text("FROM base\n")
    two.write_text("FROM base\n")
    assert cachekey.key(one) == cachekey.key(two) == cachekey.key("FROM base\n") == cachekey.key(b"FROM base\n")
    before = cachekey.key(one, "x")
    one.write_text("FROM base \n")
    assert cachekey.key(one, "x") != before
    one.write_text("FROM base\n")
    assert cachekey.key(one, "x") == before


def test_key_depends_on_lab_format(monkeypatch):
    before = cachekey.key("a")
    monkeypatch.setattr(cachekey, "LAB_FORMAT", "2")
    assert cachekey.key("a") != before


# --- the Builder's keys (images.py) ----------------------------------------------------------------------
@pytest.fixture
def files(tmp_path: Path, monkeypatch) -> Path:
    copy = tmp_path / "files"
    shutil.copytree(images.FILES, copy, symlinks=True)
    monkeypatch.setattr(images, "FILES", copy)
    return copy


def builder_keys(monkeypatch, state: Path, mirror: str = "http://deb.debian.org/debian",
                 fpr: str = "F" * 40, arch: str = "amd64") -> dict[str, str]:
    """Every image key the Builder computes, with every image reported up to date (nothing built)."""
    monkeypatch.setattr(images, "archive_url", lambda: mirror)
    monkeypatch.setattr(images, "image_key", lambda name: None)

    def no_build(*args, **kwargs):
        raise AssertionError(f"nothing may be built here: {args}")

    monkeypatch.setattr(images.Builder, "_build", no_build)
    def fresh(self, image: str, key: str) -> bool:
        assert REAL_FRESH(self, image, key) is False  # image_key() is None: would rebuild
        return True

    monkeypatch.setattr(images.Builder, "_fresh", fresh)
    monkeypatch.setattr(images.Builder, "mirror_key", lambda self: (fpr, "ARMORED"))
    builder = images.Builder(state)
    builder.arch = arch
    for suite in images.SUITES:
        builder.base(suite)
    builder.hello()
    builder.registry()
    builder.mirror()
    builder.hosts()
    return dict(builder.keys)


ALL = {f"{PREFIX}/{n}" for n in ("base-bookworm", "base-trixie", "hello-world", "registry", "mirror",
                                 "host-deb12", "host-deb13", "host-ubuntu2404", "host-wsl")}


def _changed(a: dict[str, str], b: dict[str, str]) -> set[str]:
    assert set(a) == set(b) == ALL
    return {name for name in a if a[name] != b[name]}


def test_builder_keys_are_stable(files, monkeypatch, tmp_path):
    first = builder_keys(monkeypatch, tmp_path / "state")
    assert len(set(first.values())) == len(ALL)
    assert _changed(first, builder_keys(monkeypatch, tmp_path / "state2")) == set()


def test_fresh_image_is_reused(monkeypatch, tmp_path):
    monkeypatch.setattr(images, "image_key", lambda name: "k1")
    builder = images.Builder(tmp_path)
    assert builder._fresh("img", "k1") is True
    assert builder._fresh("img", "k2") is False
    assert images.Builder(tmp_path, rebuild=True)._fresh("img", "k1") is False


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("host-systemd.Dockerfile", {"host-deb12", "host-deb13", "host-ubuntu2404"}),
        ("host-ubuntu.Dockerfile", {"host-ubuntu2404"}),
        ("os-release-ubuntu2404", {"host-ubuntu2404"}),
        ("host-wsl.Dockerfile", {"host-wsl"}),
        ("wsl-init", {"host-wsl"}),
        ("registry-config.yml", {"registry"}),
        ("registry.Dockerfile", {"registry"}),
        ("hello/hello.c", {"hello-world"}),
        ("mirror.Dockerfile", {"mirror"}),
    ],
)
def test_editing_a_file_rebuilds_exactly_its_images(files, monkeypatch, tmp_path, edit, expected):
    before = builder_keys(monkeypatch, tmp_path / "state")
    path = files / edit
    path.write_text(path.read_text() + "\n# changed\n")
    after = builder_keys(monkeypatch, tmp_path / "state")
    assert _changed(before, after) == {f"{PREFIX}/{n}" for n in expected}


def test_debian_mirror_change_rebuilds_everything_built_on_the_bases(files, monkeypatch, tmp_path):
    before = builder_keys(monkeypatch, tmp_path / "state")
    after = builder_keys(monkeypatch, tmp_path / "state", mirror="http://other.example/debian")
    assert _changed(before, after) == ALL - {f"{PREFIX}/hello-world"}


def test_mirror_key_and_arch_rebuild_only_the_mirror(files, monkeypatch, tmp_path):
    before = builder_keys(monkeypatch, tmp_path / "state")
    assert _changed(before, builder_keys(monkeypatch, tmp_path / "s", fpr="E" * 40)) == {f"{PREFIX}/mirror"}
    assert _changed(before, builder_keys(monkeypatch, tmp_path / "s", arch="arm64")) == {f"{PREFIX}/mirror"}


# --- deb11: outside the fleet, built on demand -----------------------------------------------------------
def test_deb11_is_not_in_the_fleet_and_lab_up_never_builds_it(files, monkeypatch, tmp_path):
    deb11 = next(k for k in images.HOST_KINDS if k.name == "deb11")
    assert not deb11.fleet and deb11 not in images.FLEET_KINDS and deb11.systemd
    assert deb11.base == f"{PREFIX}/base-bullseye" and "bullseye" not in images.SUITES
    assert {k.name for k in images.FLEET_KINDS} == {"deb12", "deb13", "ubuntu2404", "wsl"}
    assert not any("bullseye" in name or "deb11" in name for name in builder_keys(monkeypatch, tmp_path / "s"))


def test_deb11_on_demand_builds_its_base_then_its_image(files, monkeypatch, tmp_path):
    builder_keys(monkeypatch, tmp_path / "unused")  # installs the no-build patches
    builder = images.Builder(tmp_path / "state")
    deb11 = next(k for k in images.HOST_KINDS if k.name == "deb11")
    assert builder.host(deb11) == f"{PREFIX}/host-deb11"
    assert set(builder.keys) == {f"{PREFIX}/base-bullseye", f"{PREFIX}/host-deb11"}
    key = builder.keys[f"{PREFIX}/host-deb11"]
    (files / "host-systemd.Dockerfile").write_text((files / "host-systemd.Dockerfile").read_text() + "# x\n")
    again = images.Builder(tmp_path / "state")
    again.host(deb11)
    assert again.keys[f"{PREFIX}/host-deb11"] != key


def test_on_demand_host_builds_what_it_is_built_from(files, monkeypatch, tmp_path):
    builder_keys(monkeypatch, tmp_path / "unused")
    builder = images.Builder(tmp_path / "state")
    ubuntu = next(k for k in images.HOST_KINDS if k.name == "ubuntu2404")
    builder.host(ubuntu)  # FROM host-deb12, FROM base-bookworm
    assert set(builder.keys) == {f"{PREFIX}/base-bookworm", f"{PREFIX}/host-deb12", f"{PREFIX}/host-ubuntu2404"}
