"""Sweeps over bad targets: every target reported, sweeps end in time, nothing leaks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest
import uvloop

from exporters.availability.config import ProbeSettings
from exporters.availability.errors import AvailabilityConfigError
from exporters.availability.sweep import Sweeper
from exporters.availability.targets import Target

BAD = {
    "hang": "timeout",
    "slow": "timeout",
    "reset": "connect",
    "error500": "http_status",
    "garbage": "http_status",
    "wrong_body": "body",
}


def mixed_targets(
    servers: Any, make_target: Callable[..., Target], refused_url: str
) -> list[Target]:
    """One target per behaviour, each with its own unit code so labels differ."""
    targets = [
        make_target(servers.url(name), unit_code=f"0{n:04d}") for n, name in enumerate(["ok", *BAD])
    ]
    targets.append(make_target(refused_url, unit_code="09999"))
    return targets


def test_a_sweep_reports_every_target_with_its_reason(servers, make_target, refused_url, run):
    targets = mixed_targets(servers, make_target, refused_url)
    sweeper = Sweeper(targets, ProbeSettings(interval=2, timeout=0.5, concurrency=8))
    report = run(sweeper.sweep())
    results = sweeper.results
    expected_reasons = [None, *BAD.values(), "connect"]
    assert results.up == [True] + [False] * (len(targets) - 1)
    assert [next(iter(f), None) for f in results.failures] == expected_reasons
    assert (report.targets, report.up, report.not_started) == (len(targets), 1, 0)


def test_a_sweep_ends_at_its_deadline_when_hanging_targets_outnumber_workers(
    servers, make_target, run
):
    targets = [make_target(servers.url("hang"), unit_code=f"{n:05d}") for n in range(30)]
    settings = ProbeSettings(interval=2, timeout=0.3, concurrency=3, margin=0.2)
    sweeper = Sweeper(targets, settings)
    report = run(sweeper.sweep())
    # Without the sweep deadline this sweep would take 10 rounds of 0.3 s.
    assert report.duration < settings.timeout + settings.margin + 1.0
    assert report.not_started > 0
    assert sweeper.results.up == [False] * 30
    assert all(f == {"timeout": 1} for f in sweeper.results.failures)


def test_run_sweeps_until_stopped_and_closes_its_connections(servers, make_target, run):
    sweeper = Sweeper(
        [make_target(servers.url("ok"))],
        ProbeSettings(interval=0.1, timeout=0.05, concurrency=1, margin=0.05,
                      reuse_connections=True),
    )  # fmt: skip
    stop = asyncio.Event()

    def after(_report) -> None:
        if sweeper.results.sweeps == 3:
            stop.set()

    run(sweeper.run(stop, on_sweep=after))
    assert sweeper.results.sweeps == 3
    assert sweeper.client.idle_connections() == 0


def test_settings_that_let_sweeps_overlap_are_refused():
    with pytest.raises(AvailabilityConfigError, match=r"interval 1s is shorter than timeout 5s"):
        ProbeSettings(interval=1, timeout=5).checked()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize(
    ("loop", "reuse"), [("uvloop", False), ("asyncio", True)], ids=["uvloop-fresh", "asyncio-reuse"]
)
def test_a_thousand_sweeps_leak_no_sockets_and_no_tasks(
    servers, make_target, refused_url, loop, reuse
):
    targets = mixed_targets(servers, make_target, refused_url)
    settings = ProbeSettings(
        interval=1, timeout=0.01, concurrency=4, margin=0.01, reuse_connections=reuse
    )
    factory = uvloop.new_event_loop if loop == "uvloop" else asyncio.new_event_loop

    async def sweeps() -> tuple[int, int, int, int]:
        sweeper = Sweeper(targets, settings)
        for _ in range(20):
            await sweeper.sweep()
        await asyncio.sleep(0.2)
        fds_before, tasks_before = open_fds(), len(asyncio.all_tasks())
        for _ in range(1000):
            await sweeper.sweep()
        sweeper.client.close()
        # The test servers run in this process: under load their side of the last
        # sweeps' connections takes a while to close. A leak never settles.
        for _ in range(100):
            await asyncio.sleep(0.1)
            if open_fds() - fds_before <= 8:
                break
        return fds_before, open_fds(), tasks_before, len(asyncio.all_tasks())

    with asyncio.Runner(loop_factory=factory) as runner:
        fds_before, fds_after, tasks_before, tasks_after = runner.run(sweeps())
    # A leak of one socket per sweep would add about a thousand descriptors.
    assert fds_after - fds_before <= 8
    assert tasks_after <= tasks_before == 1
