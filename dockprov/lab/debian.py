"""Fetch packages from Debian's archive with the archive's signatures checked.

The chain is the one apt uses: InRelease is verified with gpgv against Debian's archive keyring, the
Packages index is checked against the SHA256 listed there, and each .deb against the SHA256 in the index.
"""

from __future__ import annotations

import hashlib
import lzma
import re
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Packages

from ..aptindex import AptIndexError, index_sha256, verify_inrelease
from ..aptindex import download as _download

DEFAULT_ARCHIVE = "http://deb.debian.org/debian"
ARCHIVE_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
SOURCES_FILE = Path("/etc/apt/sources.list.d/debian.sources")


# A download or signature check against Debian's archive failed.
ArchiveError = AptIndexError


@dataclass(frozen=True)
class PackageRef:
    name: str
    version: str
    filename: str
    sha256: str
    suite: str


def archive_url(sources_file: Path = SOURCES_FILE) -> str:
    """The Debian mirror this machine's apt uses (first http(s) URI of debian.sources), else deb.debian.org."""
    try:
        text = sources_file.read_text()
    except OSError:
        return DEFAULT_ARCHIVE
    for match in re.finditer(r"^URIs:\s*(\S+)", text, re.MULTILINE):
        uri = match.group(1).rstrip("/")
        if not uri.endswith("-security"):
            return uri
    return DEFAULT_ARCHIVE


def parse_packages(text: str, suite: str) -> dict[str, PackageRef]:
    """Newest version of each package in a Packages index (the archive lists one per suite anyway)."""
    refs: dict[str, PackageRef] = {}
    for para in Packages.iter_paragraphs(text, use_apt_pkg=False):
        refs[para["Package"]] = PackageRef(
            name=para["Package"],
            version=para["Version"],
            filename=para["Filename"],
            sha256=para["SHA256"],
            suite=suite,
        )
    return refs


class Archive:
    """One Debian archive, with a download cache under cache_dir."""

    def __init__(self, cache_dir: Path, url: str | None = None, arch: str = "amd64") -> None:
        self.url = (url or archive_url()).rstrip("/")
        self.arch = arch
        self.cache_dir = cache_dir
        self._indexes: dict[str, dict[str, PackageRef]] = {}

    def index(self, suite: str) -> dict[str, PackageRef]:
        if suite not in self._indexes:
            release = verify_inrelease(_download(f"{self.url}/dists/{suite}/InRelease"), ARCHIVE_KEYRING)
            rel_path = f"main/binary-{self.arch}/Packages.xz"
            want = index_sha256(release, rel_path)
            data = _download(f"{self.url}/dists/{suite}/{rel_path}")
            if hashlib.sha256(data).hexdigest() != want:
                raise ArchiveError(f"{suite} {rel_path}: SHA256 mismatch")
            self._indexes[suite] = parse_packages(lzma.decompress(data).decode(), suite)
        return self._indexes[suite]

    def fetch(self, suite: str, package: str) -> tuple[PackageRef, Path]:
        """Download one package's .deb (cached by its SHA256) and return where it is."""
        try:
            ref = self.index(suite)[package]
        except KeyError as exc:
            raise ArchiveError(f"{package} is not in Debian {suite}") from exc
        dest = self.cache_dir / ref.sha256[:16] / Path(ref.filename).name
        if not dest.exists():
            data = _download(f"{self.url}/{ref.filename}", timeout=600)
            if hashlib.sha256(data).hexdigest() != ref.sha256:
                raise ArchiveError(f"{ref.filename}: SHA256 mismatch")
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(dest)
        return ref, dest
