"""Whether a host answers at all, asked once so its checks can say so plainly."""

from __future__ import annotations

from typing import Any


class HostUnreachable(Exception):
    """The host did not answer, so none of its checks could be made."""


def silence(host: Any) -> str:
    """Why the host cannot run a command, or "" if it can."""
    try:
        answer = host.run("true")
    except Exception as exc:  # every backend has its own way of failing to connect
        return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    if answer.rc == 0:
        return ""
    return (answer.stderr or answer.stdout).strip().splitlines()[-1] or f"exit {answer.rc}"
