"""The real lab: every container healthy, `lab up` twice harmless, `lab down` exact."""

from __future__ import annotations

import os
import shutil

import pytest

from infra.lab import credentials, engine, lifecycle
from infra.lab.handle import LabHandle
from infra.lab.health import ASKED_NOW

pytestmark = pytest.mark.lab


def _container_ids(stack: str) -> dict[str, str]:
    return {c["Names"][0].lstrip("/"): c["Id"] for c in engine.stack_resources(stack).containers}


def test_every_container_is_healthy(lab: LabHandle) -> None:
    report = lifecycle.status(lab.stack)
    # Docker's own verdict, or (before its first 30 s check) the same check run just now.
    unhealthy = [c for c in report["containers"] if c["health"] not in ("healthy", ASKED_NOW)]
    assert report["containers"] and not unhealthy, unhealthy
    names = {c["name"] for c in report["containers"]}
    assert set(lab.terminals.values()) <= names
    assert {lab.containers[k] for k in ("postgres", "kannel", "portal", "nginx")} <= names


def test_status_reports_the_published_loopback_endpoints(lab: LabHandle) -> None:
    report = lifecycle.status(lab.stack)
    assert report["healthy"] is True
    assert report["endpoints"]["nginx"] == lab.endpoints["nginx"]
    assert report["endpoints"]["nginx"].startswith("http://127.0.0.1:")


def test_lab_up_twice_keeps_the_same_containers(lab: LabHandle) -> None:
    before = _container_ids(lab.stack)
    outputs = lifecycle.up(lab.stack, timeout=300)
    assert _container_ids(lab.stack) == before
    assert outputs["endpoints"] == lab.endpoints


def test_lab_down_removes_exactly_its_own_stack(lab: LabHandle) -> None:
    other = f"test-down-{os.getpid()}"
    session_before = _container_ids(lab.stack)
    try:
        lifecycle.up(other, lifecycle.Sample(["016"], 0), timeout=600)
        assert not engine.stack_resources(other).empty
    finally:
        removed = lifecycle.down(other)
        shutil.rmtree(credentials.state_dir(other), ignore_errors=True)
    assert removed.containers and removed.networks and removed.volumes
    assert engine.stack_resources(other).empty
    assert _container_ids(lab.stack) == session_before
