"""Run the Pulumi program in this process under a `Mocks` implementation.

This is how the lab comes up without the Pulumi CLI, and how the unit tests inspect the
resource graph: the program is executed as `infra/__main__.py` would be by the engine,
every registration is awaited, and the stack outputs come back resolved with a note of
which ones are secret. Each run gets a fresh context, so runs in one process never see
each other's root stack or config.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "dvc-rollout"
PROGRAM_MODULE = "infra.__main__"
_LOOPS: list[asyncio.AbstractEventLoop] = []


@dataclass
class ProgramRun:
    """The result of one in-process run: stack outputs and every registered resource."""

    outputs: dict[str, Any]
    secret_outputs: set[str]
    resources: dict[str, MockMonitor.ResourceRegistration] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[MockMonitor.ResourceRegistration]:
        """Registered resources of one type token, e.g. `docker:index/container:Container`."""
        return [r for urn, r in self.resources.items() if urn.split("::")[2].endswith(typ)]


def config_values(config: Mapping[str, Any]) -> dict[str, str]:
    """Pulumi's runtime wants strings: objects and lists travel as JSON, like the CLI sends them."""
    out: dict[str, str] = {}
    for key, value in config.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, str):
            out[full] = value
        elif isinstance(value, bool):
            out[full] = "true" if value else "false"
        else:
            out[full] = json.dumps(value, ensure_ascii=False)
    return out


async def _resolve(outputs: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        values[key] = await out.future()
        if await out.is_secret():
            secret.add(key)
    return values, secret


def _run(
    mocks: pulumi.runtime.Mocks,
    stack: str,
    config: Mapping[str, Any],
    secret_keys: list[str],
    module: str,
) -> ProgramRun:
    # A fresh loop per run, set before set_mocks: the root stack's futures bind to it.
    # Runs are few per process, so loops are left to the collector rather than closed
    # (closing one while Pulumi's worker threads still hold it only produces noise).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _LOOPS.append(loop)
    values = config_values(config)
    secret_full = [k if ":" in k else f"{PROJECT}:{k}" for k in secret_keys]
    pulumi.runtime.set_all_config(values, secret_full)
    monitor = MockMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    holder: dict[str, tuple[dict[str, Any], set[str]]] = {}

    def program() -> Any:
        runpy.run_module(module, run_name="__main__")
        root = get_root_resource()
        exported = dict(getattr(root, "outputs", {}) or {})

        async def collect() -> None:
            holder["outputs"] = await _resolve(exported)

        return collect()

    try:
        _sync_await(run_pulumi_func(program))
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
    outputs, secret = holder.get("outputs", ({}, set()))
    return ProgramRun(outputs, secret, monitor.get_registered_resources())


def run_program(
    mocks: pulumi.runtime.Mocks,
    *,
    stack: str,
    config: Mapping[str, Any],
    secret_keys: list[str] | None = None,
    module: str = PROGRAM_MODULE,
) -> ProgramRun:
    """Run the program once under `mocks` with the given stack config; wait for everything."""
    context = contextvars.Context()
    return context.run(_run, mocks, stack, config, list(secret_keys or []), module)
