"""testinfra's `ssh://` backend, through one shell kept open on each host.

testinfra's own ssh backend starts an `ssh` client (through `/bin/sh`) for every command,
and every command opens a new session on the host: one or two round trips over the
site's link, plus a client and a server-side login each time, even when a ControlMaster
shares the connection. This backend runs one `ssh <host> /bin/sh` per host (and user),
with the same options testinfra would pass, and feeds it the commands, each run by the
user's login shell as sshd would (checks/keptshell.py): one round trip per command. A
host that cannot be reached raises what testinfra's raises (RuntimeError holding a
result with exit 255 and ssh's own message), so the checks' `pc.answers` reads it the
same way. `install()` swaps it in for the check session; password logins
(`ssh://user:pw@host`) keep testinfra's backend.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shlex
import subprocess
from collections.abc import Sequence
from typing import Any

from testinfra.backend import BACKENDS, base
from testinfra.backend.ssh import SshBackend

from checks.keptshell import COMMAND_TIMEOUT, STDERR, STDOUT, KeptShell, ShellLost, Shells

_READ = 65536


class SshShell(KeptShell):
    """`ssh <options> <host> /bin/sh`: the shell's stdin and output are the client's pipes."""

    # sshd runs a command with the user's login shell ($SHELL), called by its bare name
    # (`bash -c …`, so its messages read "bash: …"); set once when the shell starts.
    runner = '"$dvc_login_shell"'
    _PROLOGUE = (
        b'dvc_login_shell="${SHELL:-/bin/sh}"; '
        b'command -v "${dvc_login_shell##*/}" >/dev/null 2>&1 '
        b'&& dvc_login_shell="${dvc_login_shell##*/}"\n'
    )

    def __init__(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT):
        super().__init__(timeout)
        self._proc = subprocess.Popen(
            [*argv, "/bin/sh"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self._stdin = self._proc.stdin
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._proc.stdout, selectors.EVENT_READ, STDOUT)
        self._selector.register(self._proc.stderr, selectors.EVENT_READ, STDERR)
        self._last_stderr = b""  # ssh's own complaint, if it gives up
        self.send(self._PROLOGUE)

    def send(self, data: bytes) -> None:
        self._stdin.write(data)

    def frame(self) -> tuple[int, bytes]:
        while self._selector.get_map():
            events = self._selector.select(self.timeout)
            if not events:
                raise TimeoutError
            for key, _ in events:
                data = os.read(key.fd, _READ)
                if data:
                    if key.data == STDERR:
                        self._last_stderr = data
                    return key.data, data
                self._selector.unregister(key.fileobj)
        raise ShellLost(self._why_closed(), self._answered)

    def _why_closed(self) -> str:
        """ssh's last words (e.g. `Permission denied (publickey).`) or its exit status."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        lines = self._last_stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"ssh exited with status {self._proc.returncode}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()  # the shell reads end of input and exits, then ssh does
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        self._selector.close()


_SHELLS = Shells()


class SshShellBackend(SshBackend):  # type: ignore[misc]
    """Same host spec, options and results as testinfra's SshBackend."""

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        if self.host.password:  # sshpass needs the per-command client
            return super().run(command, *args, **kwargs)
        cmd = self.get_command(command, *args)
        try:
            argv = self.argv()
            rc, stdout, stderr = _SHELLS.run(argv, lambda: SshShell(argv), cmd)
        except ShellLost as lost:
            failed = self.result(255, self.encode(cmd), b"", f"{self.host.name}: {lost}")
            raise RuntimeError(failed) from None
        return self.result(rc, self.encode(cmd), stdout, stderr)

    def argv(self) -> tuple[str, ...]:
        """The ssh client's arguments up to the remote command, as testinfra builds them.

        No ControlMaster: the kept shell is the one long connection, and a master would
        outlive the run.
        """
        argv = ["ssh"]
        if self.ssh_extra_args:
            argv += shlex.split(self.ssh_extra_args)
        if self.ssh_config:
            argv += ["-F", self.ssh_config]
        if self.host.user:
            argv += ["-o", f"User={self.host.user}"]
        if self.host.port:
            argv += ["-o", f"Port={self.host.port}"]
        if self.ssh_identity_file:
            argv += ["-i", self.ssh_identity_file]
        if "connecttimeout" not in (self.ssh_extra_args or "").lower():
            argv += ["-o", f"ConnectTimeout={self.timeout}"]
        argv += ["-o", "ControlMaster=no", "-o", "ControlPath=none", "-T", self.host.name]
        return tuple(argv)


def close_all() -> None:
    """Close every open shell (each exits on end of input, and its ssh client with it)."""
    _SHELLS.close_all()


def install() -> None:
    """Make `ssh://` host specs use the shell-per-host backend in this process."""
    BACKENDS["ssh"] = f"{__name__}.SshShellBackend"
