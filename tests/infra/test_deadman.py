"""The lab's dead-man's switch: silent while heartbeats come, loud when they stop."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

WEBHOOK_DIR = Path(__file__).resolve().parents[2] / "infra" / "images" / "webhook"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deadman", WEBHOOK_DIR / "deadman.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deadman"] = module
    spec.loader.exec_module(module)
    return module


deadman = _load()
FIRING = {"status": "firing", "alerts": [{"labels": {"alertname": "DvcWatchdog"}}]}
RESOLVED = {"status": "resolved", "alerts": [{"labels": {"alertname": "DvcWatchdog"}}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _switch(after: float = 20) -> tuple[Any, Clock, list[tuple[str, Any]]]:
    clock = Clock()
    said: list[tuple[str, Any]] = []
    switch = deadman.DeadmansSwitch(after, lambda r, p: said.append((r, p)), clock)
    return switch, clock, said


def _statuses(said: list[tuple[str, Any]]) -> list[str]:
    return [p["alerts"][0]["status"] for _, p in said]


def test_heartbeats_keep_it_quiet() -> None:
    switch, clock, said = _switch()
    for _ in range(10):
        clock.now += 10
        switch.beat(FIRING)
        switch.check()
    assert said == []


def test_silence_raises_once_and_a_beat_resolves() -> None:
    switch, clock, said = _switch()
    switch.beat(FIRING)
    clock.now += 21
    switch.check()
    switch.check()
    assert _statuses(said) == ["firing"]
    receiver, payload = said[0]
    assert receiver == "deadman"
    assert payload["alerts"][0]["labels"] == {
        "alertname": "DvcHeartbeatMissing", "severity": "critical", "scope": "city"
    }  # fmt: skip
    switch.beat(FIRING)
    assert _statuses(said) == ["firing", "resolved"]


def test_a_resolved_watchdog_raises_at_once() -> None:
    """Alertmanager resolves the watchdog when Prometheus stopped sending it."""
    switch, _, said = _switch()
    switch.beat(FIRING)
    switch.beat(RESOLVED)
    assert _statuses(said) == ["firing"]


def test_a_pipeline_that_never_beats_is_reported_too() -> None:
    switch, clock, said = _switch()
    clock.now += 21
    switch.check()
    assert _statuses(said) == ["firing"]
    assert switch.state()["missing"] is True
