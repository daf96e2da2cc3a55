"""LAB STAND-IN app images: names, cache keys, and when registry.lab gets a push (no docker needed)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from dockprov.lab import apps, cachekey


def test_every_app_has_its_dockerfile_and_files():
    for app in apps.APP_IMAGES:
        assert app.dockerfile.is_file(), app.dockerfile
        for path in app.inputs():
            assert path.is_file(), path
        text = app.dockerfile.read_text()
        assert "LAB STAND-IN" in text
        assert "FROM ${BASE}" in text
        assert "--no-install-recommends" in text and "rm -rf /var/lib/apt/lists/*" in text


def test_names_match_docker_hub():
    names = {a.name: (a.image, a.repository) for a in apps.APP_IMAGES}
    assert names["wordpress"] == ("dockprov-lab/wordpress", "library/wordpress")
    assert set(names) == {"wordpress", "mariadb", "python-pandas", "nginx"}


class FakeBuilder:
    def __init__(self, current: dict[str, str]) -> None:
        self.keys = {apps.BASE: "basekey"}
        self.current = current
        self.built: list[str] = []

    def _fresh(self, image: str, key: str) -> bool:
        self.keys[image] = key
        return self.current.get(image) == key

    def _build(self, image: str, key: str, dockerfile: Path, context: Path, base: str | None = None) -> None:
        assert context == apps.APPS_DIR and base == apps.BASE and dockerfile.parent == apps.APPS_DIR
        self.built.append(image)


def test_build_only_what_changed():
    first = FakeBuilder({})
    apps.build(first)  # type: ignore[arg-type]
    assert first.built == [a.image for a in apps.APP_IMAGES]
    again = FakeBuilder({a.image: first.keys[a.image] for a in apps.APP_IMAGES})
    apps.build(again)  # type: ignore[arg-type]
    assert again.built == []
    new_base = FakeBuilder({a.image: first.keys[a.image] for a in apps.APP_IMAGES})
    new_base.keys[apps.BASE] = "otherbase"
    apps.build(new_base)  # type: ignore[arg-type]
    assert len(new_base.built) == len(apps.APP_IMAGES)


def test_key_covers_the_app_files():
    wordpress = apps.APP_IMAGES[0]
    assert apps.APPS_DIR / "wordpress-config.php" in wordpress.inputs()
    assert cachekey.key(*wordpress.inputs(), "a") != cachekey.key(*wordpress.inputs(), "b")


@pytest.fixture()
def registry():
    manifests: dict[str, dict] = {"/v2/library/nginx/manifests/latest": {"config": {"digest": "sha256:aaa"}}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = manifests.get(self.path)
            if body is None or "manifest.v2" not in self.headers.get("Accept", ""):
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_registry_config_digest(registry):
    assert apps.registry_config_digest(registry, "library/nginx") == "sha256:aaa"
    assert apps.registry_config_digest(registry, "library/wordpress") is None


def test_stale_pushes_missing_or_different(registry, monkeypatch):
    ids = {"dockprov-lab/nginx": "sha256:aaa", "dockprov-lab/wordpress": "sha256:bbb",
           "dockprov-lab/mariadb": None, "dockprov-lab/python-pandas": "sha256:ccc"}
    monkeypatch.setattr(apps, "inspect", lambda kind, name: {"Id": ids[name]} if ids[name] else None)
    stale = [a.name for a in apps.stale(registry)]
    # nginx is current; mariadb was never built here (nothing to push).
    assert stale == ["wordpress", "python-pandas"]
