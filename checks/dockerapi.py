"""testinfra's `docker://` backend, through one shell kept open in each container.

testinfra's own docker backend starts a `docker exec` CLI process for every command, and
every exec makes the engine start a new process in the container through runc. This
backend opens one `/bin/sh` per container (and user) through the Engine API (spoken
directly over the engine's socket: no client library to import in every worker) and feeds
it the commands (checks/keptshell.py), for a fraction of the CPU. `install()` swaps it in
for the check session.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import struct
import subprocess
from typing import Any
from urllib.parse import quote, urlsplit

from testinfra.backend import BACKENDS, base
from testinfra.backend.docker import DockerBackend

from checks.keptshell import COMMAND_TIMEOUT, KeptShell, ShellLost, Shells
from dvc_rollout.errors import EnvironmentProblem

ENGINE_API = "/v1.41"  # Docker 20.10, the oldest engine the lab supports


class EngineError(EnvironmentProblem):
    """The Docker engine refused a request; the text is the engine's own message."""


_DIALS: list[subprocess.Popen[bytes]] = []


def _ssh_socket(url: str) -> socket.socket:
    """A connection to a remote engine through `ssh … docker system dial-stdio`, as the
    docker CLI and SDK make one: the ssh client's stdin and stdout are the other end of
    a socket pair (keys, host keys and port come from the user's or system ssh_config)."""
    parts = urlsplit(url)
    argv = ["ssh", "-T", "-o", "BatchMode=yes"]
    if parts.username:
        argv += ["-l", parts.username]
    if parts.port:
        argv += ["-p", str(parts.port)]
    ours, theirs = socket.socketpair()
    with theirs:
        _DIALS[:] = [d for d in _DIALS if d.poll() is None]  # reap the finished ones
        _DIALS.append(
            subprocess.Popen(
                [*argv, "--", str(parts.hostname), "docker system dial-stdio"],
                stdin=theirs.fileno(),
                stdout=theirs.fileno(),
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
        )
    return ours


def _engine_socket() -> socket.socket:
    """A new connection to the engine `$DOCKER_HOST` names (unix socket, TCP or ssh)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(host[len("unix://") :])
        return sock
    if host.startswith("tcp://"):
        address, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
        return socket.create_connection((address, int(port)))
    if host.startswith("ssh://"):
        return _ssh_socket(host)
    raise EngineError(f"DOCKER_HOST={host}: only unix://, tcp:// and ssh:// engines are supported")


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


class EngineShell(KeptShell):
    """One `/bin/sh` in a container, its stdin and output the engine's attached exec stream."""

    def __init__(self, container: str, user: str | None, timeout: float = COMMAND_TIMEOUT):
        super().__init__(timeout)
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

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def frame(self) -> tuple[int, bytes]:
        """The next (stream, payload) of the engine's multiplexed exec stream."""
        stream, size = struct.unpack(">BxxxL", self._read(8))
        return stream, self._read(size)

    def _read(self, n: int) -> bytes:
        while len(self._pending) < n:
            chunk = self._sock.recv(max(65536, n - len(self._pending)))
            if not chunk:
                raise ShellLost(
                    "the shell closed its output", self._answered or bool(self._pending)
                )
            self._pending += chunk
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()  # stdin closes: the shell reads EOF and exits


_SHELLS = Shells()


class DockerApiBackend(DockerBackend):  # type: ignore[misc]
    """Same container spec and results as testinfra's DockerBackend."""

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        try:
            rc, stdout, stderr = _SHELLS.run(
                (self.name, self.user), lambda: EngineShell(self.name, self.user), cmd
            )
        except ShellLost as lost:
            return self.result(1, self.encode(cmd), b"", f"no answer from {self.name}: {lost}")
        except (EngineError, OSError) as exc:  # the engine's own words, as the CLI prints them
            return self.result(1, self.encode(cmd), b"", f"Error response from daemon: {exc}")
        return self.result(rc, self.encode(cmd), stdout, stderr)


def close_all() -> None:
    """Close every open shell (each exits on end of input), and wait for their ssh clients."""
    _SHELLS.close_all()
    for dial in _DIALS:
        try:
            dial.wait(timeout=5)
        except subprocess.TimeoutExpired:
            dial.kill()
            dial.wait()
    _DIALS.clear()


def install() -> None:
    """Make `docker://` host specs use the shell-per-container backend in this process."""
    BACKENDS["docker"] = f"{__name__}.DockerApiBackend"
