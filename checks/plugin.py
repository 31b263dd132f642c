"""The pytest plugin that turns a check session into recorded, per-site evidence.

Loaded with `-p checks.plugin` by `dvc-rollout check`. The controller process (not the
xdist workers) writes every result to the store the moment it arrives, prints a line
as each site finishes, and marks the run complete only if every collected check
reported and no worker died, so an interrupted run stays `incomplete`.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from checks.checkset import check_id
from checks.results import Result, Store, now
from checks.selection import Target, read_targets

TARGET_PROPERTY = "dvc_target"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dvc-rollout", "go-live readiness checks")
    group.addoption("--dvc-targets", help="JSON file of check targets (written by `check`)")
    group.addoption("--dvc-db", help="results store (default: $DVC_STATE_DIR/results.sqlite)")
    group.addoption("--dvc-run", type=int, help="run id opened by `dvc-rollout check`")


def outcome_and_message(report: pytest.TestReport) -> tuple[str, str]:
    """Classify a report: a failed assertion is `failed`, anything else raised is `error`."""
    if report.passed:
        return ("passed" if report.when == "call" else "error", "")
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return "skipped", reason.removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    for prefix in ("AssertionError: ", "Failed: "):
        if text.startswith(prefix) and report.when == "call":
            message = text.removeprefix(prefix).split("\nassert ", 1)[0].strip()
            return "failed", message
    if text == "AssertionError" and report.when == "call":
        return "failed", report.longreprtext.strip().splitlines()[-1]
    return "error", text.strip().removeprefix("checks.hosts.HostUnreachable: ")


class Recorder:
    """Writes results and progress from the controller process."""

    def __init__(self, config: pytest.Config, targets: dict[str, Target]) -> None:
        db = config.getoption("dvc_db")
        self.store = Store(db) if db else Store()
        run = config.getoption("dvc_run")
        self.run_id: int = run if run else self.store.start_run({"targets": sorted(targets)})
        self.targets = targets
        self.expected: Counter[str] = Counter()
        # Target id -> the check ids collected for it: recorded with the run, so a
        # sign-off can tell a run of the full check set from a narrowed one.
        self.collected: defaultdict[str, set[str]] = defaultdict(set)
        self.collected_by: set[str] = set()
        self.done: Counter[str] = Counter()
        self.bad: defaultdict[str, list[str]] = defaultdict(list)
        self.crashed = False
        self.sites_done = 0

    def expect(self, source: str, nodeids: list[str]) -> None:
        """Per-target totals from one collection (identical on every xdist worker)."""
        if self.collected_by:
            self.collected_by.add(source)
            return
        self.collected_by.add(source)
        for nodeid in nodeids:
            if "[" in nodeid:
                param = nodeid.rsplit("[", 1)[1].split("]", 1)[0]  # drop xdist's `@group`
                self.expected[param] += 1
                self.collected[param].add(check_id(nodeid))

    def record(self, report: pytest.TestReport, outcome: str, message: str) -> None:
        key = dict(report.user_properties).get(TARGET_PROPERTY)
        target = self.targets.get(str(key))
        if target is None:
            return
        self.store.add(
            Result(
                run_id=self.run_id,
                time=now(),
                site_code=target.site_code,
                unit=target.unit,
                host=target.host,
                check_id=check_id(report.nodeid),
                outcome=outcome,
                message=message,
                duration=round(report.duration, 4),
                unit_code=target.unit_code,
                district=target.district,
                district_code=target.district_code,
                phase=target.phase,
                go_live=target.go_live,
            )
        )
        self.done[target.id] += 1
        if outcome not in ("passed", "skipped"):
            self.bad[target.id].append(check_id(report.nodeid))
        if self.expected and self.done[target.id] == self.expected[target.id]:
            self.sites_done += 1
            verdict = "ready" if not self.bad[target.id] else "NOT READY: "
            verdict += ", ".join(self.bad[target.id])
            total = len(self.expected)
            print(
                f"[{self.sites_done:>3}/{total}] {target.site_code} {target.host}: {verdict}",
                file=sys.stderr,
                flush=True,
            )

    def complete(self) -> bool:
        if self.crashed or not self.expected:
            return False
        return all(self.done[t] >= n for t, n in self.expected.items())


_RECORDER: Recorder | None = None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _targets(config: pytest.Config) -> list[Target]:
    path = config.getoption("dvc_targets")
    return read_targets(Path(path)) if path else []


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    global _RECORDER
    config.stash[_TARGETS] = _targets(config)
    if not _is_worker(config):
        _RECORDER = Recorder(config, {t.id: t for t in config.stash[_TARGETS]})


_TARGETS = pytest.StashKey[list[Target]]()


def targets_of(config: pytest.Config) -> list[Target]:
    """The selection this session checks (used by `checks/conftest.py`)."""
    return config.stash.get(_TARGETS, [])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("target") if callspec is not None else None
        if isinstance(target, Target):
            item.user_properties.append((TARGET_PROPERTY, target.id))
    if _RECORDER is not None and not _is_worker(config):
        _RECORDER.expect("main", [i.nodeid for i in items])


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Every check of a host on one worker (see checks/scheduling.py)."""
    from checks import scheduling

    return scheduling.make(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    if _RECORDER is not None:
        _RECORDER.expect(str(getattr(node, "gateway", node)), ids)


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Any) -> None:
    if _RECORDER is not None:
        _RECORDER.crashed = True


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _RECORDER is None:
        return
    outcome, message = outcome_and_message(report)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _RECORDER.record(report, outcome, message)
    elif report.when == "teardown" and report.failed:
        _RECORDER.record(report, "error", f"teardown: {message}")
    elif report.when not in ("setup", "call", "teardown"):
        # xdist reports a check whose worker died with a made-up phase.
        _RECORDER.crashed = True
        _RECORDER.record(report, "error", f"the check process died: {message}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _RECORDER is None or _is_worker(session.config):
        return
    interrupted = exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    if not interrupted and _RECORDER.complete():
        _RECORDER.store.finish_run(_RECORDER.run_id, _RECORDER.collected)
    session.config.stash[RUN_ID] = _RECORDER.run_id


RUN_ID = pytest.StashKey[int]()
