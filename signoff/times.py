"""Times as the board reads them: Hanoi time, with its zone written out (UTC+7)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

HANOI = timezone(timedelta(hours=7), "ICT")


def hanoi(moment: datetime) -> str:
    """`2017-08-14 17:00:00 (UTC+7)`: to the second, in Hanoi, the zone never left out."""
    return f"{moment.astimezone(HANOI):%Y-%m-%d %H:%M:%S} (UTC+7)"


def hanoi_iso(iso: str) -> str:
    """An ISO 8601 time as stored (UTC) -> `hanoi()` text."""
    return hanoi(datetime.fromisoformat(iso))
