"""Waiting for a stack's containers to be healthy, and saying clearly which one is not.

Docker runs each healthcheck every 30 s (every exec costs the engine a process start
through runc; at 3 s, two dozen lab containers kept a third of a core busy doing it),
and its first check only comes one interval after the start. So a container Docker
has not yet called healthy is asked now: its own healthcheck command is run once,
exactly as Docker would run it, and a pass counts (`health` reads `healthy (now)`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.lab import engine
from infra.lab.errors import LabNotHealthy


@dataclass(frozen=True)
class ContainerHealth:
    name: str
    state: str
    health: str
    last_log: str

    @property
    def healthy(self) -> bool:
        return self.state == "running" and self.health in ("healthy", ASKED_NOW)


ASKED_NOW = "healthy (now)"


def _health_of(info: dict[str, Any]) -> ContainerHealth:
    state = info["State"]
    health = state.get("Health") or {}
    logs = health.get("Log") or []
    last = logs[-1] if logs else {}
    last_log = (
        f"exit {last.get('ExitCode')}: {str(last.get('Output', '')).strip()[-400:]}" if last else ""
    )
    return ContainerHealth(
        name=info["Name"].lstrip("/"),
        state=str(state.get("Status", "")),
        health=str(health.get("Status", "none")),
        last_log=last_log,
    )


def stack_health(stack: str, host: str = "") -> list[ContainerHealth]:
    """Each container's health, running its healthcheck now where Docker has no pass yet."""
    api = engine.client(host).api
    found = [
        current_health(api.inspect_container(c["Id"]), host)
        for c in engine.stack_resources(stack, host).containers
    ]
    return sorted(found, key=lambda h: h.name)


def container_healthy(name: str, host: str = "") -> bool:
    """Whether one container is healthy: Docker says so, or its healthcheck passes now."""
    return current_health(engine.client(host).api.inspect_container(name), host).healthy


def current_health(info: dict[str, Any], host: str = "") -> ContainerHealth:
    """Docker's verdict on a container, or `healthy (now)` if it has none but the check passes."""
    health = _health_of(info)
    if health.state == "running" and not health.healthy and passes_now(info, host):
        return dataclasses.replace(health, health=ASKED_NOW)
    return health


def passes_now(info: dict[str, Any], host: str = "") -> bool:
    """Whether the container's own healthcheck command passes when run right now."""
    test = list((info["Config"].get("Healthcheck") or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return False
    argv = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
    limit = (info["Config"].get("Healthcheck") or {}).get("Timeout") or 30 * 10**9
    argv = ["timeout", str(max(int(limit) // 10**9, 1)), *argv]  # as Docker would stop it
    try:
        code, _ = engine.run_in(info["Id"], argv, host)  # waits for the end, as Docker would
    except Exception:  # a container stopping under us is simply not healthy yet
        return False
    return code == 0


def wait_healthy(
    stack: str,
    timeout: float = 300.0,
    progress: Callable[[str], None] | None = None,
    poll: float = 1.0,
    host: str = "",
) -> list[ContainerHealth]:
    """Block until every container of the stack is healthy; fail naming those that are not."""
    deadline = time.monotonic() + timeout
    said = ""
    stopped_polls: dict[str, int] = {}
    while True:
        states = stack_health(stack, host)
        waiting = [h for h in states if not h.healthy]
        if states and not waiting:
            return states
        # A container seen stopped on several polls in a row is not restarting: fail now.
        for h in states:
            down = h.state in ("exited", "dead")
            stopped_polls[h.name] = stopped_polls.get(h.name, 0) + 1 if down else 0
        dead = [h for h in waiting if stopped_polls.get(h.name, 0) >= 5]
        if dead or time.monotonic() > deadline:
            bad = dead or waiting
            lines = "\n".join(
                f"  {h.name}: {h.state}/{h.health}; last health check: {h.last_log or 'none yet'}"
                for h in bad
            )
            why = "stopped" if dead else f"not healthy after {timeout:.0f} s"
            raise LabNotHealthy(
                f"{len(bad)} container(s) {why}:\n{lines}\n"
                f"see `docker logs <name>`; fix and run `dvc-rollout lab up` again"
            )
        note = f"waiting for {len(waiting)} container(s): {', '.join(h.name for h in waiting)}"
        if progress and note != said:
            progress(note)
            said = note
        time.sleep(poll)
