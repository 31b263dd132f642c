"""The PC at the desk answers and is the one the inventory names."""

from __future__ import annotations

from typing import Any

from checks import expected
from checks.hosts import cached_silence
from checks.selection import Target


def test_answers(any_host: Any, target: Target) -> None:
    reason = cached_silence(target.uri, any_host)
    assert not reason, (
        f"PC {target.host} of {target.site_name} does not answer ({reason}): check it is "
        f"switched on and connected{_ssh_hint(target)}, then re-check"
    )


def _ssh_hint(target: Target) -> str:
    """Over ssh the PC may answer but refuse the check account's key."""
    if not target.uri.startswith("ssh://"):
        return ""
    return (
        f"; if ssh refused the key, authorise it with "
        f"`{expected.RECONFIGURE.format(host=target.host)}`"
    )


def test_is_the_inventory_host(host: Any, target: Target) -> None:
    name = host.check_output("hostname")
    assert name == target.expected_hostname, (
        f"the PC reached as {target.host} calls itself {name!r}, the inventory expects "
        f"{target.expected_hostname!r}: check the PC's cable/address or rename it"
    )
