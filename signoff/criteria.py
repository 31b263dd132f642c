"""The plan's go-live criteria and their thresholds, named once so reports and logic agree."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Literal

from dvc_rollout.errors import UsageError

Criterion = Literal[
    "terminal", "availability", "accounts", "training", "helpdesk", "sms", "citizen_db"
]

# Judged per site, in the order reports show them.
SITE_CRITERIA: tuple[Criterion, ...] = (
    "terminal",
    "availability",
    "accounts",
    "training",
    "helpdesk",
)
# Judged once per phase: the data center serves every site alike.
DATACENTER_CRITERIA: tuple[Criterion, ...] = ("sms", "citizen_db")
ALL_CRITERIA: tuple[Criterion, ...] = SITE_CRITERIA + DATACENTER_CRITERIA

# The pseudo-site a data-center waiver names.
DATACENTER = "datacenter"


@dataclass(frozen=True)
class Label:
    """A criterion's name in Vietnamese and English, for every report."""

    vi: str
    en: str


LABELS: dict[Criterion, Label] = {
    "terminal": Label("Thiết bị đầu cuối", "Terminal equipment"),
    "availability": Label("Tính sẵn sàng dịch vụ", "Service availability"),
    "accounts": Label("Tài khoản cán bộ", "Officials' accounts"),
    "training": Label("Tập huấn", "Training"),
    "helpdesk": Label("Bố trí hỗ trợ", "Helpdesk staffing"),
    "sms": Label("Tổng đài SMS", "SMS switchboard"),
    "citizen_db": Label("CSDL công dân", "Citizen database"),
}


class ThresholdError(UsageError):
    """A threshold outside what can mean anything: the message names the flag."""


# The thresholds that are shares (0 < x <= 1), with the flag that sets each.
FRACTIONS = {
    "availability_min": "--min-availability",
    "sms_min": "sms_min",
    "citizen_db_min": "citizen_db_min",
    "min_coverage": "--min-coverage",
}


@dataclass(frozen=True)
class Thresholds:
    """How good the evidence must be; defaults follow the plan's level-3 service goals.

    `min_coverage` is the share of the samples the scrape interval should have produced
    over the window that a series must hold: an exporter started an hour ago, or down
    for hours, cannot prove a day of availability. Shares are checked here too (not only
    by the command line): a NaN or a 0 would let anything pass.
    """

    readiness_max_age: timedelta = timedelta(hours=24)
    availability_min: float = 0.99
    sms_min: float = 0.95
    citizen_db_min: float = 0.99
    min_coverage: float = 0.9
    # A series whose newest sample is older than this at the as-of time is stale.
    metric_max_lag: timedelta = timedelta(minutes=5)
    min_helpdesk_staff: int = 1

    def __post_init__(self) -> None:
        """Refuse a threshold that would let anything through (NaN, 0, -1, 2, inf)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in FRACTIONS:
                if not isinstance(value, int | float) or not (
                    math.isfinite(value) and 0 < value <= 1
                ):
                    raise ThresholdError(
                        f"{FRACTIONS[f.name]} {value!r}: must be a finite number in (0, 1], "
                        "e.g. 0.99"
                    )
            elif isinstance(value, timedelta) and value <= timedelta(0):
                raise ThresholdError(f"{f.name} {value}: must be a positive duration")
            elif f.name == "min_helpdesk_staff" and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ThresholdError(f"min_helpdesk_staff {value!r}: must be a whole number ≥ 1")

    @classmethod
    def from_dict(cls, data: dict[str, float | int]) -> Thresholds:
        """Back from `as_dict` (a JSON report's thresholds)."""
        return cls(
            readiness_max_age=timedelta(seconds=data["readiness_max_age_seconds"]),
            availability_min=float(data["availability_min"]),
            sms_min=float(data["sms_min"]),
            citizen_db_min=float(data["citizen_db_min"]),
            min_coverage=float(data["min_coverage"]),
            metric_max_lag=timedelta(seconds=data["metric_max_lag_seconds"]),
            min_helpdesk_staff=int(data["min_helpdesk_staff"]),
        )

    def as_dict(self) -> dict[str, float | int]:
        """Plain numbers (seconds for durations) for the JSON report."""
        return {
            "readiness_max_age_seconds": self.readiness_max_age.total_seconds(),
            "availability_min": self.availability_min,
            "sms_min": self.sms_min,
            "citizen_db_min": self.citizen_db_min,
            "min_coverage": self.min_coverage,
            "metric_max_lag_seconds": self.metric_max_lag.total_seconds(),
            "min_helpdesk_staff": self.min_helpdesk_staff,
        }
