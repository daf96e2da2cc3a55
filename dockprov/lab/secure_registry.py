"""registry-tls.lab: a second lab registry, with TLS and htpasswd auth (the tutorial's `docker login`, section 3.3).

LAB STAND-IN for a private registry such as Aliyun ACR or a company registry. It runs the same Debian
docker-registry image as registry.lab with another config (files/registry-tls-config.yml):
- TLS with a server certificate signed by a CA the lab generates (kept under the lab state directory);
  hosts trust it through /etc/docker/certs.d/registry-tls.lab/ca.crt, never through insecure-registries;
- htpasswd (bcrypt) auth for one user whose password the lab generates. In the lab inventory that password
  is a plain variable in a generated, git-ignored group_vars file: it stands in for a vaulted secret, which
  is where a real inventory keeps it (ansible-vault).
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import ssl
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path

from . import cachekey
from .dockercli import LABEL, DockerError, docker, ensure_volume, inspect

NAME = "dockprov-registry-tls"
ALIAS = "registry-tls.lab"
PORT = 443  # inside the lab network: image names need no port (registry-tls.lab/library/hello-world)
USER = "dockprov-lab"
VOLUME = "dockprov-lab-registry-tls"
NETWORK = "dockprov-lab"
ARGS_LABEL = "dockprov.lab.args"
CONFIG = Path(__file__).parent / "files" / "registry-tls-config.yml"
MOUNT = "/etc/docker/registry/tls"  # where registry-tls-config.yml expects server.crt, server.key, htpasswd
SERVER_NAMES = (ALIAS, "localhost")
SERVER_IPS = ("127.0.0.1",)  # the loopback port the lab seeds it through
RENEW_BEFORE = datetime.timedelta(days=30)
VARS_FILE = Path("inventory") / "lab" / "group_vars" / "all" / "lab_generated_registry.yml"


@dataclass(frozen=True)
class Material:
    """What `ensure_material` keeps under <state>/registry-tls/."""

    root: Path
    user: str
    password: str
    ca_pem: str

    @property
    def server_dir(self) -> Path:
        return self.root / "server"  # bind-mounted read-only into the registry


# --- certificates ------------------------------------------------------------------------------------
def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_ca(common_name: str = "dockprov lab CA", days: int = 3650) -> tuple[bytes, bytes]:
    """A self-signed CA: (key PEM, certificate PEM). EC P-256 keeps generation fast."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _key_pem(key, serialization), cert.public_bytes(serialization.Encoding.PEM)


def make_server_cert(ca_key_pem: bytes, ca_cert_pem: bytes, names: tuple[str, ...] = SERVER_NAMES,
                     ips: tuple[str, ...] = SERVER_IPS, days: int = 825) -> tuple[bytes, bytes]:
    """A server certificate for `names` and `ips` (subjectAltName; Go ignores the CN), signed by the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _key_pem(key, serialization), cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key, serialization) -> bytes:  # noqa: ANN001 (cryptography types are imported lazily)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_usable(cert_pem: bytes, ca_cert_pem: bytes, names: tuple[str, ...] = SERVER_NAMES) -> bool:
    """Signed by this CA, valid for RENEW_BEFORE more, and naming every one of `names`."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca = x509.load_pem_x509_certificate(ca_cert_pem)
        cert.verify_directly_issued_by(ca)
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    return cert.not_valid_after_utc - _now() > RENEW_BEFORE and set(names) <= set(alt.get_values_for_type(x509.DNSName))


# --- htpasswd ----------------------------------------------------------------------------------------
def htpasswd_line(user: str, password: str) -> str:
    """One htpasswd line with a bcrypt hash: the only kind the registry's htpasswd auth accepts."""
    import bcrypt

    if ":" in user:
        raise ValueError("an htpasswd user name cannot contain ':'")
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()}\n"


def htpasswd_matches(text: str, user: str, password: str) -> bool:
    import bcrypt

    for line in text.splitlines():
        name, _, hashed = line.partition(":")
        if name == user and hashed:
            return bcrypt.checkpw(password.encode(), hashed.encode())
    return False


