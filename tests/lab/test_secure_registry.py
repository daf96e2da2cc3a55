"""dockprov.lab.secure_registry: the lab CA, registry-tls.lab's certificate and htpasswd, checked for real
(a TLS handshake on loopback verified against the CA; bcrypt); the live-registry tests need `dockprov lab up`."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest
import yaml

from dockprov.lab import secure_registry as sr

PROJECT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def ca() -> tuple[bytes, bytes]:
    return sr.make_ca("test CA")


def _handshake(tmp_path: Path, chain: bytes, key: bytes, ca_pem: bytes, server_name: str) -> str:
    """Serve one TLS handshake on loopback with `chain`/`key`; connect verifying against `ca_pem` for
    `server_name`. Returns "ok" or the client's verification error."""
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cadata=ca_pem.decode())
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=server_name):
            return "ok"
    except ssl.SSLError as exc:
        return str(exc)
    finally:
        thread.join(5)
        listener.close()


def test_server_cert_verifies_against_the_ca_for_its_names(tmp_path: Path, ca):
    ca_key, ca_cert = ca
    key, cert = sr.make_server_cert(ca_key, ca_cert)
    for name in ("registry-tls.lab", "localhost", "127.0.0.1"):
        assert _handshake(tmp_path, cert + ca_cert, key, ca_cert, name) == "ok", name


def test_a_name_not_in_the_cert_and_another_ca_are_refused(tmp_path: Path, ca):
    ca_key, ca_cert = ca
    key, cert = sr.make_server_cert(ca_key, ca_cert)
    assert "mismatch" in _handshake(tmp_path, cert + ca_cert, key, ca_cert, "registry.lab").lower()
    _, other_ca = sr.make_ca("other CA")
    assert "certificate verify failed" in _handshake(tmp_path, cert + ca_cert, key, other_ca, "registry-tls.lab")


def test_cert_usable(ca, monkeypatch):
    ca_key, ca_cert = ca
    _, cert = sr.make_server_cert(ca_key, ca_cert)
    assert sr.cert_usable(cert, ca_cert)
    other_key, other_cert = sr.make_ca("other CA")
    assert not sr.cert_usable(cert, other_cert)
    assert not sr.cert_usable(b"not a certificate", ca_cert)
    _, short = sr.make_server_cert(ca_key, ca_cert, days=10)
    assert not sr.cert_usable(short, ca_cert)  # renewed RENEW_BEFORE its expiry
    _, narrow = sr.make_server_cert(ca_key, ca_cert, names=("localhost",))
    assert not sr.cert_usable(narrow, ca_cert)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=900)
    monkeypatch.setattr(sr, "_now", lambda: later)
    assert not sr.cert_usable(cert, ca_cert)


def test_htpasswd_is_bcrypt_and_checks():
    line = sr.htpasswd_line("alice", "s3cret pass")
    user, hashed = line.rstrip("\n").split(":", 1)
    assert user == "alice" and hashed.startswith("$2b$10$") and len(hashed) == 60
    assert "s3cret" not in line
    assert sr.htpasswd_matches(line, "alice", "s3cret pass")
    assert not sr.htpasswd_matches(line, "alice", "wrong")
    assert not sr.htpasswd_matches(line, "bob", "s3cret pass")
    with pytest.raises(ValueError):
        sr.htpasswd_line("a:b", "x")


def test_ensure_material_makes_once_and_keeps(tmp_path: Path):
    first = sr.ensure_material(tmp_path)
    root = tmp_path / "registry-tls"
    modes = {p.name: p.stat().st_mode & 0o777 for p in [*root.iterdir(), *(root / "server").iterdir()]}
    assert modes["ca.key"] == modes["server.key"] == modes["password"] == modes["htpasswd"] == 0o600
    assert root.stat().st_mode & 0o777 == 0o700
    assert len(first.password) >= 24
    assert sr.htpasswd_matches((root / "server/htpasswd").read_text(), first.user, first.password)
    chain = (root / "server/server.crt").read_bytes()
    assert chain.count(b"BEGIN CERTIFICATE") == 2 and chain.endswith(first.ca_pem.encode())
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    again = sr.ensure_material(tmp_path)
    assert again == first
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before

    # A changed password (someone edited it) gets a new htpasswd; a lost server key a new certificate.
    (root / "password").write_text("another-password")
    (root / "server/server.key").unlink()
    third = sr.ensure_material(tmp_path)
    assert third.password == "another-password" and third.ca_pem == first.ca_pem
    assert sr.htpasswd_matches((root / "server/htpasswd").read_text(), third.user, "another-password")
    assert (root / "server/server.crt").read_bytes() != chain


def test_inventory_vars(tmp_path: Path):
    material = sr.ensure_material(tmp_path / "state")
    path = sr.write_inventory_vars(tmp_path, material)
    assert path == tmp_path / "inventory/lab/group_vars/all/lab_generated_registry.yml"
    assert path.stat().st_mode & 0o777 == 0o600
    data = yaml.safe_load(path.read_text())
    assert data == {
        "dockprov_lab_registry_tls_host": "registry-tls.lab",
        "dockprov_lab_registry_tls_user": material.user,
        "dockprov_lab_registry_tls_password": material.password,
        "dockprov_lab_registry_tls_ca": material.ca_pem,
    }
    assert "LAB STAND-IN" in path.read_text()
    subprocess.run([sys.executable, "-m", "yamllint", "-s", "-c", str(PROJECT / ".yamllint"), str(path)], check=True)


# --- the live registry (needs `dockprov lab up`) -------------------------------------------------------
def _live_material() -> sr.Material:
    info = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", sr.NAME], capture_output=True, text=True)
    if info.returncode != 0 or info.stdout.strip() != "true":
        pytest.skip(f"{sr.NAME} is not running: run `dockprov lab up`")
    return sr.ensure_material(PROJECT / ".lab")


@pytest.mark.lab
def test_live_registry_enforces_auth_and_tls():
    material = _live_material()
    assert sr._get(material, "/v2/", auth=False) == 401
    assert sr._get(material, "/v2/") == 200
    assert sr.has_hello(material)
    # Without the lab CA the TLS handshake fails: the registry does not serve a publicly trusted certificate.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"https://127.0.0.1:{sr.port()}/v2/", timeout=3)  # noqa: S310 (loopback)
    url = f"https://127.0.0.1:{sr.port()}/v2/_catalog"
    ctx = ssl.create_default_context(cadata=material.ca_pem)
    bad = b64encode(f"{material.user}:wrong".encode()).decode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Basic {bad}"}),  # noqa: S310
                               timeout=3, context=ctx)
    assert refused.value.code == 401
    good = b64encode(f"{material.user}:{material.password}".encode()).decode()
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Basic {good}"}),  # noqa: S310
                                timeout=3, context=ctx) as resp:
        assert "library/hello-world" in json.load(resp)["repositories"]
