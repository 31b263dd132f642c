"""Runs the fault matrix: each cell as soon as the parts it breaks and needs are free.

For every cell: apply the fault, wait until each expected alert reaches its receiver
(time from fault to notification), check that no critical alert fires that no running
lane can explain, undo the fault, and wait until each alert is notified resolved. The
outcome of every cell is kept, green or not, so one run shows the whole matrix.

Cells run side by side unless one breaks what the other breaks or needs
(`Cell.conflicts`); conflicting cells run in the order the matrix lists them, none
overtaking an earlier one it conflicts with. A cell holds what it breaks alone until
its fault is undone, then only shares it until its alerts have resolved: a cell that
needs the part may start then, one that breaks it may not.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
    # Seconds spent applying and undoing the fault (Docker's part of the cell's time).
    applying: float = 0.0
    undoing: float = 0.0

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
            "apply_seconds": round(self.applying, 1),
            "undo_seconds": round(self.undoing, 1),
            "started_at": self.started,
        }


class Explained:
    """The alerts the lanes running now may raise, for the unrelated-critical check. A
    lane runs from its first cell's start to its last cell's end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._related: dict[str, frozenset[str]] = {}
        self._left: Counter[str] = Counter()

    def plan(self, lane: Lane) -> None:
        with self._lock:
            self._left[lane.name] = len(lane.cells)

    def enter(self, lane: Lane) -> None:
        with self._lock:
            self._related[lane.name] = lane.related

    def leave(self, lane: Lane) -> None:
        """One cell of `lane` is done; the lane leaves with its last."""
        with self._lock:
            self._left[lane.name] -= 1
            if self._left[lane.name] <= 0:
                self._related.pop(lane.name, None)

    def explains(self, alertname: str) -> bool:
        with self._lock:
            return any(alertname in r or r == ANY for r in self._related.values())

    def explains_all(self) -> bool:
        with self._lock:
            return any(r == ANY for r in self._related.values())


class Parts:
    """What the running cells have broken (alone) and what they are watched through."""

    def __init__(self) -> None:
        self.broken: Counter[str] = Counter()
        self.relied: Counter[str] = Counter()

    def free_for(self, cell: Cell) -> bool:
        held = {p for p, n in (self.broken + self.relied).items() if n > 0}
        broken = {p for p, n in self.broken.items() if n > 0}
        return not (cell.breaks & held) and not (cell.needs & broken)

    def take(self, cell: Cell) -> None:
        self.broken.update(cell.breaks)
        self.relied.update(cell.needs)

    def undone(self, cell: Cell) -> None:
        """The fault is undone: what it broke is shared until its alerts resolve."""
        self.broken.subtract(cell.breaks)
        self.relied.update(cell.breaks)

    def release(self, cell: Cell) -> None:
        """The cell is done (after `undone`)."""
        self.relied.subtract(cell.breaks)
        self.relied.subtract(cell.needs)


@dataclass
class Runner:
    monitor: Monitor
    explained: Explained = field(default_factory=Explained)
    outcomes: list[Outcome] = field(default_factory=list)
    parts: Parts = field(default_factory=Parts)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def run(self, lanes: Iterable[Lane]) -> list[Outcome]:
        """Every cell of `lanes`, each started as soon as it conflicts with no running cell
        and no earlier cell still waiting."""
        found = list(lanes)
        waiting = [(lane, cell) for lane in found for cell in lane.cells]
        for lane in found:
            self.explained.plan(lane)
        with ThreadPoolExecutor(max_workers=max(len(waiting), 1)) as pool:
            futures = []
            with self._changed:
                while waiting:
                    still: list[tuple[Lane, Cell]] = []
                    for lane, cell in waiting:
                        if self.parts.free_for(cell) and not any(
                            cell.conflicts(earlier) for _, earlier in still
                        ):
                            self.parts.take(cell)
                            self.explained.enter(lane)
                            futures.append(pool.submit(self._cell, lane, cell))
                        else:
                            still.append((lane, cell))
                    waiting = still
                    if waiting:
                        self._changed.wait()
            for future in futures:
                future.result()
        return self.outcomes

    def _cell(self, lane: Lane, cell: Cell) -> Outcome:
        outcome = Outcome(lane.name, cell, started=time.time())
        try:
            undo_started, undone = self._break_and_undo(outcome, cell)
        finally:
            with self._changed:
                self.parts.undone(cell)
                self._changed.notify_all()
        try:
            for expect in cell.expect:
                if expect.key() in outcome.fired:
                    self._await(outcome, expect, "resolved", undo_started, RESOLVE_TIMEOUT,
                                outcome.resolved, since_undone=undone)  # fmt: skip
        finally:
            outcome.ended = time.time()
            self.explained.leave(lane)
            with self._changed:
                self.outcomes.append(outcome)
                self.parts.release(cell)
                self._changed.notify_all()
        return outcome

    def _break_and_undo(self, outcome: Outcome, cell: Cell) -> tuple[float, float]:
        """Apply the fault and wait for its alerts; undo it whatever happened. Returns
        when the undoing started and ended."""
        fault = None
        try:
            fault = cell.fault()
            fault.apply()
            applied = time.time()
            outcome.applying = applied - outcome.started
            for expect in cell.expect:
                self._await(outcome, expect, "firing", applied, FIRE_TIMEOUT, outcome.fired)
            self._unexplained(outcome)
        except Exception as exc:
            outcome.problems.append(f"applying the fault: {exc!r}\n{traceback.format_exc()}")
        undo_started = time.time()
        try:
            if fault is not None:
                fault.undo()
        except Exception as exc:
            outcome.problems.append(f"undoing the fault: {exc!r}\n{traceback.format_exc()}")
        undone = time.time()
        outcome.undoing = undone - undo_started
        return undo_started, undone

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
                f"{expect.key()} not notified {status} within {timeout:.0f} s{elsewhere}; "
                f"{self._seen_by_prometheus(expect)}"
            )
            return
        start = since_undone if since_undone is not None else since
        into[expect.key()] = round(max(found.received_at - start, 0.0), 1)

    def _seen_by_prometheus(self, expect: Expect) -> str:
        """What Prometheus holds of the alert now, to tell a rule that never fired from a
        notification that went astray."""
        found = [
            f"{a['state']} {dict(sorted(a['labels'].items()))}"
            for a in self.monitor.alerts()
            if a["labels"].get("alertname") == expect.alertname
        ]
        return f"Prometheus has {'; '.join(found) if found else f'no {expect.alertname}'}"

    def _unexplained(self, outcome: Outcome) -> None:
        """No critical alert fires that none of the lanes running now can raise."""
        if self.explained.explains_all():
            return  # a lane that may raise anything runs: nothing to find (and Prometheus
            # may be the part it froze, which would hold this read for its whole timeout)
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
