# Copyright (c) dockprov contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.

"""Pure-Python handling of OpenPGP public keys (RFC 4880 / RFC 9580), no gpg binary needed.

Enough of the format to do what apt key management needs: dearmor/enarmor, split a keyring into
transferable public keys, compute fingerprints (v4, v5, v6), and drop chosen keys from a keyring
such as apt-key's /etc/apt/trusted.gpg while keeping the others byte for byte.

Standard library only: this file runs on managed hosts (Python 3.9+).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

# Docker's repository signing key (download.docker.com/linux/*/gpg).
DOCKER_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"

TAG_SIGNATURE = 2
TAG_SECRET_KEY = 5
TAG_PUBLIC_KEY = 6
TAG_SECRET_SUBKEY = 7
TAG_USER_ID = 13
TAG_PUBLIC_SUBKEY = 14

_ARMOR_BEGIN = re.compile(r"^-----BEGIN PGP ([A-Z ,0-9/]+)-----\s*$")
_ARMOR_END = re.compile(r"^-----END PGP ([A-Z ,0-9/]+)-----\s*$")
_HEX_RE = re.compile(r"^[0-9A-F]+$")


class OpenPGPError(ValueError):
    """Malformed or unsupported OpenPGP data."""


@dataclass
class Packet:
    tag: int
    body: bytes
    raw: bytes  # header + body exactly as found in the input
    offset: int


@dataclass
class TransferableKey:
    """A primary key packet and every packet after it up to the next primary key."""

    packets: list[Packet]
    version: int | None = None
    fingerprint: str | None = None  # primary fingerprint; None for unsupported versions / stray packets
    subkey_fingerprints: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)

    @property
    def raw(self) -> bytes:
        return b"".join(p.raw for p in self.packets)


# --------------------------------------------------------------------------- armor


def crc24(data: bytes) -> int:
    """CRC-24 as used by the OpenPGP armor checksum."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _bit in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def is_armored(data: bytes | str) -> bool:
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    return "-----BEGIN PGP " in text


