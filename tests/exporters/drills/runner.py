"""Runs the fault matrix: lanes side by side, each lane's steps in turn, and times each cell.

For every cell: apply the fault, wait until each expected alert reaches its receiver
(time from fault to notification), check that no critical alert fires that no running
lane can explain, undo the fault, and wait until each alert is notified resolved. The
outcome of every cell is kept, green or not, so one run shows the whole matrix.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from tests.exporters.drills.matrix import ANY, Cell, Expect, Lane
from tests.exporters.drills.watch import Monitor, first, matches, wait_for

FIRE_TIMEOUT = 150.0
RESOLVE_TIMEOUT = 150.0


@dataclass
class Outcome:
    """What one cell did: seconds to each notification, and any problem found."""

    lane: str
    cell: Cell
    fired: dict[str, float] = field(default_factory=dict)
    resolved: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "component": self.cell.component,
            "failure": self.cell.failure,
            "how": self.cell.how,
            "expected": [e.key() for e in self.cell.expect],
            "fired_after_seconds": self.fired,
            "resolved_after_seconds": self.resolved,
            "problems": self.problems,
            "ok": self.ok,
            "seconds": round(self.ended - self.started, 1),
        }


class Explained:
    """The alerts the lanes running now may raise, for the unrelated-critical check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, frozenset[str]] = {}

    def enter(self, lane: Lane) -> None:
        with self._lock:
            self._running[lane.name] = lane.related

    def leave(self, lane: Lane) -> None:
        with self._lock:
            self._running.pop(lane.name, None)

    def explains(self, alertname: str) -> bool:
        with self._lock:
            return any(alertname in r or r == ANY for r in self._running.values())


@dataclass
class Runner:
    monitor: Monitor
    explained: Explained = field(default_factory=Explained)
    outcomes: list[Outcome] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, lanes: Iterable[Lane]) -> list[Outcome]:
        together = [lane for lane in lanes if not lane.alone]
        alone = [lane for lane in lanes if lane.alone]
        with ThreadPoolExecutor(max_workers=len(together) or 1) as pool:
            list(pool.map(self._lane, together))
        for lane in alone:
            self._lane(lane)
        return self.outcomes

    def _lane(self, lane: Lane) -> None:
        self.explained.enter(lane)
        try:
            ordered = sorted(lane.cells, key=lambda c: c.step)
            for _, group in groupby(ordered, key=lambda c: c.step):
                cells = list(group)
                with ThreadPoolExecutor(max_workers=len(cells)) as pool:
                    outcomes = list(pool.map(lambda c: self._cell(lane, c), cells))
                with self._lock:
                    self.outcomes.extend(outcomes)
        finally:
            self.explained.leave(lane)

    def _cell(self, lane: Lane, cell: Cell) -> Outcome:
        outcome = Outcome(lane.name, cell, started=time.time())
        fault = cell.fault()
        try:
            fault.apply()
            applied = time.time()
            for expect in cell.expect:
                self._await(outcome, expect, "firing", applied, FIRE_TIMEOUT, outcome.fired)
            self._unexplained(outcome)
        except Exception as exc:
            outcome.problems.append(f"applying the fault: {exc!r}\n{traceback.format_exc()}")
        undo_started = time.time()
        try:
            fault.undo()
        except Exception as exc:
            outcome.problems.append(f"undoing the fault: {exc!r}\n{traceback.format_exc()}")
        undone = time.time()
        for expect in cell.expect:
            if expect.key() in outcome.fired:
                self._await(outcome, expect, "resolved", undo_started, RESOLVE_TIMEOUT,
                            outcome.resolved, since_undone=undone)  # fmt: skip
        outcome.ended = time.time()
        return outcome

    def _await(
        self,
        outcome: Outcome,
        expect: Expect,
        status: str,
        since: float,
        timeout: float,
        into: dict[str, float],
        since_undone: float | None = None,
    ) -> None:
        wanted = expect.wanted()

        def seen() -> Any:
            return first(
                (n for n in self.monitor.notified(since) if n.receiver == expect.receiver),
                status,
                wanted,
            )

        found = wait_for(seen, timeout)
        if found is None:
            receivers = sorted(
                {n.receiver for n in self.monitor.notified(since)
                 if n.status == status and matches(n.labels, wanted)}
            )  # fmt: skip
            elsewhere = f" (it went to {', '.join(receivers)})" if receivers else ""
            outcome.problems.append(
                f"{expect.key()} not notified {status} within {timeout:.0f} s{elsewhere}"
            )
            return
        start = since_undone if since_undone is not None else since
        into[expect.key()] = round(max(found.received_at - start, 0.0), 1)

    def _unexplained(self, outcome: Outcome) -> None:
        """No critical alert fires that none of the lanes running now can raise."""
        strays = sorted(
            {
                a["labels"]["alertname"]
                for a in self.monitor.firing()
                if a["labels"].get("severity") == "critical"
                and not self.explained.explains(a["labels"]["alertname"])
            }
        )
        if strays:
            outcome.problems.append(f"unrelated critical alerts firing: {', '.join(strays)}")


def summary(outcomes: Iterable[Outcome]) -> Mapping[str, int]:
    found = list(outcomes)
    return {"cells": len(found), "green": sum(1 for o in found if o.ok)}
