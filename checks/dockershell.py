"""testinfra's `docker://` backend, through one shell kept open in each container.

testinfra's own docker backend starts a `docker exec` CLI process for every command, and
every exec makes the engine start a new process in the container through runc. This
backend opens one `/bin/sh` per container (and user) with the Docker SDK's exec API
(`exec_create`, then `exec_start(socket=True)`: the connection upgraded to the exec's raw
stream) and feeds it the commands (checks/keptshell.py), for a fraction of the CPU.
The engine is the one `$DOCKER_HOST` names, as for the docker CLI: a unix socket, TCP (with
TLS from `$DOCKER_TLS_VERIFY`/`$DOCKER_CERT_PATH`) or `ssh://` through the ssh client and
`docker system dial-stdio` on the far side (keys, host keys and port from ssh's own
config), as the staging and production hosts are reached. The SDK is imported on the first
`docker://` command, so check workers that reach desks over ssh never load it.
`install()` swaps this backend in for the check session.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import subprocess
from typing import Any, cast

from testinfra.backend import BACKENDS, base
from testinfra.backend.docker import DockerBackend

from checks.keptshell import COMMAND_TIMEOUT, KeptShell, ShellLost, Shells

# Docker 20.10's API, the oldest engine the lab supports: named, so no request is spent
# asking the engine for its version.
ENGINE_API = "1.41"
# The engine's multiplexed stream: 1 byte stream id, 3 padding, 4 bytes big-endian length.
_FRAME_HEADER = struct.Struct(">BxxxL")
# Bytes asked for per read: above a pipe reader's buffer size, so read1() hands back all it
# read and select() on an ssh client's pipe never misses bytes held in the buffer.
_CHUNK = 65536

_client: Any = None


def _sdk() -> Any:
    import docker  # here, not at the top: see the module's docstring

    return docker


def _engine() -> Any:
    """This process's Engine API client, from the environment as the docker CLI reads it."""
    global _client
    if _client is None:
        _client = _sdk().from_env(version=ENGINE_API, use_ssh_client=True).api
    return _client


def _raw_socket(stream: Any) -> socket.socket:
    """The socket under what `exec_start(socket=True)` returns (a SocketIO for unix and tcp)."""
    if isinstance(stream, socket.SocketIO):
        raw: socket.socket = stream._sock  # type: ignore[attr-defined]  # what SocketIO wraps
        return raw
    return cast(socket.socket, stream)


class EngineShell(KeptShell):
    """One `/bin/sh` in a container, its stdin and output the engine's attached exec stream."""

    def __init__(self, container: str, user: str | None, timeout: float = COMMAND_TIMEOUT):
        super().__init__(timeout)
        api = _engine()
        created = api.exec_create(
            container, ["/bin/sh"], stdin=True, stdout=True, stderr=True, tty=False, user=user or ""
        )
        self.exec_id = str(created["Id"])
        self._stream = api.exec_start(self.exec_id, tty=False, socket=True)
        self._sock = _raw_socket(self._stream)
        self._sock.settimeout(timeout)
        self._pending = b""

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def frame(self) -> tuple[int, bytes]:
        """The next (stream, payload) of the engine's multiplexed exec stream.

        Read here rather than with `docker.utils.socket.next_frame_header`, which waits
        in an unbounded poll(): a hung container must end in a timeout, not a hung check.
        """
        stream, size = _FRAME_HEADER.unpack(self._read(_FRAME_HEADER.size))
        return stream, self._read(size)

    def _recv(self) -> bytes:
        proc = getattr(self._sock, "proc", None)  # ssh://: the SDK's SSHSocket, a pipe pair
        if proc is None:
            return self._sock.recv(_CHUNK)
        # The ssh client's stdout has no socket timeout: wait for it with select, so a
        # hung engine still ends in a timeout.
        if not select.select([proc.stdout], [], [], self.timeout)[0]:
            raise TimeoutError(f"no answer within {self.timeout} s")
        return bytes(proc.stdout.read1(_CHUNK))

    def _read(self, n: int) -> bytes:
        while len(self._pending) < n:
            chunk = self._recv()
            if not chunk:
                raise ShellLost(
                    "the shell closed its output", self._answered or bool(self._pending)
                )
            self._pending += chunk
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def close(self) -> None:
        # Shut down first: the SDK's response objects still hold the socket, so close()
        # alone would leave the connection (and the shell waiting on its stdin) open.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # stdin ends: the shell exits
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(OSError):
            self._stream.close()
        _reap(getattr(self._sock, "proc", None))


def _reap(proc: Any) -> None:
    """Wait for an ssh client the SDK started (it terminates it on close), killing a stuck one."""
    if proc is None:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_SHELLS = Shells()


class DockerShellBackend(DockerBackend):  # type: ignore[misc]
    """Same container spec and results as testinfra's DockerBackend."""

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        docker = _sdk()
        try:
            rc, stdout, stderr = _SHELLS.run(
                (self.name, self.user), lambda: EngineShell(self.name, self.user), cmd
            )
        except ShellLost as lost:
            return self.result(1, self.encode(cmd), b"", f"no answer from {self.name}: {lost}")
        except docker.errors.APIError as exc:  # the engine's own words, as the CLI prints them
            message = exc.explanation or str(exc)
            return self.result(1, self.encode(cmd), b"", f"Error response from daemon: {message}")
        except (docker.errors.DockerException, OSError) as exc:  # requests' errors are OSErrors
            engine = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
            why = f"cannot reach the Docker engine at {engine}: {exc}"
            return self.result(1, self.encode(cmd), b"", why)
        return self.result(rc, self.encode(cmd), stdout, stderr)


def close_all() -> None:
    """Close every open shell (each exits on end of input), and the client's connections
    (over ssh://, ssh clients), so none outlives the run."""
    global _client
    _SHELLS.close_all()
    if _client is not None:
        _client.close()
        _client = None


def install() -> None:
    """Make `docker://` host specs use the shell-per-container backend in this process."""
    BACKENDS["docker"] = f"{__name__}.DockerShellBackend"
