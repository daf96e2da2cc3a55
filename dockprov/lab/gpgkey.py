"""The lab's own signing keys, generated once and kept under the lab state directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def ensure_key(gnupghome: Path, uid: str) -> str:
    """Return the fingerprint of the key with this uid, generating it (no passphrase) if missing."""
    gnupghome.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupghome)}
    fpr = _find(env, uid)
    if fpr:
        return fpr
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-generate-key", uid, "rsa3072", "sign", "never"],
        env=env, check=True, capture_output=True,
    )
    fpr = _find(env, uid)
    if not fpr:
        raise RuntimeError(f"gpg did not create a key for {uid}")
    return fpr


def _find(env: dict[str, str], uid: str) -> str | None:
    proc = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-keys", uid], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        return None
    lines = proc.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("pub:"):
            for nxt in lines[i + 1:]:
                if nxt.startswith("fpr:"):
                    return nxt.split(":")[9]
    return None


def export_armored(gnupghome: Path, fingerprint: str) -> str:
    env = {**os.environ, "GNUPGHOME": str(gnupghome)}
    return subprocess.run(
        ["gpg", "--batch", "--armor", "--export", fingerprint], env=env, check=True, capture_output=True, text=True
    ).stdout
