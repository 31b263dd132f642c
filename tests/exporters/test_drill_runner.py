"""The fault matrix's runner: which cells it lets run side by side, and in what order;
and how the drills read the receivers' logs.

No lab: the cells' faults only note when they were applied and undone, and the monitor
reports every expected alert notified at once (firing, then resolved).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from tests.exporters.drills import watch
from tests.exporters.drills.matrix import ANY, Cell, Expect, Lane
from tests.exporters.drills.runner import Parts, Runner
from tests.exporters.drills.watch import Monitor, Notified

ALERT = Expect("DvcDrillTest", "critical", "default")


@dataclass
class Log:
    """(cell name, what, when) for every apply and undo."""

    events: list[tuple[str, str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, name: str, what: str) -> None:
        with self.lock:
            self.events.append((name, what, time.monotonic()))

    def faulted(self, name: str) -> tuple[float, float]:
        """When the cell's fault was applied and undone."""
        found = {what: when for n, what, when in self.events if n == name}
        return found["apply"], found["undo"]


@dataclass
class NoteFault:
    log: Log
    name: str
    seconds: float = 0.2

    def apply(self) -> None:
        self.log.note(self.name, "apply")
        time.sleep(self.seconds)

    def undo(self) -> None:
        self.log.note(self.name, "undo")


class EveryAlertAtOnce:
    """A monitor whose receivers got every alert, firing and resolved, just now."""

    def notified(self, since: float = 0.0) -> list[Notified]:
        now = time.time()
        return [Notified(ALERT.receiver, s, ALERT.wanted(), now) for s in ("firing", "resolved")]  # type: ignore[arg-type]

    def alerts(self) -> list[dict[str, Any]]:
        return []

    def firing(self) -> list[dict[str, Any]]:
        return []


def cell(log: Log, name: str, breaks: set[str], needs: set[str] = set()) -> Cell:  # noqa: B006
    return Cell(name, "stopped", "test", lambda: NoteFault(log, name), (ALERT,), 0,
                frozenset(breaks), frozenset(needs))  # fmt: skip


def run(*cells: Cell) -> list[Any]:
    return Runner(EveryAlertAtOnce()).run([Lane("test", ANY, cells)])  # type: ignore[arg-type]


def overlap(log: Log, a: str, b: str) -> bool:
    (a0, a1), (b0, b1) = log.faulted(a), log.faulted(b)
    return a0 < b1 and b0 < a1


def test_cells_on_different_parts_run_side_by_side() -> None:
    log = Log()
    outcomes = run(cell(log, "nginx", {"nginx"}), cell(log, "postgres", {"postgres"}))
    assert [o.ok for o in outcomes] == [True, True]
    assert overlap(log, "nginx", "postgres")


def test_a_cell_never_breaks_what_another_breaks_or_needs_meanwhile() -> None:
    log = Log()
    run(
        cell(log, "kannel stopped", {"kannel"}, {"kannel exporter"}),
        cell(log, "exporter stopped", {"kannel exporter"}),
        cell(log, "sim-a stopped", {"sim-a"}, {"kannel", "kannel exporter"}),
        cell(log, "kannel hung", {"kannel"}, {"kannel exporter"}),
    )
    for a, b in [
        ("kannel stopped", "exporter stopped"),
        ("kannel stopped", "sim-a stopped"),
        ("kannel stopped", "kannel hung"),
        ("exporter stopped", "sim-a stopped"),
        ("sim-a stopped", "kannel hung"),
    ]:
        assert not overlap(log, a, b), (a, b)


def test_conflicting_cells_keep_the_matrix_order() -> None:
    log = Log()
    names = ["first", "second", "third"]
    run(*(cell(log, n, {"kannel"}) for n in names))
    starts = [log.faulted(n)[0] for n in names]
    assert starts == sorted(starts)


def test_a_later_cell_does_not_overtake_an_earlier_one_it_conflicts_with() -> None:
    log = Log()
    run(
        cell(log, "long", {"sim-a"}, {"kannel"}),
        cell(log, "waits for long", {"kannel"}),
        cell(log, "needs kannel too", {"loopback"}, {"kannel"}),
    )
    # "needs kannel too" does not conflict with "long" but with the waiting "waits for long".
    assert log.faulted("needs kannel too")[0] >= log.faulted("waits for long")[1]


