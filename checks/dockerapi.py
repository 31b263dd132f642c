"""testinfra's `docker://` backend, through one shell kept open in each container.

testinfra's own docker backend starts a `docker exec` CLI process for every command, and
every exec makes the engine start a new process in the container through runc: a go-live
run makes thousands of them, and each costs far more CPU than the command it runs. This
backend opens one `/bin/sh` per container (and user) through the Engine API (spoken
directly over the engine's socket: no client library to import in every worker) and feeds it
the commands: each still runs as `/bin/sh -c <command>` with stdin from /dev/null, so
`docker://` hosts behave exactly as before (same environment, exit codes, stdout and
stderr), for a fraction of the CPU. `install()` swaps it in for the check session.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shlex
import socket
import struct
import threading
from typing import Any
from urllib.parse import quote

from testinfra.backend import BACKENDS, base
from testinfra.backend.docker import DockerBackend

# A command that gives no answer in this time is abandoned with its shell.
COMMAND_TIMEOUT = 300.0
_STDOUT, _STDERR = 1, 2
ENGINE_API = "/v1.41"  # Docker 20.10, the oldest engine the lab supports


class EngineError(Exception):
    """The Docker engine refused a request; the text is the engine's own message."""


def _engine_socket() -> socket.socket:
    """A new connection to the engine `$DOCKER_HOST` names (unix socket or plain TCP)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(host[len("unix://") :])
        return sock
    if host.startswith("tcp://"):
        address, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
        return socket.create_connection((address, int(port)))
    raise EngineError(f"DOCKER_HOST={host}: only unix:// and tcp:// engines are supported here")


def _send(
    path: str, body: dict[str, Any], upgrade: bool
) -> tuple[http.client.HTTPResponse, socket.socket]:
    """POST a JSON body to the Engine API on a new connection; its reply and the socket.

    An engine refusal closes the connection and raises `EngineError` with its message.
    """
    sock = _engine_socket()
    payload = json.dumps(body).encode()
    head = (
        f"POST {ENGINE_API}{path} HTTP/1.1\r\nHost: docker\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        + ("Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else "Connection: close\r\n")
        + "\r\n"
    )
    sock.sendall(head.encode() + payload)
    reply = http.client.HTTPResponse(sock, method="POST")
    reply.begin()
    if reply.status >= 400:
        text = reply.read().decode("utf-8", "replace")
        sock.close()
        try:
            message = json.loads(text).get("message", text)
        except ValueError:
            message = text
        raise EngineError(str(message).strip())
    return reply, sock


def _post(path: str, body: dict[str, Any]) -> Any:
    """POST to the Engine API and return its decoded JSON answer."""
    reply, sock = _send(path, body, upgrade=False)
    data = reply.read()
    sock.close()
    return json.loads(data) if data else None


def _attach(path: str, body: dict[str, Any]) -> socket.socket:
    """POST an exec start and keep the connection, now the exec's raw multiplexed stream.

    The engine upgrades the connection on request, as it does for the docker CLI.
    """
    reply, sock = _send(path, body, upgrade=True)
    if reply.status != 101:
        sock.close()
        raise EngineError(f"the engine answered {reply.status} to an exec attach")
    return sock


class ShellLost(Exception):
    """The container's shell closed or went silent; the command's result is unknown."""

    def __init__(self, reason: str, may_have_run: bool):
        super().__init__(reason)
        self.may_have_run = may_have_run  # so it must not be sent again


class Shell:
    """One `/bin/sh` in a container, reading commands from an attached stdin.

    Each command is framed by a random token: after it, the shell prints the token and
    the exit code on stdout and the token on stderr, so both streams end at a known mark
    whatever the command printed (with or without a final newline).
    """

    def __init__(self, container: str, user: str | None, timeout: float = COMMAND_TIMEOUT):
        created = _post(
            f"/containers/{quote(container, safe='')}/exec",
            {
                "Cmd": ["/bin/sh"],
                "AttachStdin": True,
                "AttachStdout": True,
                "AttachStderr": True,
                "Tty": False,
                "User": user or "",
            },
        )
        self._sock = _attach(f"/exec/{created['Id']}/start", {"Detach": False, "Tty": False})
        self._sock.settimeout(timeout)
        self._pending = b""
        self._answered = False
        self._lock = threading.Lock()

    def run(self, command: str) -> tuple[int, bytes, bytes]:
        """(exit code, stdout, stderr) of `/bin/sh -c command` run in the container."""
        token = secrets.token_hex(12)
        script = (
            f"/bin/sh -c {shlex.quote(command)} </dev/null; "
            f"printf '\\n{token} %d\\n' $?; printf '\\n{token}\\n' >&2\n"
        )
        with self._lock:
            self._answered = False
            try:
                self._sock.sendall(script.encode())
                return self._collect(token.encode())
            except TimeoutError as exc:
                raise ShellLost(f"no answer within {self._sock.gettimeout()} s", True) from exc
            except OSError as exc:  # reset, broken pipe
                raise ShellLost(str(exc) or type(exc).__name__, self._answered) from exc

    def _collect(self, token: bytes) -> tuple[int, bytes, bytes]:
        out, err = bytearray(), bytearray()
        out_mark, err_end = b"\n" + token + b" ", b"\n" + token + b"\n"
        rc: int | None = None
        err_done = False
        while rc is None or not err_done:
            stream, data = self._frame()
            if stream == _STDOUT:
                out += data
                rc = _exit_code(out, out_mark)
            elif stream == _STDERR:
                err += data
                err_done = err.endswith(err_end)
        stdout = bytes(out[: out.rindex(out_mark)])
        stderr = bytes(err[: len(err) - len(err_end)])
        return rc, stdout, stderr

    def _frame(self) -> tuple[int, bytes]:
        """The next (stream, payload) of the engine's multiplexed exec stream."""
        stream, size = struct.unpack(">BxxxL", self._read(8))
        return stream, self._read(size)

    def _read(self, n: int) -> bytes:
        while len(self._pending) < n:
            chunk = self._sock.recv(max(65536, n - len(self._pending)))
            if not chunk:
                raise ShellLost("the shell closed its output", self._answered)
            self._answered = True
            self._pending += chunk
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()  # stdin closes: the shell reads EOF and exits


