"""The desk can scan citizens' papers: SANE finds a scanner."""

from __future__ import annotations

from typing import Any

from checks import expected
from checks.selection import Target


def test_scanner_listed(host: Any, target: Target) -> None:
    listing = host.run("scanimage -L")
    assert "device `" in listing.stdout, (
        f"SANE finds no scanner on {target.host} (`scanimage -L`: "
        f"{(listing.stdout or listing.stderr).strip()[:120]!r}): check the scanner is plugged "
        f"in and switched on, and its backend is enabled in {expected.SANE_CONFIG}, or re-run "
        f"`{expected.RECONFIGURE.format(host=target.host)}`"
    )