# --- state -------------------------------------------------------------------------------------------
def _write(path: Path, data: bytes | str, mode: int) -> None:
    """Atomic write with the final mode from the start (keys and the password are never world-readable)."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=mode)
    tmp.chmod(mode)
    tmp.write_bytes(raw)
    tmp.replace(path)


def ensure_material(state: Path, user: str = USER) -> Material:
    """CA, server certificate, password and htpasswd under <state>/registry-tls/: made when missing, kept
    otherwise (the password and CA stay stable across `lab up`; the server cert is renewed before expiry)."""
    root = state / "registry-tls"
    server = root / "server"
    server.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    ca_key, ca_crt = root / "ca.key", root / "ca.crt"
    if not (ca_key.exists() and ca_crt.exists()):
        key, cert = make_ca()
        _write(ca_key, key, 0o600)
        _write(ca_crt, cert, 0o644)
    ca_pem = ca_crt.read_bytes()
    crt, key_file = server / "server.crt", server / "server.key"
    if not (crt.exists() and key_file.exists() and cert_usable(crt.read_bytes(), ca_pem)):
        key, cert = make_server_cert(ca_key.read_bytes(), ca_pem)
        _write(key_file, key, 0o600)
        _write(crt, cert + ca_pem, 0o644)  # the chain: server certificate, then the CA
    pw_file = root / "password"
    if not pw_file.exists():
        _write(pw_file, secrets.token_urlsafe(24), 0o600)
    password = pw_file.read_text().strip()
    htpasswd = server / "htpasswd"
    if not (htpasswd.exists() and htpasswd_matches(htpasswd.read_text(), user, password)):
        _write(htpasswd, htpasswd_line(user, password), 0o600)
    return Material(root=root, user=user, password=password, ca_pem=ca_pem.decode())


def vars_text(material: Material) -> str:
    indented = "".join(f"  {line}\n" for line in material.ca_pem.strip().splitlines())
    return (
        "---\n"
        "# Written by `dockprov lab up`: registry-tls.lab (TLS with the lab's CA, htpasswd auth). Do not edit.\n"
        "# LAB STAND-IN: the password below stands in for a vaulted secret. A real inventory keeps registry\n"
        "# passwords only in files encrypted with ansible-vault\n"
        "# (see inventory/example/group_vars/all/registry_auth.yml).\n"
        f'dockprov_lab_registry_tls_host: "{ALIAS}"\n'
        f'dockprov_lab_registry_tls_user: "{material.user}"\n'
        f'dockprov_lab_registry_tls_password: "{material.password}"\n'
        f"dockprov_lab_registry_tls_ca: |\n{indented}"
    )


def write_inventory_vars(project: Path, material: Material) -> Path:
    path = project / VARS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = vars_text(material)
    if not path.exists() or path.read_text() != text:
        _write(path, text, 0o600)
    return path


# --- the service -------------------------------------------------------------------------------------
def run_args(material: Material) -> list[str]:
    return ["--hostname", ALIAS, "--network", NETWORK, "--network-alias", ALIAS, "--label", f"{LABEL}=1",
            "--restart", "unless-stopped", "-p", f"127.0.0.1::{PORT}",
            "-v", f"{VOLUME}:/var/lib/docker-registry",
            "-v", f"{CONFIG.resolve()}:/etc/docker/registry/config.yml:ro",
            "-v", f"{material.server_dir.resolve()}:{MOUNT}:ro"]


def start(material: Material, image: str) -> bool:
    """Run the registry; recreate it when its image, options, config, certificate or htpasswd changed.
    Returns True when it (re)started."""
    server = material.server_dir
    args = run_args(material)
    image_id = (inspect("image", image) or {}).get("Id", "")
    key = cachekey.key(image_id, *args, CONFIG, server / "server.crt", server / "server.key", server / "htpasswd")
    info = inspect("container", NAME)
    if info is not None and info["State"]["Running"] and (info["Config"].get("Labels") or {}).get(ARGS_LABEL) == key:
        return False
    docker("rm", "-f", NAME, check=False)
    ensure_volume(VOLUME)
    docker("run", "-d", "--name", NAME, "--label", f"{ARGS_LABEL}={key}", *args, image)
    return True


def port() -> int:
    out = docker("port", NAME, f"{PORT}/tcp").splitlines()[0]
    return int(out.rsplit(":", 1)[1])


def _get(material: Material, path: str, auth: bool = True) -> int:
    """HTTP status of GET https://127.0.0.1:<port><path>, verified against the lab CA."""
    ctx = ssl.create_default_context(cadata=material.ca_pem)
    req = urllib.request.Request(f"https://127.0.0.1:{port()}{path}", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    if auth:
        token = b64encode(f"{material.user}:{material.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=3, context=ctx) as resp:  # noqa: S310 (loopback only)
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait(material: Material, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _get(material, "/v2/")
            return
        except (OSError, DockerError, IndexError) as exc:
            if time.monotonic() > deadline:
                raise DockerError(f"{ALIAS} did not answer on loopback: {exc}") from exc
            time.sleep(0.3)


def has_hello(material: Material) -> bool:
    return _get(material, "/v2/library/hello-world/manifests/latest") == 200


def seed(material: Material, hello_image: str) -> None:
    """Push the lab's hello-world as library/hello-world, logged in with a private docker CLI config under the
    lab state (never the controller user's ~/.docker), the password on stdin. The controller's dockerd treats
    127.0.0.0/8 registries as insecure by default, so it needs no copy of the lab CA for this push."""
    ref = f"127.0.0.1:{port()}/library/hello-world:latest"
    cfg = material.root / "docker-config"
    cfg.mkdir(mode=0o700, exist_ok=True)
    docker("--config", str(cfg), "login", "--username", material.user, "--password-stdin", ref.split("/")[0],
           input=material.password.encode())
    docker("tag", hello_image, ref)
    try:
        docker("--config", str(cfg), "push", ref)
    finally:
        docker("rmi", ref, check=False)


def up(project: Path, state: Path, hello_image: str, image: str) -> Material:
    """Everything `dockprov lab up` needs for registry-tls.lab: material, inventory vars, service, seed."""
    material = ensure_material(state)
    write_inventory_vars(project, material)
    start(material, image)
    wait(material)
    if _get(material, "/v2/", auth=False) != 401:
        raise DockerError(f"{ALIAS} answers without credentials: its htpasswd auth is not on")
    if not has_hello(material):
        seed(material, hello_image)
    return material
