"""Every official of the unit can log in at the desk, and so can the helpdesk."""

from __future__ import annotations

from typing import Any

from checks import expected
from checks.selection import Target


def test_every_official_has_an_account(host: Any, target: Target) -> None:
    missing = [name for name in target.officials if not host.user(name).exists]
    assert not missing, (
        f"{len(missing)} official(s) of {target.unit} have no account on {target.host}: "
        f"{', '.join(missing)}; re-run `{expected.RECONFIGURE.format(host=target.host)}`"
    )


def test_helpdesk_account(host: Any, target: Target) -> None:
    assert host.user(expected.HELPDESK_USER).exists, (
        f"the helpdesk account {expected.HELPDESK_USER} is missing on {target.host}: re-run "
        f"`{expected.RECONFIGURE.format(host=target.host)}`"
    )
