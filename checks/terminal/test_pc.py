"""The PC at the desk answers and is the one the inventory names."""

from __future__ import annotations

from typing import Any

from checks.hosts import cached_silence
from checks.selection import Target


def test_answers(any_host: Any, target: Target) -> None:
    reason = cached_silence(target.uri, any_host)
    assert not reason, (
        f"PC {target.host} of {target.site_name} does not answer ({reason}): check it is "
        f"switched on and connected, then re-check"
    )


def test_is_the_inventory_host(host: Any, target: Target) -> None:
    name = host.check_output("hostname")
    assert name == target.expected_hostname, (
        f"the PC reached as {target.host} calls itself {name!r}, the inventory expects "
        f"{target.expected_hostname!r}: check the PC's cable/address or rename it"
    )
