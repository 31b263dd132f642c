"""The real lab: every container healthy, `lab up` twice harmless, `lab down` exact, and a
deployer that knows what it made: preview, deletions of what is no longer declared, and
containers removed by hand made again."""

from __future__ import annotations

import os
import shutil

import pytest

from dvc_rollout import statedir
from infra.lab import deployment, engine, lifecycle
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
    assert outputs.endpoints == lab.endpoints
    assert all(c.action == "same" for c in lifecycle.preview(lab.stack))


def _planned(changes: list[deployment.Change], action: str) -> set[tuple[str, str]]:
    return {(c.resource.kind, c.resource.name) for c in changes if c.action == action}


def test_the_deployer_deletes_what_is_dropped_remakes_what_is_gone_and_down_is_exact(
    lab: LabHandle,
) -> None:
    other = f"test-down-{os.getpid()}"
    prefix = f"dvc-{other}-"
    session_before = _container_ids(lab.stack)
    try:
        lifecycle.up(other, lifecycle.Sample(["016", "017"], 0), timeout=600)
        assert f"{prefix}term-017-1" in _container_ids(other)
        # Shrinking the sample: preview names exactly the dropped district's resources...
        shrunk = lifecycle.Sample(["016"], 0)
        changes = lifecycle.preview(other, shrunk)
        dropped = {("network", f"{prefix}d017"), ("container", f"{prefix}term-017-1")}
        assert _planned(changes, "delete") == dropped
        assert not _planned(changes, "create")
        # ...and `up` deletes exactly those; what joined that network is made again.
        before = _container_ids(other)
        lifecycle.up(other, shrunk, timeout=600)
        after = _container_ids(other)
        assert set(before) - set(after) == {f"{prefix}term-017-1"}
        assert f"{prefix}d017" not in {n["Name"] for n in engine.stack_resources(other).networks}
        replaced = {name for kind, name in _planned(changes, "replace") if kind == "container"}
        assert {n for n in after if after[n] != before.get(n)} == replaced
        # A desk removed by hand is found missing and made again.
        engine.client().api.remove_container(f"{prefix}term-016-1", force=True)
        gone = lifecycle.preview(other, shrunk)
        assert _planned(gone, "create") == {("container", f"{prefix}term-016-1")}
        assert not _planned(gone, "delete") and not _planned(gone, "replace")
        lifecycle.up(other, shrunk, timeout=600)
        assert f"{prefix}term-016-1" in _container_ids(other)
        assert all(c.action == "same" for c in lifecycle.preview(other, shrunk))
    finally:
        removed = lifecycle.down(other)
        shutil.rmtree(statedir.stack_dir(other), ignore_errors=True)
    assert removed.containers and removed.networks and removed.volumes
    assert engine.stack_resources(other).empty
    assert _container_ids(lab.stack) == session_before
