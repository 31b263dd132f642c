"""The desk has room for scans and downloaded forms."""

from __future__ import annotations

from typing import Any

from checks import expected, facts
from checks.selection import Target


def test_free_disk(host: Any, target: Target) -> None:
    free = facts.free_bytes(host.check_output("df -P -B1 %s", expected.DISK_PATH))
    need = expected.MIN_FREE_DISK_BYTES
    assert free >= need, (
        f"only {free / 1024**3:.1f} GiB free on {expected.DISK_PATH} of {target.host} "
        f"(needs {need / 1024**3:.1f} GiB): delete old scans/downloads or replace the disk"
    )
