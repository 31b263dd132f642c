"""The desk's clock is right: dossiers and receipts carry its time."""

from __future__ import annotations

from typing import Any

from checks import expected, facts
from checks.selection import Target


def test_time_synchronised(host: Any, target: Target) -> None:
    if not host.process.filter(comm=expected.CHRONY_DAEMON):
        raise AssertionError(
            f"time sync is stopped on {target.host} ({expected.CHRONY_DAEMON} is not running): "
            f"start it (`service chrony start`) or re-run "
            f"`{expected.RECONFIGURE.format(host=target.host)}`"
        )
    tracking = facts.chrony_tracking(host.run("chronyc -n tracking").stdout)
    assert tracking.synchronised, (
        f"the clock of {target.host} is not synchronised (leap status "
        f"{tracking.leap_status or 'unknown'}, stratum {tracking.stratum}): check the PC "
        f"reaches the time server {target.ntp_server or '(see chrony.conf)'} with "
        f"`chronyc sources`"
    )
    assert abs(tracking.offset_seconds) <= expected.MAX_TIME_OFFSET_SECONDS, (
        f"the clock of {target.host} is {tracking.offset_seconds:+.3f}s off: wait for chrony "
        f"to converge or run `chronyc makestep`"
    )
