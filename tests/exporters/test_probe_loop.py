"""Background probes cannot hang unnoticed, and their last state is served honestly."""

from __future__ import annotations

import threading
import time

from prometheus_client.registry import CollectorRegistry

from exporters.citizen_db.collector import CitizenDbCollector
from exporters.citizen_db.probe import Outcome, ProbeState
from exporters.probe_loop import ProbeLoop


def test_a_run_past_its_deadline_counts_as_a_timeout_every_interval() -> None:
    """A database frozen after accepting: no client timeout fires, the loop must."""
    release = threading.Event()
    failures: list[str] = []

    def hang() -> None:
        release.wait(5)

    loop = ProbeLoop(hang, 0.2, "frozen", 0.1, failures.append).start()
    time.sleep(0.75)
    release.set()
    loop.stop()
    assert failures[0] == "timeout"
    assert len(failures) >= 3, f"reported {failures}: once per interval while hanging"


def test_a_run_that_raises_is_an_error_and_the_loop_goes_on() -> None:
    runs: list[int] = []
    failures: list[str] = []

    def step() -> None:
        runs.append(1)
        raise RuntimeError("a bug")

    loop = ProbeLoop(step, 0.1, "buggy", 1.0, failures.append).start()
    time.sleep(0.35)
    loop.stop()
    assert len(runs) >= 2
    assert set(failures) == {"error"}


def test_the_citizen_db_reason_is_a_label_and_an_old_result_is_stale() -> None:
    state = ProbeState()
    now = [1010.0]
    registry = CollectorRegistry()
    CitizenDbCollector(state, registry, stale_after=30, clock=lambda: now[0])
    state.record(Outcome(1000.0, "timeout"))
    assert registry.get_sample_value("dvc_citizen_db_up") == 0.0
    assert registry.get_sample_value("dvc_citizen_db_probe_error", {"reason": "timeout"}) == 1.0
    state.record(Outcome(1005.0, None, 0.01, 0.002))
    assert registry.get_sample_value("dvc_citizen_db_up") == 1.0
    assert registry.get_sample_value("dvc_citizen_db_probe_error", {"reason": "timeout"}) == 0.0
    now[0] = 1100.0
    assert registry.get_sample_value("dvc_citizen_db_up") == 0.0
    assert registry.get_sample_value("dvc_citizen_db_probe_error", {"reason": "stale"}) == 1.0
