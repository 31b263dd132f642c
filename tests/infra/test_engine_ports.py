"""A container whose host ports the engine picks is created even when the ports the engine
tries first are held by another engine's containers (staging's engine beside this one)."""

from __future__ import annotations

import socket
import uuid
from typing import Any

from infra.lab import engine
from infra.lab.specs import STACK_LABEL, ContainerSpec, PortSpec

#: More ports in a row than the engine tries by itself before it gives up (10).
HELD = 25


def _spec(image: str, stack: str) -> ContainerSpec:
    return ContainerSpec(
        name=f"{stack}-probe",
        image=image,
        hostname=None,
        env=(),
        labels={STACK_LABEL: stack},
        ports=(PortSpec(internal=80, external=0, ip="127.0.0.1", protocol="tcp"),),
        uploads=(),
        healthcheck=None,
        restart="no",
        max_retry_count=0,
        networks=(),
        volumes=(),
        command=("sleep", "120"),
        entrypoint=None,
        user=None,
        working_dir=None,
        init=True,
        stop_timeout=1,
    )


def test_ports_held_by_another_engine_are_stepped_over(
    docker_client: Any, images_built: dict[str, str]
) -> None:
    stack = f"test-ports-{uuid.uuid4().hex[:8]}"
    spec = _spec(images_built["terminal"], stack)
    held: list[socket.socket] = []
    try:
        first = engine.ensure_container(spec)  # where the engine's allocator is now
        picked = first.ports[0]["external"]
        engine.remove_container(spec.name, stack)
        # Another engine's containers listen on the next ports this engine would pick.
        for port in range(picked + 1, picked + 1 + HELD):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
                s.listen()
                held.append(s)
            except OSError:
                s.close()  # already taken by something else: held all the same
        state = engine.ensure_container(spec)
        port = state.ports[0]["external"]
        assert not picked < port <= picked + HELD, f"the engine published a held port {port}"
        info = docker_client.api.inspect_container(state.id)
        assert info["State"]["Running"], info["State"]
    finally:
        for s in held:
            s.close()
        engine.remove_container(spec.name, stack)
    assert engine.stack_resources(stack).empty