def test_what_a_cell_broke_is_shared_until_its_alerts_resolve() -> None:
    parts = Parts()
    log = Log()
    recorder = cell(log, "recorder stopped", {"recorder"}, {"prometheus"})
    reader = cell(log, "nginx stopped", {"nginx"}, {"recorder", "prometheus"})
    breaker = cell(log, "recorder hung", {"recorder"}, {"prometheus"})
    parts.take(recorder)
    assert not parts.free_for(reader) and not parts.free_for(breaker)
    parts.undone(recorder)  # the recorder is back; its alert is still to resolve
    assert parts.free_for(reader) and not parts.free_for(breaker)
    parts.release(recorder)
    assert parts.free_for(breaker)


def test_the_pipeline_breakers_wait_for_every_cell_that_needs_the_pipeline() -> None:
    log = Log()
    run(
        cell(log, "nginx", {"nginx"}, {"prometheus"}),
        cell(log, "postgres", {"postgres"}, {"prometheus"}),
        cell(log, "prometheus stopped", {"prometheus"}),
    )
    ends = max(log.faulted("nginx")[1], log.faulted("postgres")[1])
    assert log.faulted("prometheus stopped")[0] >= ends


def _item(n: int, status: str, receiver: str = "default") -> dict[str, Any]:
    when = datetime.fromtimestamp(1_000_000 + n, UTC).isoformat()
    alert = {"status": status, "labels": {"alertname": f"A{n}"}}
    return {"id": n, "receiver": receiver, "received_at": when,
            "payload": {"receiver": receiver, "alerts": [alert]}}  # fmt: skip


def test_the_monitor_reads_each_notification_once_and_keeps_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs: dict[str, Any] = {"webhook": [_item(1, "firing")], "deadman": []}
    reads: list[str] = []

    def http(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        role = url.split("//")[1].split("/")[0]
        reads.append(role)
        return (0, None) if logs[role] is None else (200, logs[role])

    monkeypatch.setattr(watch, "http", http)
    monkeypatch.setattr(watch, "FRESH", 0.0)
    lab = SimpleNamespace(endpoints={"webhook": "http://webhook", "deadman": "http://deadman"})
    monitor = Monitor(lab)  # type: ignore[arg-type]
    assert [n.labels["alertname"] for n in monitor.notified()] == ["A1"]
    logs["webhook"] = [_item(1, "firing"), _item(2, "resolved")]
    logs["deadman"] = [_item(3, "firing", "deadman")]
    found = monitor.notified(since=1_000_002)
    assert [(n.receiver, n.status, n.received_at) for n in found] == [
        ("default", "resolved", 1_000_002),
        ("deadman", "firing", 1_000_003),
    ]
    logs["webhook"] = None  # the recorder stopped: what it said before still counts
    assert len(monitor.notified()) == 3
    logs["webhook"] = [_item(1, "firing")]  # its log cleared and begun again
    assert [n.labels["alertname"] for n in monitor.notified()] == ["A1", "A3"]
    assert reads.count("webhook") == 4


def test_the_monitor_shares_one_read_between_drills(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []

    def http(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(url)
        return 200, []

    monkeypatch.setattr(watch, "http", http)
    lab = SimpleNamespace(endpoints={"webhook": "http://webhook", "deadman": "http://deadman"})
    monitor = Monitor(lab)  # type: ignore[arg-type]
    for _ in range(5):
        monitor.notified()
    assert len(reads) == 2  # one read of each log within FRESH seconds


def test_the_production_column_knows_every_alert_rule_file() -> None:
    """Each alert the rules define has its production `for:` in the matrix's report: an
    alert whose file the report skipped read as `for: 0`, and its production time came
    out a minute short (the SMS relay's, in notifications.yml: 0.8 min, not 1.8)."""
    from exporters import rule_tests
    from tests.exporters.drills import report

    fors = report.production_for()
    defined = {
        name
        for path in rule_tests.RULES_DIR.glob("*.yml")
        for name in rule_tests.load_alert_rules(path)
    }
    assert "DvcSmsRelayGatewayFailing" in defined
    assert defined <= set(fors)
    assert fors["DvcSmsRelayGatewayFailing"] == 60