def _exit_code(out: bytearray, mark: bytes) -> int | None:
    """The exit code if `out` ends with `mark`, digits and a newline; else None (not yet)."""
    if not out.endswith(b"\n"):
        return None
    at = out.rfind(mark, max(0, len(out) - len(mark) - 8))
    digits = out[at + len(mark) : -1] if at >= 0 else b""
    return int(digits) if digits.isdigit() else None


_SHELLS: dict[tuple[str, str | None], Shell] = {}


class DockerApiBackend(DockerBackend):  # type: ignore[misc]
    """Same container spec and results as testinfra's DockerBackend."""

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        try:
            rc, stdout, stderr = self._run_in_shell(cmd)
        except ShellLost as lost:
            return self.result(1, self.encode(cmd), b"", f"no answer from {self.name}: {lost}")
        except (EngineError, OSError) as exc:  # the engine's own words, as the CLI prints them
            return self.result(1, self.encode(cmd), b"", f"Error response from daemon: {exc}")
        return self.result(rc, self.encode(cmd), stdout, stderr)

    def _run_in_shell(self, cmd: str) -> tuple[int, bytes, bytes]:
        """Run through the container's shell, opening a new one once if the old one is gone.

        A shell can die between commands (the container restarted): a command whose old
        shell gave nothing back before closing is sent once more, to a new shell; one that
        timed out or printed something is not.
        """
        key = (self.name, self.user)
        shell = _SHELLS.get(key)
        if shell is not None:
            try:
                return shell.run(cmd)
            except ShellLost as lost:
                shell.close()
                del _SHELLS[key]
                if lost.may_have_run:
                    raise
        shell = _SHELLS[key] = Shell(self.name, self.user)
        try:
            return shell.run(cmd)
        except ShellLost:
            shell.close()
            del _SHELLS[key]
            raise


def close_all() -> None:
    """Close every open shell (each exits on end of input)."""
    for shell in _SHELLS.values():
        shell.close()
    _SHELLS.clear()


def install() -> None:
    """Make `docker://` host specs use the shell-per-container backend in this process."""
    BACKENDS["docker"] = f"{__name__}.DockerApiBackend"
