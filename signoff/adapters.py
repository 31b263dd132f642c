"""Adapters from the project's evidence sources to `signoff.evidence`'s protocols.

Every detail of another part's storage or metric names lives here, in one place, so the
decision logic never changes when a source does: Prometheus' HTTP API for availability,
SMS and the citizen database, and the readiness results store of `checks`.
Every answer is read strictly: anything not shaped as documented is "evidence
unreadable", never a traceback and never a silently empty (green) answer.
"""

from __future__ import annotations

import json
import math
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks.results import Estate, Run, Store, StoreMissing, StoreUnreadable
from dvc_rollout.errors import DvcRolloutError, UsageError
from signoff.evidence import (
    CheckResult,
    DeviceRun,
    EstateRef,
    EvidenceUnavailable,
    Maintenance,
    Series,
    Window,
)

SERVICE_UP = "dvc_service_up"
SMS_E2E = "dvc_sms_e2e_success"
CITIZEN_DB_UP = "dvc_citizen_db_up"
UNIT_KEYS = ("unit_code", "service")
UNREADABLE = "evidence unreadable"


class StoreCorrupt(UsageError):
    """The results store is not readable as one: exit 2, it is not a verdict."""


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _duration(text: str) -> float:
    """Prometheus' `1m30s`, `15s`, `500ms` -> seconds; ValueError when it is not one."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total, number, i = 0.0, "", 0
    while i < len(text):
        if text[i].isdigit():
            number += text[i]
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else text[i]
        if not number or unit not in units:
            raise ValueError(f"not a Prometheus duration: {text!r}")
        total += int(number) * units[unit]
        number, i = "", i + len(unit)
    if number or total <= 0:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return total


class Prometheus:
    """A thin client for `/api/v1/query`: instant queries at a given time, errors explained."""

    name = "prometheus"

    def __init__(self, url: str, timeout: float = 20.0) -> None:
        self.where = url.rstrip("/")
        self.timeout = timeout

    def get(self, path: str, params: Mapping[str, str], what: str) -> Any:
        """GET one API path; the decoded `data` of a `success` answer, or unavailable."""
        url = f"{self.where}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace")
            raise EvidenceUnavailable(
                self.name, f"{self.where} answered HTTP {exc.code} to {what}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EvidenceUnavailable(
                self.name,
                f"cannot query {self.where} ({reason}): start Prometheus or pass --prometheus URL",
            ) from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise self._unreadable(what, f"not JSON: {raw[:120]!r}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            raise self._unreadable(what, f"not a success answer: {body!r:.200}")
        if "data" not in body:
            raise self._unreadable(what, "the answer has no data")
        return body["data"]

    def _unreadable(self, what: str, why: str) -> EvidenceUnavailable:
        return EvidenceUnavailable(self.name, f"{UNREADABLE}: {self.where} answered {what} {why}")

    def query(self, promql: str, at: datetime | None = None) -> list[tuple[dict[str, str], float]]:
        """Run one instant query; (labels, value) per series, values as sent (NaN, ±Inf kept)."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        data = self.get("/api/v1/query", params, repr(promql))
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise self._unreadable(repr(promql), f"with no instant vector: {data!r:.200}")
        result = data.get("result")
        if not isinstance(result, list):
            raise self._unreadable(repr(promql), f"with a result that is no list: {result!r:.200}")
        found = []
        for item in result:
            try:
                labels, (stamp, text) = item["metric"], item["value"]
                if not isinstance(labels, dict) or not isinstance(text, str):
                    raise TypeError(item)
                float(stamp)
                value = float(text)
            except (KeyError, TypeError, ValueError):
                raise self._unreadable(
                    repr(promql), f'a sample that is not [time, "value"]: {item!r:.200}'
                ) from None
            found.append(({str(k): str(v) for k, v in labels.items()}, value))
        return found

    def scrape_intervals(self) -> dict[str, float]:
        """job -> scrape interval in seconds, from the active targets Prometheus reports."""
        data = self.get("/api/v1/targets", {"state": "active"}, "the targets API")
        targets = data.get("activeTargets") if isinstance(data, dict) else None
        if not isinstance(targets, list):
            raise self._unreadable("the targets API", f"without activeTargets: {data!r:.200}")
        found: dict[str, float] = {}
        for t in targets:
            try:
                found[str(t["labels"]["job"])] = _duration(str(t["scrapeInterval"]))
            except (KeyError, TypeError, ValueError):
                raise self._unreadable(
                    "the targets API", f"a target without job or scrapeInterval: {t!r:.200}"
                ) from None
        return found


