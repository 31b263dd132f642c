"""Kannel can deliver SMS notices: every SMSC link is online."""

from __future__ import annotations

from typing import Any

from checks import expected, facts
from checks.selection import Target

ROLES = ("kannel",)


def test_smscs_online(host: Any, target: Target) -> None:
    port, password = facts.kannel_status_access(host.file(expected.KANNEL_CONFIG).content_string)
    url = f"http://127.0.0.1:{port}/status.xml?password={password}"
    status = host.run("curl -fsS --max-time 10 %s", url)
    assert status.rc == 0, (
        f"Kannel's status page does not answer on {target.expected_hostname}: is bearerbox "
        f"running? ({status.stderr.strip()})"
    )
    smscs = facts.kannel_smscs(status.stdout)
    offline = {name: state for name, state in smscs.items() if state != "online"}
    assert smscs and not offline, (
        f"Kannel SMSC link(s) not online on {target.expected_hostname}: "
        f"{offline or 'none configured'}; check the operator's SMSC and the link settings "
        f"in {expected.KANNEL_CONFIG}"
    )
