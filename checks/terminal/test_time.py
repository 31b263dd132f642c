"""The desk's clock is right: dossiers and receipts carry its time."""

from __future__ import annotations

from typing import Any

from checks import expected, facts
from checks.selection import Target


def _fix(target: Target) -> str:
    return f"re-run `{expected.RECONFIGURE.format(host=target.host)}`"


def test_time_synchronised(host: Any, target: Target) -> None:
    # One `ps` answers both questions: is chronyd there, and is it suspended (state T)?
    states = host.run("ps -o stat= -C %s", expected.CHRONY_DAEMON).stdout.split()
    if not states:
        raise AssertionError(
            f"time sync is stopped on {target.host} ({expected.CHRONY_DAEMON} is not running): "
            f"start it (`service chrony start`) or {_fix(target)}"
        )
    if all(state.startswith("T") for state in states):
        raise AssertionError(
            f"time sync is stopped on {target.host} ({expected.CHRONY_DAEMON} is suspended): "
            f"resume it (`pkill -CONT {expected.CHRONY_DAEMON}`) or restart it"
        )
    tracking = host.run("chronyc -n tracking")
    reason = (tracking.stderr or tracking.stdout).strip()
    assert tracking.rc == 0, (
        f"{expected.CHRONY_DAEMON} on {target.host} does not answer ({reason}): "
        f"restart it or {_fix(target)}"
    )
    state = facts.chrony_tracking(tracking.stdout)
    assert state.synchronised, (
        f"the clock of {target.host} is not synchronised (leap status "
        f"{state.leap_status or 'unknown'}, stratum {state.stratum}): check the PC reaches "
        f"the time server {target.ntp_server or '(see chrony.conf)'} with `chronyc sources`, "
        "then `chronyc burst 4/4`"
    )
    assert abs(state.offset_seconds) <= expected.MAX_TIME_OFFSET_SECONDS, (
        f"the clock of {target.host} is {state.offset_seconds:+.3f}s off: wait for chrony "
        f"to converge or run `chronyc makestep`"
    )
