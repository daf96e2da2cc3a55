"""Read apt repositories the way apt does: InRelease checked with gpgv, index files against the SHA256 that
the signed Release lists, packages against the SHA256 in the index.

Used by `dockprov bundle` (Docker's repo and the distro's archive) and by the lab (Debian's archive).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from debian.deb822 import Packages, PkgRelation, Release

# The compressions apt understands, in the order it prefers them.
DECOMPRESS = {".xz": lzma.decompress, ".gz": gzip.decompress, ".bz2": bz2.decompress, "": lambda data: data}


class AptIndexError(RuntimeError):
    """A download, a signature or a checksum did not hold."""


def download(url: str, timeout: int = 120) -> bytes:
    """GET ``url`` (http, https or file) and return its body."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (apt mirrors are http by design)
            return response.read()
    except OSError as exc:
        raise AptIndexError(f"cannot download {url}: {exc}") from exc


def verify_inrelease(data: bytes, keyring: Path) -> bytes:
    """Check an InRelease file's clearsigned signature with gpgv against ``keyring``; return the signed text."""
    with tempfile.TemporaryDirectory() as tmp:
        signed = Path(tmp, "InRelease")
        signed.write_bytes(data)
        out = Path(tmp, "Release")
        proc = subprocess.run(["gpgv", "--keyring", str(keyring), "--output", str(out), str(signed)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise AptIndexError(f"InRelease signature check failed: {proc.stderr.strip()}")
        return out.read_bytes()


def release_files(release_text: bytes) -> dict[str, tuple[str, int]]:
    """{path: (sha256, size)} of every file a Release lists."""
    release = Release(release_text.decode())
    return {entry["name"]: (entry["sha256"], int(entry["size"])) for entry in release.get("SHA256", [])}


def index_sha256(release_text: bytes, path: str) -> str:
    """The SHA256 a Release file lists for one index path (e.g. main/binary-amd64/Packages.xz)."""
    try:
        return release_files(release_text)[path][0]
    except KeyError:
        raise AptIndexError(f"{path} is not listed in Release") from None


def check_sha256(data: bytes, want: str, what: str) -> bytes:
    if hashlib.sha256(data).hexdigest() != want:
        raise AptIndexError(f"{what}: SHA256 mismatch (the mirror's copy is not the signed one)")
    return data


@dataclass(frozen=True)
class Deb:
    """One package version of an index."""

    name: str
    version: str
    filename: str
    sha256: str
    size: int
    depends: tuple[tuple[str, ...], ...]  # AND of ORs, names only (Pre-Depends and Depends)
    provides: tuple[str, ...] = ()
    recommends: tuple[tuple[str, ...], ...] = ()
    priority: str = ""
    essential: bool = False


def _names(relations: list[list[dict]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(alt["name"] for alt in group) for group in relations)


def _relations(para: Packages, field_name: str) -> list[list[dict]]:
    value = para.get(field_name, "").strip()
    return PkgRelation.parse_relations(value) if value else []


def parse_packages(text: str) -> list[Deb]:
    """Every paragraph of a Packages index (Docker's lists many versions of each package)."""
    debs = []
    for para in Packages.iter_paragraphs(text, use_apt_pkg=False):
        depends = _relations(para, "Pre-Depends") + _relations(para, "Depends")
        provides = tuple(alt["name"] for group in _relations(para, "Provides") for alt in group)
        debs.append(Deb(para["Package"], para["Version"], para["Filename"], para["SHA256"], int(para["Size"]),
                        _names(depends), provides, _names(_relations(para, "Recommends")),
                        para.get("Priority", ""), para.get("Essential", "") == "yes"))
    return debs


@dataclass
class Index:
    """A signed dist of one apt repository: its Release text and the Packages of one component and arch."""

    base: str  # the URL the dist's paths are relative to (Filename fields too)
    dist: str  # dists/<suite>
    component: str
    arch: str
    inrelease: bytes = b""
    release: bytes = b""
    index_files: dict[str, bytes] = field(default_factory=dict)  # path under dist -> verified bytes
    debs: list[Deb] = field(default_factory=list)

    @classmethod
    def fetch(cls, base: str, suite: str, component: str, arch: str, keyring: Path) -> Index:
        """dists/<suite>/<component>/binary-<arch>/ of a repository (Docker's, a distro's)."""
        return cls._fetch(cls(base.rstrip("/"), f"dists/{suite}", component, arch), keyring,
                          f"{component}/binary-{arch}/Packages")

    @classmethod
    def fetch_flat(cls, base: str, arch: str, keyring: Path) -> Index:
        """A flat repository (``deb <base> /``: InRelease and Packages next to the .debs), e.g. NVIDIA's."""
        return cls._fetch(cls(base.rstrip("/"), "", "", arch), keyring, "Packages")

    @classmethod
    def _fetch(cls, index: Index, keyring: Path, stem: str) -> Index:
        index.inrelease = download(f"{index.url}/InRelease")
        index.release = verify_inrelease(index.inrelease, keyring)
        listed = release_files(index.release)
        for suffix in DECOMPRESS:  # every compression the Release lists and the mirror has: apt picks one
            path = stem + suffix
            if path not in listed:
                continue
            try:
                data = download(f"{index.url}/{path}")
            except AptIndexError:
                continue  # listed but not served: apt falls back to another compression, and so do we
            index.index_files[path] = check_sha256(data, listed[path][0], f"{index.url}/{path}")
            if not index.debs:
                index.debs = parse_packages(DECOMPRESS[suffix](data).decode())
        if not index.index_files:
            raise AptIndexError(f"{index.url}: Release lists no {stem} the mirror serves")
        return index

    @property
    def url(self) -> str:
        return f"{self.base}/{self.dist}" if self.dist else self.base

    def newest(self) -> dict[str, Deb]:
        """The newest version of each package (apt's candidate)."""
        from debian.debian_support import Version

        best: dict[str, Deb] = {}
        for deb in self.debs:
            if deb.name not in best or Version(deb.version) > Version(best[deb.name].version):
                best[deb.name] = deb
        return best


def fetch_deb(base: str, deb: Deb, dest: Path) -> Path:
    """Download one .deb to ``dest`` (kept when its SHA256 already matches), checked against the index."""
    if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() == deb.sha256:
        return dest
    data = check_sha256(download(f"{base.rstrip('/')}/{deb.filename}", timeout=600), deb.sha256, deb.filename)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.write_bytes(data)
    part.replace(dest)
    return dest
