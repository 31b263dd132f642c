"""The ways a component fails, done to the lab's real containers and undone again.

Each fault has `apply()` and `undo()`; `undo()` returns once the component is back (a
stopped container healthy again, its new host ports read back), so the next drill starts
from a working lab.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Protocol

from infra.lab import engine, health
from tests.exporters.drills.watch import Monitor, wait_for


class Fault(Protocol):
    def apply(self) -> None: ...
    def undo(self) -> None: ...


def _container(name: str) -> Any:
    return engine.client().containers.get(name)


def _healthy_again(monitor: Monitor, name: str, ports_moved: bool = True) -> None:
    """Wait until `name` is healthy; the host ports of a container started again or
    connected again to the network it publishes them through have moved, so the monitor
    re-reads them (a paused one keeps its ports)."""
    if not wait_for(lambda: health.container_healthy(name), 120):
        raise RuntimeError(f"{name} is not healthy 120 s after the drill undid its fault")
    if ports_moved:
        monitor.refresh()


@dataclass
class Stopped:
    """`docker stop`: the process is gone, its port refuses."""

    monitor: Monitor
    container: str

    def apply(self) -> None:
        # Killed after 3 s: a shell entrypoint ignores SIGTERM and would hold every drill of
        # its lane for Docker's 10 s; the fault is the same, the process gone.
        _container(self.container).stop(timeout=3)

    def undo(self) -> None:
        _container(self.container).start()
        _healthy_again(self.monitor, self.container)


@dataclass
class Hung:
    """`docker pause`: frozen, its port still open, nothing answers."""

    monitor: Monitor
    container: str

    def apply(self) -> None:
        _container(self.container).pause()

    def undo(self) -> None:
        _container(self.container).unpause()
        _healthy_again(self.monitor, self.container, ports_moved=False)


@dataclass
class CutOff:
    """`docker network disconnect`: alive, unreachable from one of its networks."""

    monitor: Monitor
    container: str
    network: str  # a key of the lab's networks (dmz, app, data, mgmt)

    def apply(self) -> None:
        net = engine.client().networks.get(self.monitor.lab.networks[self.network])
        net.disconnect(self.container)

    def undo(self) -> None:
        net = engine.client().networks.get(self.monitor.lab.networks[self.network])
        net.connect(self.container, aliases=[self.container])
        _healthy_again(self.monitor, self.container)


@dataclass
class Frozen:
    """SIGSTOP to one process inside a container (smsbox beside its bearerbox): alive,
    its port open, no answer. Undone with SIGCONT, then waited for until healthy (a box
    that lost its peer meanwhile may end the container, which then restarts on new ports)."""

    monitor: Monitor
    container: str
    process: str

    def _signal(self, sig: str) -> None:
        # The shell's own kill: the image has no /bin/kill.
        exec_ok(self.container, ["sh", "-c", f"kill -{sig} $(pidof {self.process})"])

    def apply(self) -> None:
        self._signal("STOP")

    def undo(self) -> None:
        try:
            self._signal("CONT")
        finally:
            _healthy_again(self.monitor, self.container)


@dataclass
class Call:
    """A fault done through the component's own interface (an admin API, SQL, a file)."""

    do: Callable[[], object]
    undo_: Callable[[], object]

    def apply(self) -> None:
        self.do()

    def undo(self) -> None:
        self.undo_()


def put_file(container: str, path: str, text: str) -> None:
    """Write one file into a container (as `docker cp` would)."""
    target = PurePosixPath(path)
    buffer = io.BytesIO()
    content = text.encode()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(target.name)
        info.size, info.mode, info.mtime = len(content), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(content))
    if not engine.client().api.put_archive(container, str(target.parent), buffer.getvalue()):
        raise RuntimeError(f"cannot write {path} into {container}")


def exec_ok(container: str, argv: list[str]) -> str:
    code, out = _container(container).exec_run(argv, user="root")
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} in {container} exited {code}: {out!r}")
    return str(out.decode("utf-8", "replace"))
