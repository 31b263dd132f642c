"""testinfra's `docker://` backend, talking to the Docker Engine API over one socket.

testinfra's own docker backend starts a `docker exec` CLI process for every command; a
go-live run makes thousands of them, and each CLI start costs more CPU than the command
it runs. This backend makes the same exec (`/bin/sh -c <command>`, optional user)
through the Engine API on a connection kept open per worker, so `docker://` hosts
behave exactly as before, for less CPU. `install()` swaps it in for the check session.
"""

from __future__ import annotations

from typing import Any

from testinfra.backend import BACKENDS, base
from testinfra.backend.docker import DockerBackend

_CLIENT: Any = None


def _api() -> Any:
    global _CLIENT
    if _CLIENT is None:
        import docker

        _CLIENT = docker.from_env().api
    return _CLIENT


class DockerApiBackend(DockerBackend):  # type: ignore[misc]
    """Same container spec and results as testinfra's DockerBackend."""

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        api = _api()
        try:
            created = api.exec_create(self.name, ["/bin/sh", "-c", cmd], user=self.user or "")
            stdout, stderr = api.exec_start(created["Id"], demux=True)
            rc = int(api.exec_inspect(created["Id"])["ExitCode"])
        except Exception as exc:  # the engine's own words, as the CLI would print them
            return self.result(1, self.encode(cmd), b"", f"Error response from daemon: {exc}")
        return self.result(rc, self.encode(cmd), stdout or b"", stderr or b"")


def install() -> None:
    """Make `docker://` host specs use the Engine API backend in this process."""
    BACKENDS["docker"] = f"{__name__}.DockerApiBackend"
