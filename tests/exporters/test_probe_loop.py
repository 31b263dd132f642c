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
    second = threading.Event()

    def step() -> None:
        runs.append(1)
        if len(runs) == 2:
            second.set()
        raise RuntimeError("a bug")

    loop = ProbeLoop(step, 0.1, "buggy", 1.0, failures.append).start()
    # Waited for, not slept for: under load two runs need not fit in a fixed 0.35 s.
    went_on = second.wait(10)
    loop.stop()
    assert went_on, f"{len(runs)} run(s) in 10 s: the loop ended after the error"
    assert len(runs) >= 2
    assert set(failures) == {"error"}


def test_stop_does_not_wait_for_a_hanging_run() -> None:
    """`docker stop` kills after 10 s: a probe hung for its 32 s deadline must not hold
    the exporter's exit (the hanging run is left to its daemon thread)."""
    started, release = threading.Event(), threading.Event()

    def hang() -> None:
        started.set()
        release.wait(60)

    loop = ProbeLoop(hang, 3600, "hung", 30.0, lambda reason: None).start()
    try:
        assert started.wait(10)
        began = time.monotonic()
        loop.stop()
        took = time.monotonic() - began
    finally:
        release.set()
    assert took < 5, f"stop() took {took:.1f} s with a run hanging"


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
