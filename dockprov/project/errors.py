"""One finding of `dockprov validate` or the fleet-file loader: file, key, what is wrong, how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    file: str
    key: str
    problem: str
    fix: str
    severity: str = "error"  # or "warning": reported, but does not fail the command

    def __str__(self) -> str:
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}: {self.key}: {label}{self.problem}. Fix: {self.fix}"


class FleetError(Exception):
    """Raised with every finding at once, so a user fixes a file in one pass."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("\n".join(str(f) for f in findings))
        self.findings = findings


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The most similar candidate, or None when nothing is close enough to be a likely typo."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'did you mean X?' plus the full list, as the fix part of a message about an unknown name."""
    options = sorted(candidates)
    guess = closest(name, options)
    listing = ", ".join(options)
    return f"did you mean '{guess}'? Known: {listing}" if guess else f"use one of: {listing}"
