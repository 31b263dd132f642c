"""Each data-center service listens where it should and nowhere else."""

from __future__ import annotations

import ipaddress
from typing import Any

from checks import expected, facts
from checks.selection import Target


def _listening(host: Any) -> dict[int, set[str]]:
    tables = [host.file(p) for p in ("/proc/net/tcp", "/proc/net/tcp6")]
    return facts.listening_ports(*(t.content_string for t in tables if t.exists))


def test_listens_on_its_ports(host: Any, target: Target) -> None:
    missing = sorted(expected.REQUIRED_LISTENERS[target.role] - set(_listening(host)))
    assert not missing, (
        f"{target.role} on {target.expected_hostname} does not listen on TCP {missing}: check the "
        f"service is running (`docker logs` / `journalctl`) and re-run the configure step"
    )


def test_listens_nowhere_else(host: Any, target: Target) -> None:
    allowed = expected.LISTENERS[target.role]
    extra = {
        port: sorted(addresses)
        for port, addresses in _listening(host).items()
        if port not in allowed and not all(ipaddress.ip_address(a).is_loopback for a in addresses)
    }
    assert not extra, (
        f"{target.role} on {target.expected_hostname} also listens on {extra}: close those "
        f"ports or declare them in checks/expected.py LISTENERS if they are intended"
    )


def test_reachable_only_on_its_networks(host: Any, target: Target) -> None:
    subnets = [ipaddress.ip_network(s) for s in target.facts.get("subnets", [])]
    if not subnets:
        return  # no network plan given for this role: nothing to compare against
    addresses = facts.local_addresses(host.file("/proc/net/fib_trie").content_string)
    stray = sorted(
        a
        for a in addresses
        if not ipaddress.ip_address(a).is_loopback
        and not any(ipaddress.ip_address(a) in net for net in subnets)
    )
    assert not stray, (
        f"{target.role} on {target.expected_hostname} has addresses {stray} outside its networks "
        f"{[str(n) for n in subnets]}: detach it from the other networks"
    )
