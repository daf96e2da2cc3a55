"""dockprov_openpgp against real keys exported by GnuPG (tests/fixtures/keys)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _openpgp as pgp

KEYS = Path(__file__).resolve().parents[3] / "fixtures" / "keys"
FPRS = json.loads((KEYS / "fingerprints.json").read_text())
NAMES = ["rsa-test", "ed25519-test", "other-rsa-test"]


def armored(name: str) -> str:
    return (KEYS / f"{name}.asc").read_text()


def binary(name: str) -> bytes:
    return (KEYS / f"{name}.gpg").read_bytes()


def test_fixture_fingerprints_match_gpg_colons_output():
    colons = (KEYS / "colons.txt").read_text()
    for name in NAMES:
        assert f"fpr:::::::::{FPRS[name]['primary']}:" in colons
        for sub in FPRS[name]["subkeys"]:
            assert f"fpr:::::::::{sub}:" in colons


@pytest.mark.parametrize("name", NAMES)
def test_dearmor_equals_gpg_binary_export(name):
    assert pgp.dearmor(armored(name)) == binary(name)


@pytest.mark.parametrize("name", NAMES)
def test_enarmor_reproduces_gpg_armor_exactly(name):
    assert pgp.enarmor(binary(name)) == armored(name)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["asc", "gpg"])
def test_fingerprints_match_gpg(name, kind):
    data = armored(name) if kind == "asc" else binary(name)
    primaries, subkeys = pgp.fingerprints(data)
    assert primaries == [FPRS[name]["primary"]]
    assert subkeys == FPRS[name]["subkeys"]


def test_rsa_key_structure():
    keys = pgp.split_keyring(binary("rsa-test"))
    assert len(keys) == 1
    key = keys[0]
    assert key.version == 4
    assert key.user_ids == ["Dockprov Test RSA <rsa@dockprov.test>"]
    tags = [p.tag for p in key.packets]
    assert tags[0] == pgp.TAG_PUBLIC_KEY
    assert pgp.TAG_PUBLIC_SUBKEY in tags and pgp.TAG_SIGNATURE in tags
    assert key.raw == binary("rsa-test")


def test_crc_mismatch_is_detected():
    text = armored("ed25519-test")
    lines = text.splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.startswith("=") and len(ln) == 5)
    lines[idx] = "=AAAA" if lines[idx] != "=AAAA" else "=BBBB"
    with pytest.raises(pgp.OpenPGPError, match="CRC24 mismatch"):
        pgp.dearmor("\n".join(lines))


def test_corrupted_base64_body_fails_crc():
    text = armored("ed25519-test")
    lines = text.splitlines()
    # flip one base64 character of the body (line 2 is the first body line)
    body = lines[2]
    lines[2] = ("B" if body[10] != "B" else "C").join([body[:10], body[11:]])
    with pytest.raises(pgp.OpenPGPError):
        pgp.dearmor("\n".join(lines))


def test_dearmor_without_checksum_and_with_headers_and_crlf():
    lines = armored("rsa-test").splitlines()
    lines = [ln for ln in lines if not (ln.startswith("=") and len(ln) == 5)]
    lines.insert(1, "Comment: downloaded by hand")
    lines.insert(1, "Version: GnuPG v2")
    text = "\r\n".join(lines) + "\r\n"
    assert pgp.dearmor(text) == binary("rsa-test")


def test_dearmor_multiple_blocks_concatenates():
    text = "junk before\n" + armored("rsa-test") + "\n" + armored("ed25519-test")
    assert pgp.dearmor(text) == binary("rsa-test") + binary("ed25519-test")


@pytest.mark.parametrize(
    "text",
    ["no armor here", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n", "<html>404 Not Found</html>"],
)
def test_dearmor_rejects_garbage(text):
    with pytest.raises(pgp.OpenPGPError):
        pgp.dearmor(text)


def test_new_format_headers_give_same_fingerprints():
    """Re-encode every packet with new-format headers (1-, 2- and 5-byte lengths)."""
    packets = pgp.parse_packets(binary("rsa-test"))
    rebuilt = b"".join(pgp.encode_packet(p.tag, p.body, new_format=True) for p in packets)
    assert rebuilt != binary("rsa-test")
    assert pgp.fingerprints(rebuilt) == pgp.fingerprints(binary("rsa-test"))
    # a 5-byte length header
    body = packets[0].body
    five = bytes([0xC0 | 6, 0xFF]) + len(body).to_bytes(4, "big") + body
    assert pgp.key_fingerprint(pgp.parse_packets(five)[0].body) == FPRS["rsa-test"]["primary"]


def test_old_format_length_types():
    body = b"\x04" + b"x" * 300
    for hdr in (
        bytes([0x80 | (14 << 2) | 1]) + (300 + 1).to_bytes(2, "big"),
        bytes([0x80 | (14 << 2) | 2]) + (300 + 1).to_bytes(4, "big"),
    ):
        pkts = pgp.parse_packets(hdr + body)
        assert len(pkts) == 1 and pkts[0].tag == 14 and pkts[0].body == body
    one = pgp.parse_packets(bytes([0x80 | (13 << 2), 3]) + b"abc")
    assert one[0].tag == 13 and one[0].body == b"abc"


def test_partial_body_lengths():
    data = bytes([0xC0 | 11, 0xE1]) + b"ab" + bytes([0x03]) + b"cde"  # 2-byte partial chunk, then 3 bytes
    pkts = pgp.parse_packets(data)
    assert pkts[0].body == b"abcde" and pkts[0].raw == data


def test_truncated_packet_and_bad_header():
    data = binary("ed25519-test")
    with pytest.raises(pgp.OpenPGPError, match="truncated"):
        pgp.parse_packets(data[:-5])
    with pytest.raises(pgp.OpenPGPError, match="not an OpenPGP packet"):
        pgp.parse_packets(b"\x00\x01\x02")


def test_v4_fingerprint_formula_and_v6():
    body = pgp.parse_packets(binary("ed25519-test"))[0].body
    import hashlib

    assert pgp.key_fingerprint(body) == hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    v6body = b"\x06" + body[1:]
    expected = hashlib.sha256(b"\x9b" + len(v6body).to_bytes(4, "big") + v6body).hexdigest().upper()
    assert pgp.key_fingerprint(v6body) == expected and len(expected) == 64
    assert pgp.key_fingerprint(b"\x03" + body[1:]) is None


@pytest.mark.parametrize(
    "value",
    [
        "9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88",
        "0x9dc858229fc7dd38854ae2d88d81803c0ebfcd88",
        "9DC858229FC7DD38854AE2D88D81803C0EBFCD88",
    ],
)
def test_normalize_fingerprint(value):
    assert pgp.normalize_fingerprint(value) == pgp.DOCKER_FINGERPRINT


@pytest.mark.parametrize("value", ["0EBFCD88", "8D81803C0EBFCD88", "XYZ858229FC7DD38854AE2D88D81803C0EBFCD88", ""])
def test_normalize_fingerprint_rejects(value):
    with pytest.raises(ValueError) as info:
        pgp.normalize_fingerprint(value)
    assert repr(value) in str(info.value)


def test_normalize_accepts_64_hex():
    assert pgp.normalize_fingerprint("ab" * 32) == "AB" * 32


def test_docker_fingerprint_constant():
    assert pgp.DOCKER_FINGERPRINT == "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"


def test_split_keyring_of_three_keys():
    ring = binary("rsa-test") + binary("ed25519-test") + binary("other-rsa-test")
    keys = pgp.split_keyring(ring)
    assert [k.fingerprint for k in keys] == [FPRS[n]["primary"] for n in NAMES]
    assert [k.raw for k in keys] == [binary(n) for n in NAMES]


def test_remove_keys_keeps_others_byte_for_byte():
    ring = binary("rsa-test") + binary("ed25519-test") + binary("other-rsa-test")
    new, removed = pgp.remove_keys(ring, [FPRS["ed25519-test"]["primary"].lower()])
    assert removed == [FPRS["ed25519-test"]["primary"]]
    assert new == binary("rsa-test") + binary("other-rsa-test")
    assert pgp.fingerprints(new)[0] == [FPRS["rsa-test"]["primary"], FPRS["other-rsa-test"]["primary"]]


def test_remove_keys_by_subkey_fingerprint_removes_nothing():
    ring = binary("rsa-test")
    new, removed = pgp.remove_keys(ring, FPRS["rsa-test"]["subkeys"])
    assert removed == [] and new == ring


def test_remove_all_keys_gives_empty():
    new, removed = pgp.remove_keys(binary("rsa-test"), [FPRS["rsa-test"]["primary"]])
    assert new == b"" and removed == [FPRS["rsa-test"]["primary"]]


def test_trust_packets_stay_with_their_key():
    trust = bytes([0x80 | (12 << 2), 2, 0, 0])  # old keyring format trust packet
    ring = binary("rsa-test") + trust + binary("other-rsa-test") + trust
    new, _ = pgp.remove_keys(ring, [FPRS["rsa-test"]["primary"]])
    assert new == binary("other-rsa-test") + trust


def test_keybox_is_rejected_clearly():
    kbx = b"\x00\x00\x00\x20\x01\x01\x00\x00KBXf" + b"\x00" * 20
    with pytest.raises(pgp.OpenPGPError, match="keybox"):
        pgp.load_key_material(kbx)


def test_plan_whole_file_removal():
    accepted = {FPRS["rsa-test"]["primary"]}
    action = pgp.plan_whole_file_removal("/x/docker.gpg", binary("rsa-test"), accepted)
    assert action is not None and action.action == "delete"
    assert pgp.plan_whole_file_removal("/x/mixed.gpg", binary("rsa-test") + binary("ed25519-test"), accepted) is None
    assert pgp.plan_whole_file_removal("/x/garbage.gpg", b"\x00garbage", accepted) is None


def test_plan_keyring_cleanup_armored_stays_armored():
    ring = pgp.enarmor(binary("rsa-test") + binary("ed25519-test")).encode()
    action = pgp.plan_keyring_cleanup("/etc/apt/trusted.gpg", ring, {FPRS["rsa-test"]["primary"]})
    assert action is not None and action.action == "rewrite"
    assert action.new_content == pgp.enarmor(binary("ed25519-test")).encode()
    assert action.describe() == [f"/etc/apt/trusted.gpg: {FPRS['rsa-test']['primary']}"]


def test_describe_keys():
    text = pgp.describe_keys(pgp.split_keyring(binary("ed25519-test")))
    assert FPRS["ed25519-test"]["primary"] in text and "ed@dockprov.test" in text
