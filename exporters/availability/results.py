"""The latest state of every target, kept between sweeps for the collector to read.

Plain parallel lists indexed like the targets keep the per-sweep update cheap; the
`generation` counter tells readers (the collector, the exposition cache) when it changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from exporters.availability.probe import ProbeResult
from exporters.availability.targets import Target


@dataclass(frozen=True)
class SweepReport:
    """One finished sweep: when it ended, how long it took and what it found."""

    finished: float
    duration: float
    targets: int
    up: int
    not_started: int


class Results:
    """Per-target up, duration, last success and failure counts, plus sweep totals."""

    def __init__(self, targets: Sequence[Target]) -> None:
        self.targets: tuple[Target, ...] = tuple(targets)
        self.label_dicts: tuple[dict[str, str], ...] = tuple(t.label_dict() for t in targets)
        count = len(self.targets)
        self.up: list[bool] = [False] * count
        self.duration: list[float] = [0.0] * count
        self.last_success: list[float] = [0.0] * count
        self.failures: list[dict[str, int]] = [{} for _ in range(count)]
        self.sweeps = 0
        self.last_sweep: SweepReport | None = None
        self.generation = 0
        # "host:port" -> Unix time its TLS certificate expires, as last seen.
        self.cert_expiry: dict[str, float] = {}

    def record(
        self,
        probes: Sequence[ProbeResult],
        report: SweepReport,
        cert_expiry: Mapping[str, float] | None = None,
    ) -> None:
        """Fold one sweep's results (in target order) into the state."""
        if len(probes) != len(self.targets):
            raise ValueError(f"{len(probes)} results for {len(self.targets)} targets")
        for index, result in enumerate(probes):
            self.up[index] = result.up
            self.duration[index] = result.duration
            if result.up:
                self.last_success[index] = report.finished
            else:
                counts = self.failures[index]
                reason = result.reason or "connect"
                counts[reason] = counts.get(reason, 0) + 1
        if cert_expiry is not None:
            self.cert_expiry = dict(cert_expiry)
        self.sweeps += 1
        self.last_sweep = report
        self.generation += 1
