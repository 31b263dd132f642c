"""Adapters from the project's evidence sources to `signoff.evidence`'s protocols.

Every detail of another part's storage or metric names lives here, in one place, so the
decision logic never changes when a source does: Prometheus' HTTP API for availability,
SMS and the citizen database, and the readiness results store of `checks`.
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

from signoff.evidence import CheckResult, EvidenceUnavailable, ReadinessRun, Series, Window

SERVICE_UP = "dvc_service_up"
SMS_E2E = "dvc_sms_e2e_success"
CITIZEN_DB_UP = "dvc_citizen_db_up"
UNIT_KEYS = ("unit_code", "service")


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


class Prometheus:
    """A thin client for `/api/v1/query`: instant queries at a given time, errors explained."""

    name = "prometheus"

    def __init__(self, url: str, timeout: float = 20.0) -> None:
        self.where = url.rstrip("/")
        self.timeout = timeout

    def query(self, promql: str, at: datetime | None = None) -> list[tuple[dict[str, str], float]]:
        """Run one instant query; return (labels, value) per series, NaN values dropped."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        url = f"{self.where}/api/v1/query?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body: Any = json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace")
            raise EvidenceUnavailable(
                self.name, f"{self.where} answered HTTP {exc.code} to {promql!r}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EvidenceUnavailable(
                self.name,
                f"cannot query {self.where} ({reason}): start Prometheus or pass --prometheus URL",
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            raise EvidenceUnavailable(self.name, f"{self.where} refused {promql!r}: {body!r:.300}")
        found = []
        for item in body.get("data", {}).get("result", []):
            value = float(item["value"][1])
            if not math.isnan(value):
                found.append((dict(item["metric"]), value))
        return found


def _resolution(window: Window) -> str:
    """Subquery step: ~100 points a window, so coverage stays cheap to find.

    The first sample is found at this step, so it may read up to one step late: 1% of the
    window, well inside the coverage tolerance (a 15 s floor made a 90 s window 83%).
    """
    return f"{max(1, window.seconds // 100)}s"


class PrometheusMetrics:
    """`MetricsSource` over Prometheus: mean, first and last sample of each series."""

    name = "prometheus"

    def __init__(self, url: str, timeout: float = 20.0) -> None:
        self.client = Prometheus(url, timeout)
        self.where = self.client.where

    def _summaries(
        self, metric: str, selector: str, by: Sequence[str], as_of: datetime, window: Window
    ) -> dict[tuple[str, ...], Series]:
        sel = f"{metric}{{{selector}}}"
        grouping = f"by ({', '.join(by)}) " if by else ""
        means = self.client.query(f"avg {grouping}(avg_over_time({sel}[{window.text}]))", as_of)
        firsts = self.client.query(
            f"min {grouping}(min_over_time(timestamp({sel})[{window.text}:{_resolution(window)}]))",
            as_of,
        )
        lasts = self.client.query(f"max {grouping}(timestamp({sel}))", as_of)

        def key(labels: Mapping[str, str]) -> tuple[str, ...]:
            return tuple(labels.get(k, "") for k in by)

        first = {key(m): v for m, v in firsts}
        last = {key(m): v for m, v in lasts}
        return {
            key(m): Series(
                ratio=v,
                first_sample=_ts(max(first[key(m)], as_of.timestamp() - window.seconds))
                if key(m) in first
                else None,
                last_sample=_ts(last[key(m)]) if key(m) in last else None,
            )
            for m, v in means
        }

    def availability(
        self, phase: int, units: Sequence[str], as_of: datetime, window: Window
    ) -> Mapping[tuple[str, str], Series]:
        found = self._summaries(SERVICE_UP, f'phase="{phase}"', UNIT_KEYS, as_of, window)
        wanted = set(units)
        return {(u, s): v for (u, s), v in found.items() if u in wanted}

    def _single(self, metric: str, as_of: datetime, window: Window) -> Series | None:
        # The worst series decides: one failing SMS route is a failing switchboard.
        found = self._summaries(metric, "", (), as_of, window)
        means = self.client.query(f"min(avg_over_time({metric}[{window.text}]))", as_of)
        if () not in found or not means:
            return None
        return found[()].model_copy(update={"ratio": means[0][1]})

    def sms(self, as_of: datetime, window: Window) -> Series | None:
        return self._single(SMS_E2E, as_of, window)

    def citizen_db(self, as_of: datetime, window: Window) -> Series | None:
        return self._single(CITIZEN_DB_UP, as_of, window)


class ResultsStoreReadiness:
    """`ReadinessSource` over the append-only SQLite results store of `dvc-rollout check`."""

    name = "readiness"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.where = str(self.path)

    def latest(self, sites: Sequence[str], as_of: datetime) -> Mapping[str, ReadinessRun]:
        if not self.path.is_file():
            raise EvidenceUnavailable(
                self.name,
                f"no results store at {self.path}: run `dvc-rollout check` or pass --results",
            )
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
                return latest_runs(db, sites, as_of)
        except sqlite3.Error as exc:
            raise EvidenceUnavailable(
                self.name, f"cannot read the results store {self.path}: {exc}"
            ) from None


def latest_runs(
    db: sqlite3.Connection, sites: Sequence[str], as_of: datetime
) -> dict[str, ReadinessRun]:
    """Per site, the newest run that checked it at or before `as_of`, with its results.

    Reads the schema of `checks.results` (tables `runs` and `results`, UTC ISO 8601 text
    times that sort as text) read-only: opening `checks.results.Store` would create the
    database and its tables, and a sign-off must not write to the evidence it judges.
    """
    wanted = sorted(set(sites))
    if not wanted:
        return {}
    cutoff = as_of.astimezone(UTC).isoformat(timespec="microseconds")
    marks = ", ".join("?" for _ in wanted)
    newest = db.execute(
        f"""
        SELECT site_code, MAX(run_id), MAX(time) FROM results
        WHERE time <= ? AND site_code IN ({marks})
        GROUP BY site_code
        """,
        (cutoff, *wanted),
    ).fetchall()
    runs: dict[str, ReadinessRun] = {}
    for site, run_id, _latest in newest:
        status = db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        rows = db.execute(
            """
            SELECT host, check_id, outcome, message, time FROM results
            WHERE run_id = ? AND site_code = ? AND time <= ? ORDER BY id
            """,
            (run_id, site, cutoff),
        ).fetchall()
        hosts = {host for host, *_ in rows}
        runs[site] = ReadinessRun(
            run_id=str(run_id),
            time=datetime.fromisoformat(max(r[4] for r in rows)),
            complete=bool(status and status[0] == "complete"),
            checks=tuple(
                CheckResult(
                    check=check if len(hosts) == 1 else f"{check} @ {host}",
                    outcome=outcome,
                    message=message or "",
                )
                for host, check, outcome, message, _time in rows
            ),
        )
    return runs