def _finite_fraction(value: float, metric: str) -> str | None:
    """Why a mean of a 0/1 metric is no evidence, or None if it is one."""
    if not math.isfinite(value):
        return f"{UNREADABLE}: non-finite {metric} sample(s) in the window (mean {value})"
    if not 0.0 <= value <= 1.0:
        return f"{UNREADABLE}: {metric} outside 0..1 in the window (mean {value})"
    return None


class PrometheusMetrics:
    """`MetricsSource` over Prometheus: mean, sample count and last sample of each series.

    The samples a series should hold are the window over its job's scrape interval
    (Prometheus' targets API, or `scrape_interval` when given): an exporter down for
    hours leaves a gap that shows as low coverage, whatever the mean of what is left.
    """

    name = "prometheus"

    def __init__(
        self, url: str, timeout: float = 20.0, scrape_interval: float | None = None
    ) -> None:
        self.client = Prometheus(url, timeout)
        self.where = self.client.where
        self.scrape_interval = scrape_interval
        self._intervals: dict[str, float] | None = None

    def _interval(self, job: str) -> float | None:
        if self.scrape_interval is not None:
            return self.scrape_interval
        if self._intervals is None:
            self._intervals = self.client.scrape_intervals()
        return self._intervals.get(job)

    def _summaries(
        self, metric: str, selector: str, by: Sequence[str], as_of: datetime, window: Window
    ) -> dict[tuple[str, ...], Series]:
        sel = f"{metric}{{{selector}}}"
        keys = (*by, "job")
        grouping = f"by ({', '.join(keys)})"
        w = window.text
        means = self.client.query(f"avg {grouping} (avg_over_time({sel}[{w}]))", as_of)
        counts = self.client.query(f"min {grouping} (count_over_time({sel}[{w}]))", as_of)
        lasts = self.client.query(f"max {grouping} (timestamp({sel}))", as_of)

        def key(labels: Mapping[str, str]) -> tuple[str, ...]:
            return tuple(labels.get(k, "") for k in keys)

        count = {key(m): v for m, v in counts}
        last = {key(m): v for m, v in lasts}
        found: dict[tuple[str, ...], Series] = {}
        for labels, mean in means:
            k = key(labels)
            interval = self._interval(k[-1])
            invalid = _finite_fraction(mean, metric)
            if interval is None:
                invalid = invalid or (
                    f"no scrape interval known for job {k[-1]!r} (not among Prometheus' "
                    "active targets): pass --scrape-interval"
                )
            series = Series(
                ratio=None if invalid else mean,
                samples=int(count.get(k, 0)) if math.isfinite(count.get(k, 0)) else 0,
                expected_samples=int(window.seconds // interval) if interval else 0,
                interval_seconds=interval,
                last_sample=_ts(last[k]) if k in last and math.isfinite(last[k]) else None,
                invalid=invalid,
            )
            # A pair in two jobs (an exporter being resharded): the better-covered counts.
            short = k[:-1]
            if short not in found or _rank(series) > _rank(found[short]):
                found[short] = series
        return found

    def availability(
        self, phase: int, units: Sequence[str], as_of: datetime, window: Window
    ) -> Mapping[tuple[str, str], Series]:
        found = self._summaries(SERVICE_UP, f'phase="{phase}"', UNIT_KEYS, as_of, window)
        wanted = set(units)
        return {(u, s): v for (u, s), v in found.items() if u in wanted}

    def _single(self, metric: str, as_of: datetime, window: Window) -> Series | None:
        # The worst series decides: one failing SMS route is a failing switchboard.
        found = self._summaries(metric, "", ("instance", "smsc"), as_of, window)
        if not found:
            return None
        return min(found.values(), key=_worst)

    def sms(self, as_of: datetime, window: Window) -> Series | None:
        return self._single(SMS_E2E, as_of, window)

    def citizen_db(self, as_of: datetime, window: Window) -> Series | None:
        return self._single(CITIZEN_DB_UP, as_of, window)


def _rank(series: Series) -> tuple[bool, float]:
    return (series.invalid is None, series.coverage)


def _worst(series: Series) -> tuple[bool, float, float]:
    """Order series worst first: unusable, then least covered or lowest, then lowest mean."""
    return (series.invalid is None, min(series.coverage, series.ratio or 0.0), series.ratio or 0.0)


class ResultsStoreReadiness:
    """`ReadinessSource` over the sealed results store of `dvc-rollout check`.

    Read-only through `checks.results.Store`'s read API; the whole seal chain is verified
    before any of it is used, so evidence edited after it was sealed is never judged.
    """

    name = "readiness"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._head: str | None = None

    def _store(self) -> Store:
        try:
            return Store(self.path, read_only=True)
        except StoreMissing:
            raise EvidenceUnavailable(
                self.name,
                f"no results store at {self.path}: run `dvc-rollout check` or pass --results",
            ) from None
        except StoreUnreadable as exc:
            raise StoreCorrupt(f"--results: {exc}") from None

    def head(self) -> str | None:
        return self._head

    def devices(
        self, estate: EstateRef, hosts: Sequence[str], as_of: datetime
    ) -> Mapping[str, DeviceRun]:
        store = self._store()
        try:
            verified = store.verify()
            if not verified.intact:
                raise EvidenceUnavailable(
                    self.name,
                    f"the results store's seal chain is broken at {verified.breaks[0]}: its "
                    f"evidence is not used (see `dvc-rollout check verify --db {self.path}`)",
                )
            self._head = verified.head
            cutoff = as_of.astimezone(UTC).isoformat(timespec="microseconds")
            runs = store.estate_runs(Estate(estate.stack, estate.kind), cutoff)
            if not runs:
                held = ", ".join(f"{n}: {c} run(s)" for n, c in sorted(store.estates().items()))
                raise EvidenceUnavailable(
                    self.name,
                    f"no check run of estate {estate.name} in {self.path} (it holds "
                    f"{held or 'no runs'}): run `dvc-rollout check --stack {estate.stack}` "
                    "on this estate",
                )
            return _newest(store, runs, hosts, cutoff)
        except StoreUnreadable as exc:
            raise StoreCorrupt(f"--results: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"--results: cannot read {self.path}: {exc}") from None


def _targeted(run: Run, host: str) -> bool:
    return host in (run.estate.hosts if run.estate else {}) or host in run.expected


def _newest(
    store: Store, runs: Sequence[Run], hosts: Sequence[str], cutoff: str
) -> dict[str, DeviceRun]:
    """Per host, the newest run (first in `runs`) that targeted it, with its results."""
    chosen: dict[str, Run] = {}
    for host in hosts:
        for run in runs:
            if _targeted(run, host):
                chosen[host] = run
                break
    by_run: dict[int, list[str]] = {}
    for host, run in chosen.items():
        by_run.setdefault(run.run_id, []).append(host)
    found: dict[str, DeviceRun] = {}
    for run_id, run_hosts in by_run.items():
        run = chosen[run_hosts[0]]
        complete = run.complete_at(cutoff)
        results = [r for r in store.results(run_id, hosts=run_hosts) if r.time <= cutoff]
        for host in run_hosts:
            found[host] = DeviceRun(
                host=host,
                run_id=str(run_id),
                started=datetime.fromisoformat(run.started),
                complete=complete,
                seal=run.seal,
                collected=tuple(run.expected.get(host, ())),
                checks=tuple(
                    CheckResult(check=r.check_id, outcome=r.outcome, message=r.message)  # type: ignore[arg-type]
                    for r in results
                    if r.host == host
                ),
            )
    return found


class AlertmanagerMaintenance:
    """Maintenance windows as Alertmanager keeps them (silences made by
    `dvc-rollout maintenance`, or by hand), read through `maintenance.silences`."""

    name = "alertmanager"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.where = url
        self.timeout = timeout

    def windows(self, start: datetime, end: datetime) -> list[Maintenance]:
        from maintenance import silences

        try:
            found = silences.list_silences(self.where, self.timeout)
        except DvcRolloutError as exc:
            raise EvidenceUnavailable(self.name, str(exc)) from None
        return [
            Maintenance(
                id=s.id,
                district_code=s.district_code,
                matchers=s.matchers,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                author=s.created_by,
                comment=s.comment,
            )
            for s in silences.overlapping(found, start, end)
        ]
