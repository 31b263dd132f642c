"""The plan's go-live criteria and their thresholds, named once so reports and logic agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

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


@dataclass(frozen=True)
class Thresholds:
    """How good the evidence must be; defaults follow the plan's level-3 service goals.

    `min_coverage` is the share of the window the metric series must span: an exporter
    started an hour ago cannot prove a day of availability.
    """

    readiness_max_age: timedelta = timedelta(hours=24)
    availability_min: float = 0.99
    sms_min: float = 0.95
    citizen_db_min: float = 0.99
    min_coverage: float = 0.9
    # A series whose newest sample is older than this at the as-of time is stale.
    metric_max_lag: timedelta = timedelta(minutes=5)
    min_helpdesk_staff: int = 1

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
