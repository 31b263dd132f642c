"""One `/bin/sh` kept open per host and fed command after command: what the kept-shell
backends (`docker://` in checks/dockershell.py, `ssh://` in checks/sshshell.py) share.

testinfra starts a new process on the host for every command (`docker exec`, or an ssh
session). A go-live run makes thousands of commands, and each fresh session costs far
more than the command it runs: engine and runc work in the lab, a channel set-up of one
or two network round trips over a district's link. A kept shell pays that once per host;
each command still runs as `/bin/sh -c <command>` with stdin from /dev/null, so hosts
answer exactly as before (same environment, exit codes, stdout and stderr).
"""

from __future__ import annotations

import secrets
import shlex
import threading
from collections.abc import Callable, Hashable

from dvc_rollout.errors import EnvironmentProblem

# A command that gives no answer in this time is abandoned with its shell.
COMMAND_TIMEOUT = 300.0
STDOUT, STDERR = 1, 2


class ShellLost(EnvironmentProblem):
    """The host's shell closed or went silent; the command's result is unknown."""

    def __init__(self, reason: str, may_have_run: bool):
        super().__init__(reason)
        self.may_have_run = may_have_run  # so it must not be sent again


class KeptShell:
    """A shell reading commands on its stdin; subclasses carry the bytes.

    Each command is framed by a random token: after it, the shell prints the token and
    the exit code on stdout and the token on stderr, so both streams end at a known mark
    whatever the command printed (with or without a final newline).
    """

    # The shell each command runs in (`<runner> -c <command>`), as the host's own
    # per-command sessions would run it.
    runner = "/bin/sh"

    def __init__(self, timeout: float = COMMAND_TIMEOUT):
        self.timeout = timeout
        self._answered = False  # the shell has sent something for the current command
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        """Write to the shell's stdin."""
        raise NotImplementedError

    def frame(self) -> tuple[int, bytes]:
        """The next (STDOUT or STDERR, bytes) from the shell; TimeoutError after
        `self.timeout` of silence, ShellLost when its output ends."""
        raise NotImplementedError

    def close(self) -> None:
        """End the shell (closing its stdin is enough: it exits on end of input)."""
        raise NotImplementedError

    def run(self, command: str) -> tuple[int, bytes, bytes]:
        """(exit code, stdout, stderr) of `<runner> -c command` run on the host."""
        token = secrets.token_hex(12)
        script = (
            f"{self.runner} -c {shlex.quote(command)} </dev/null; "
            f"printf '\\n{token} %d\\n' $?; printf '\\n{token}\\n' >&2\n"
        )
        with self._lock:
            self._answered = False
            try:
                self.send(script.encode())
                return self._collect(token.encode())
            except TimeoutError as exc:
                raise ShellLost(f"no answer within {self.timeout} s", True) from exc
            except OSError as exc:  # reset, broken pipe
                raise ShellLost(str(exc) or type(exc).__name__, self._answered) from exc

    def _collect(self, token: bytes) -> tuple[int, bytes, bytes]:
        out, err = bytearray(), bytearray()
        out_mark, err_end = b"\n" + token + b" ", b"\n" + token + b"\n"
        rc: int | None = None
        err_done = False
        while rc is None or not err_done:
            stream, data = self.frame()
            self._answered = True
            if stream == STDOUT:
                out += data
                rc = _exit_code(out, out_mark)
            elif stream == STDERR:
                err += data
                err_done = err.endswith(err_end)
        stdout = bytes(out[: out.rindex(out_mark)])
        stderr = bytes(err[: len(err) - len(err_end)])
        return rc, stdout, stderr


def _exit_code(out: bytearray, mark: bytes) -> int | None:
    """The exit code if `out` ends with `mark`, digits and a newline; else None (not yet)."""
    if not out.endswith(b"\n"):
        return None
    at = out.rfind(mark, max(0, len(out) - len(mark) - 8))
    digits = out[at + len(mark) : -1] if at >= 0 else b""
    return int(digits) if digits.isdigit() else None


class Shells:
    """The kept shells of one process, one per key (host and user)."""

    def __init__(self) -> None:
        self._open: dict[Hashable, KeptShell] = {}

    def run(
        self, key: Hashable, opener: Callable[[], KeptShell], command: str
    ) -> tuple[int, bytes, bytes]:
        """Run through the key's shell, opening a new one once if the old one is gone.

        A shell can die between commands (the container restarted, the link dropped): a
        command whose old shell gave nothing back before closing is sent once more, to a
        new shell; one that timed out or printed something is not.
        """
        shell = self._open.get(key)
        if shell is not None:
            try:
                return shell.run(command)
            except ShellLost as lost:
                self.drop(key)
                if lost.may_have_run:
                    raise
        shell = self._open[key] = opener()
        try:
            return shell.run(command)
        except ShellLost:
            self.drop(key)
            raise

    def drop(self, key: Hashable) -> None:
        shell = self._open.pop(key, None)
        if shell is not None:
            shell.close()

    def close_all(self) -> None:
        for key in list(self._open):
            self.drop(key)
