"""Whether a host answers at all, asked once so its checks can say so plainly."""

from __future__ import annotations

from typing import Any

from dvc_rollout.errors import EnvironmentProblem


class HostUnreachable(EnvironmentProblem):
    """The host did not answer, so none of its checks could be made."""


def silence(host: Any) -> str:
    """Why the host cannot run a command, or "" if it can."""
    try:
        answer = host.run("true")
    except Exception as exc:  # every backend has its own way of failing to connect
        # testinfra's ssh backend raises with the whole command result: ssh's own words
        # (e.g. "Permission denied (publickey)") are in its stderr.
        result = exc.args[0] if exc.args else None
        stderr = getattr(result, "stderr", None)
        text = stderr if isinstance(stderr, str) and stderr.strip() else str(exc)
        return text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
    if answer.rc == 0:
        return ""
    return (answer.stderr or answer.stdout).strip().splitlines()[-1] or f"exit {answer.rc}"


_SILENCE: dict[str, str] = {}
_FILES: dict[tuple[str, str], str | None] = {}


def cached_silence(key: str, host: Any) -> str:
    """`silence` asked once per host per worker: every check of the host shares the answer."""
    if key not in _SILENCE:
        _SILENCE[key] = silence(host)
    return _SILENCE[key]


def read_file(key: str, host: Any, path: str) -> str | None:
    """A small text file's content (None if unreadable), read once per host per worker."""
    if (key, path) not in _FILES:
        answer = host.run("cat -- %s", path)
        _FILES[(key, path)] = answer.stdout if answer.rc == 0 else None
    return _FILES[(key, path)]