def dearmor(text: str | bytes) -> bytes:
    """Decode every ASCII-armored block in ``text`` and return the concatenated binary.

    The CRC-24 checksum line is verified when present (RFC 9580 makes it optional).
    """
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = bytearray()
    blocks = 0
    i = 0
    while i < len(lines):
        begin = _ARMOR_BEGIN.match(lines[i].strip())
        i += 1
        if not begin:
            continue
        kind = begin.group(1)
        # Armor headers ("Version: ...", "Comment: ...") run up to the first blank line. Be lenient
        # with producers that omit the blank line when there are no headers.
        while i < len(lines) and lines[i].strip():
            line = lines[i].strip()
            if ":" not in line or _ARMOR_END.match(line):
                break
            i += 1
        b64: list[str] = []
        checksum: str | None = None
        ended = False
        while i < len(lines):
            line = lines[i].strip()
            i += 1
            if not line:
                continue
            end = _ARMOR_END.match(line)
            if end:
                if end.group(1) != kind:
                    raise OpenPGPError(f"armor END line {end.group(1)!r} does not match BEGIN {kind!r}")
                ended = True
                break
            if line.startswith("=") and len(line) == 5:
                checksum = line[1:]
                continue
            b64.append(line)
        if not ended:
            raise OpenPGPError(f"armored block 'BEGIN PGP {kind}' has no END line")
        try:
            data = base64.b64decode("".join(b64), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise OpenPGPError(f"invalid base64 in armored block: {exc}") from exc
        if checksum is not None:
            try:
                expected = int.from_bytes(base64.b64decode(checksum, validate=True), "big")
            except (binascii.Error, ValueError) as exc:
                raise OpenPGPError(f"invalid armor checksum line '={checksum}'") from exc
            actual = crc24(data)
            if actual != expected:
                raise OpenPGPError(f"armor CRC24 mismatch: expected {expected:06X}, computed {actual:06X}")
        out += data
        blocks += 1
    if not blocks:
        raise OpenPGPError("no '-----BEGIN PGP ...-----' armored block found")
    return bytes(out)


def enarmor(data: bytes, kind: str = "PUBLIC KEY BLOCK") -> str:
    """ASCII-armor ``data`` the way ``gpg --armor --export`` does (64-column base64, CRC24 line)."""
    b64 = base64.b64encode(data).decode("ascii")
    body = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    crc = base64.b64encode(crc24(data).to_bytes(3, "big")).decode("ascii")
    return f"-----BEGIN PGP {kind}-----\n\n{body}\n={crc}\n-----END PGP {kind}-----\n"


def load_key_material(data: bytes | str) -> bytes:
    """Binary OpenPGP data from either armored text or binary bytes."""
    if isinstance(data, str):
        return dearmor(data)
    if is_armored(data[:4096]) or data.lstrip()[:5] == b"-----":
        return dearmor(data)
    if len(data) >= 12 and data[8:12] == b"KBXf":
        raise OpenPGPError("GnuPG keybox (.kbx) format is not an OpenPGP keyring; export the keys with gpg")
    return data


# --------------------------------------------------------------------------- packets


def parse_packets(data: bytes) -> list[Packet]:
    """Split binary OpenPGP data into packets (old- and new-format headers)."""
    packets: list[Packet] = []
    pos = 0
    size = len(data)
    while pos < size:
        start = pos
        ctb = data[pos]
        pos += 1
        if not ctb & 0x80:
            raise OpenPGPError(f"not an OpenPGP packet header at offset {start} (byte 0x{ctb:02x})")
        if ctb & 0x40:  # new format
            tag = ctb & 0x3F
            body = bytearray()
            while True:
                length, partial, pos = _new_length(data, pos, start)
                if pos + length > size:
                    raise OpenPGPError(f"packet at offset {start} is truncated")
                body += data[pos : pos + length]
                pos += length
                if not partial:
                    break
            packets.append(Packet(tag, bytes(body), data[start:pos], start))
            continue
        tag = (ctb >> 2) & 0x0F
        ltype = ctb & 0x03
        if ltype == 3:  # indeterminate: to the end of the data
            length = size - pos
        else:
            nbytes = (1, 2, 4)[ltype]
            if pos + nbytes > size:
                raise OpenPGPError(f"packet header at offset {start} is truncated")
            length = int.from_bytes(data[pos : pos + nbytes], "big")
            pos += nbytes
        if pos + length > size:
            raise OpenPGPError(f"packet at offset {start} is truncated")
        packets.append(Packet(tag, data[pos : pos + length], data[start : pos + length], start))
        pos += length
    return packets


def _new_length(data: bytes, pos: int, start: int) -> tuple[int, bool, int]:
    if pos >= len(data):
        raise OpenPGPError(f"packet header at offset {start} is truncated")
    first = data[pos]
    if first < 192:
        return first, False, pos + 1
    if first < 224:
        if pos + 1 >= len(data):
            raise OpenPGPError(f"packet header at offset {start} is truncated")
        return ((first - 192) << 8) + data[pos + 1] + 192, False, pos + 2
    if first == 255:
        if pos + 5 > len(data):
            raise OpenPGPError(f"packet header at offset {start} is truncated")
        return int.from_bytes(data[pos + 1 : pos + 5], "big"), False, pos + 5
    return 1 << (first & 0x1F), True, pos + 1


def encode_packet(tag: int, body: bytes, new_format: bool = True) -> bytes:
    """Serialize one packet (used by tests and to normalise keys)."""
    n = len(body)
    if new_format:
        if n < 192:
            hdr = bytes([n])
        elif n < 8384:
            n2 = n - 192
            hdr = bytes([(n2 >> 8) + 192, n2 & 0xFF])
        else:
            hdr = b"\xff" + n.to_bytes(4, "big")
        return bytes([0xC0 | tag]) + hdr + body
    if tag > 15:
        raise OpenPGPError(f"tag {tag} cannot be written in an old-format header")
    if n < 0x100:
        return bytes([0x80 | (tag << 2)]) + bytes([n]) + body
    if n < 0x10000:
        return bytes([0x80 | (tag << 2) | 1]) + n.to_bytes(2, "big") + body
    return bytes([0x80 | (tag << 2) | 2]) + n.to_bytes(4, "big") + body


def key_fingerprint(body: bytes) -> str | None:
    """Fingerprint of a public (sub)key packet body; None for v3 or unknown versions."""
    if not body:
        raise OpenPGPError("empty key packet")
    version = body[0]
    n = len(body)
    if version == 4:
        return hashlib.sha1(b"\x99" + n.to_bytes(2, "big") + body).hexdigest().upper()
    if version == 5:
        return hashlib.sha256(b"\x9a" + n.to_bytes(4, "big") + body).hexdigest().upper()
    if version == 6:
        return hashlib.sha256(b"\x9b" + n.to_bytes(4, "big") + body).hexdigest().upper()
    return None


def split_keyring(data: bytes) -> list[TransferableKey]:
    """Split a binary keyring into transferable keys (a primary key packet up to the next one).

    Packets found before the first primary key (unusual) form a key with ``fingerprint`` None so
    that nothing is lost when the keyring is written back.
    """
    keys: list[TransferableKey] = []
    current: TransferableKey | None = None
    for pkt in parse_packets(data):
        if pkt.tag in (TAG_PUBLIC_KEY, TAG_SECRET_KEY):
            current = TransferableKey(packets=[pkt])
            if pkt.tag == TAG_PUBLIC_KEY:
                current.version = pkt.body[0] if pkt.body else None
                current.fingerprint = key_fingerprint(pkt.body)
            keys.append(current)
            continue
        if current is None:
            current = TransferableKey(packets=[])
            keys.append(current)
        current.packets.append(pkt)
        if pkt.tag == TAG_PUBLIC_SUBKEY:
            fpr = key_fingerprint(pkt.body)
            if fpr:
                current.subkey_fingerprints.append(fpr)
        elif pkt.tag == TAG_USER_ID:
            current.user_ids.append(pkt.body.decode("utf-8", "replace"))
    return keys


def fingerprints(data: bytes | str) -> tuple[list[str], list[str]]:
    """(primary fingerprints, subkey fingerprints) of armored or binary key material."""
    keys = split_keyring(load_key_material(data))
    primaries = [k.fingerprint for k in keys if k.fingerprint]
    subkeys = [s for k in keys for s in k.subkey_fingerprints]
    return primaries, subkeys


def primary_fingerprints(data: bytes | str) -> list[str]:
    return fingerprints(data)[0]


def normalize_fingerprint(value: str) -> str:
    """'9DC8 5822 ...', '0x9dc8...' -> '9DC8...'; must be 40 (v4) or 64 (v5/v6) hex digits."""
    if not isinstance(value, str):
        raise ValueError(f"fingerprint must be a string, got {value!r}")
    s = "".join(value.split()).upper()
    if s.startswith("0X"):
        s = s[2:]
    if len(s) not in (40, 64) or not _HEX_RE.match(s):
        raise ValueError(
            f"invalid OpenPGP fingerprint {value!r}: expected 40 (v4) or 64 (v5/v6) hex digits "
            "(spaces and a 0x prefix are allowed; short or long key IDs are not accepted)"
        )
    return s


def describe_keys(keys: list[TransferableKey]) -> str:
    """One-line summary, e.g. for diffs of binary keyrings."""
    parts = []
    for k in keys:
        if k.fingerprint is None:
            continue
        uid = f" <{k.user_ids[0]}>" if k.user_ids else ""
        parts.append(f"{k.fingerprint}{uid}")
    return "OpenPGP binary keyring: " + (", ".join(parts) if parts else "no keys")


def remove_keys(keyring: bytes, fprs: list[str] | set[str]) -> tuple[bytes, list[str]]:
    """Drop the transferable keys whose primary fingerprint is in ``fprs``.

    Returns (new keyring bytes, removed primary fingerprints). Other keys (and any packet the
    parser cannot attribute) are kept byte for byte.
    """
    wanted = {normalize_fingerprint(f) for f in fprs}
    kept: list[bytes] = []
    removed: list[str] = []
    for key in split_keyring(keyring):
        if key.fingerprint and key.fingerprint in wanted:
            removed.append(key.fingerprint)
        else:
            kept.append(key.raw)
    return b"".join(kept), removed


# --------------------------------------------------------------------------- legacy key cleanup


@dataclass
class LegacyAction:
    path: str
    action: str  # "delete" (whole file) or "rewrite" (keys removed, others kept)
    removed: list[str]
    new_content: bytes | None = None

    def describe(self) -> list[str]:
        """Entries for the module's removed_legacy: a deleted file's path, or "path: fingerprint"."""
        if self.action == "delete":
            return [self.path]
        return [f"{self.path}: {f}" for f in self.removed]


def plan_whole_file_removal(path: str, data: bytes, accepted: set[str]) -> LegacyAction | None:
    """A trusted.gpg.d fragment is removed when ALL its primary keys are accepted (Docker's) keys."""
    try:
        keys = split_keyring(load_key_material(data))
    except OpenPGPError:
        return None
    primaries = [k.fingerprint for k in keys if k.fingerprint]
    if primaries and len(primaries) == len(keys) and all(f in accepted for f in primaries):
        return LegacyAction(path, "delete", primaries)
    return None


def plan_keyring_cleanup(path: str, data: bytes, accepted: set[str]) -> LegacyAction | None:
    """apt-key's trusted.gpg: remove accepted keys, keep the rest; delete the file when empty."""
    armored = is_armored(data[:4096])
    try:
        binary = load_key_material(data)
        new, removed = remove_keys(binary, accepted)
    except OpenPGPError:
        return None
    if not removed:
        return None
    if not new:
        return LegacyAction(path, "delete", removed)
    content = enarmor(new).encode("ascii") if armored else new
    return LegacyAction(path, "rewrite", removed, content)
