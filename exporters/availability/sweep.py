"""Background sweeps: probe every target at a fixed interval, never at scrape time.

A sweep runs `concurrency` workers that take targets from one shared queue, so at most
that many connections are open at once. Every probe has a deadline of `timeout`, and the
sweep as a whole has a deadline of `timeout + margin`: targets not started by then are
reported down with reason `timeout` (too many hanging targets for the concurrency), so a
sweep always ends in time and the next one starts on schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence

from exporters.availability.config import ProbeSettings
from exporters.availability.httpclient import HttpClient
from exporters.availability.probe import ProbeResult, probe
from exporters.availability.results import Results, SweepReport
from exporters.availability.targets import Target

log = logging.getLogger(__name__)

_NOT_STARTED = "not probed before the sweep deadline; raise --concurrency or --timeout"


class Sweeper:
    """Runs sweeps over a fixed list of targets and records them into `results`."""

    def __init__(
        self,
        targets: Sequence[Target],
        settings: ProbeSettings,
        client: HttpClient | None = None,
        results: Results | None = None,
    ) -> None:
        self.targets = tuple(targets)
        self.settings = settings.checked()
        self.client = client or HttpClient(
            reuse_connections=settings.reuse_connections,
            tls_verify=settings.tls_verify,
            max_idle=settings.concurrency,
            tls_ca_file=settings.tls_ca_file,
        )
        self.results = results or Results(self.targets)

    async def sweep(self) -> SweepReport:
        """Probe every target once, record the results and report on the sweep."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        timeout = self.settings.timeout
        sweep_deadline = loop.time() + timeout + self.settings.margin
        found: list[ProbeResult | None] = [None] * len(self.targets)
        queue = iter(range(len(self.targets)))
        self.client.new_sweep()

        async def work() -> None:
            for index in queue:
                now = loop.time()
                if now >= sweep_deadline:
                    found[index] = ProbeResult(False, timeout, "timeout", _NOT_STARTED)
                    continue
                found[index] = await self._probe_one(index, min(now + timeout, sweep_deadline))

        workers = [
            asyncio.create_task(work())
            for _ in range(min(self.settings.concurrency, len(self.targets)))
        ]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        probes = [r or ProbeResult(False, timeout, "timeout", _NOT_STARTED) for r in found]
        report = SweepReport(
            finished=time.time(),
            duration=time.perf_counter() - started,
            targets=len(probes),
            up=sum(1 for r in probes if r.up),
            not_started=sum(1 for r in probes if r.detail == _NOT_STARTED),
        )
        self.results.record(probes, report, self.client.cert_expiry)
        if report.not_started:
            log.warning("sweep deadline hit: %d targets not probed", report.not_started)
        return report

    async def _probe_one(self, index: int, deadline: float) -> ProbeResult:
        target = self.targets[index]
        try:
            return await probe(self.client, target, deadline)
        except Exception as exc:  # a bug must not end the sweep: record it and keep going
            log.exception("probe of %s failed unexpectedly", target.url)
            return ProbeResult(False, 0.0, "connect", f"internal error: {exc!r}")

    async def run(
        self, stop: asyncio.Event, on_sweep: Callable[[SweepReport], None] | None = None
    ) -> None:
        """Sweep every `interval` seconds until `stop` is set; missed ticks are skipped."""
        loop = asyncio.get_running_loop()
        next_start = loop.time()
        try:
            while not stop.is_set():
                report = await self.sweep()
                log.info(
                    "sweep %d: %d/%d up in %.3fs",
                    self.results.sweeps,
                    report.up,
                    report.targets,
                    report.duration,
                )
                if on_sweep is not None:
                    on_sweep(report)
                next_start = _next_tick(next_start, self.settings.interval, loop.time())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(next_start):
                        await stop.wait()
        finally:
            self.client.close()


def _next_tick(previous: float, interval: float, now: float) -> float:
    """The next start on the fixed grid, skipping ticks that already passed."""
    missed = max(0, math.floor((now - previous) / interval))
    return previous + interval * (missed + 1)
