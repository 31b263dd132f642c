"""What a report says beyond the decision: when it was made, what changed, who approved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from checks.results import Approval


@dataclass(frozen=True)
class Change:
    """A site whose verdict differs from the previous sign-off of the same phase and estate."""

    site: str
    name: str
    district: str
    before: str  # GO, NO-GO, or "—" when the site was not judged then
    after: str


@dataclass(frozen=True)
class Previous:
    """The previous sign-off report of the same phase and estate, and what changed since."""

    name: str
    generated_at: str
    verdict: str
    evidence_sha256: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class ReportMeta:
    generated_at: datetime
    previous: Previous | None = None
    approvals: tuple[Approval, ...] = ()
    # The report this one re-issues with its approvals (None for a new sign-off).
    approves: str | None = None
