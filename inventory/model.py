"""The typed shape of each inventory file, so bad data is rejected before anything uses it.

One pydantic model per file; all are strict (no silent coercion of `376` into `"00376"`,
no unknown keys) because a typo in an inventory silently skipped would leave a site
unchecked or a district unwatched.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["district", "commune"]
DistrictType = Literal["huyện", "thị xã"]
UnitType = Literal["xã", "thị trấn", "phường"]

DistrictCode = Annotated[str, Field(pattern=r"^\d{3}$")]
UnitCode = Annotated[str, Field(pattern=r"^\d{5}$")]
SiteCode = Annotated[str, Field(pattern=r"^(\d{3}|\d{5})$")]
ServiceCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Count = Annotated[int, Field(ge=0, le=1000)]
Username = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")]
# A person's name as the terminal's account database keeps it: no ':' (its field separator).
FullName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^:]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# units.yaml ---------------------------------------------------------------------------
class Province(_Strict):
    code: Annotated[str, Field(pattern=r"^\d{2}$")]
    name: Name


class District(_Strict):
    code: DistrictCode
    name: Name
    type: DistrictType


class Unit(_Strict):
    code: UnitCode
    name: Name
    type: UnitType
    district: DistrictCode


class UnitsFile(_Strict):
    source: str
    province: Province
    districts: list[District]
    units: list[Unit]


# services.yaml ------------------------------------------------------------------------
class ServiceGroup(_Strict):
    code: ServiceCode
    level: Level
    name_vi: Name
    name_en: Name
    size: Annotated[int, Field(ge=1, le=50)]


class Service(_Strict):
    code: ServiceCode
    group: ServiceCode
    level: Level
    name_vi: Name
    name_en: Name
    variant: Annotated[int, Field(ge=1, le=50)] | None = None
    name_to_be_filled: bool = False


class ServicesFile(_Strict):
    groups: list[ServiceGroup]
    services: list[Service]


# plan.yaml ----------------------------------------------------------------------------
class PlanHeader(_Strict):
    id: Name
    title_vi: Name
    title_en: Name
    province: Annotated[str, Field(pattern=r"^\d{2}$")]
    service_level: Literal[2, 3, 4]


class Expected(_Strict):
    services: Count
    units: Count


class Phase(_Strict):
    number: Annotated[int, Field(ge=1, le=99)]
    level: Level
    go_live: date
    name_vi: Name
    name_en: Name
    # Narrowing only: by default a phase covers every service and unit of its level.
    districts: list[DistrictCode] | None = None
    services: list[ServiceCode] | None = None
    expected: Expected | None = None


class Wave(_Strict):
    count: Count
    from_: date = Field(alias="from")


class EarlierPlan(_Strict):
    id: Name
    date: date
    level: Literal["city", "district", "commune"]
    waves: list[Wave]


class PlanFile(_Strict):
    plan: PlanHeader
    phases: Annotated[list[Phase], Field(min_length=1)]
    earlier_plans: list[EarlierPlan] = []


# sites.yaml ---------------------------------------------------------------------------
class Equipment(_Strict):
    terminals: Count = 1
    printers: Count = 1
    scanners: Count = 1


class Helpdesk(_Strict):
    staff: Count | None = None
    volunteers: Count | None = None


class SiteDefaults(_Strict):
    equipment: Equipment = Equipment()
    helpdesk: Helpdesk = Helpdesk()


class SiteEntry(_Strict):
    unit: SiteCode
    equipment: Equipment | None = None
    helpdesk: Helpdesk | None = None


class SitesFile(_Strict):
    defaults: SiteDefaults = SiteDefaults()
    sites: list[SiteEntry]


# records.yaml -------------------------------------------------------------------------
class Account(_Strict):
    unit: SiteCode
    username: Username
    full_name: FullName
    role: Literal["official", "leader", "helpdesk"] = "official"


class Training(_Strict):
    unit: SiteCode
    date: date
    attendees: Annotated[int, Field(ge=1, le=1000)]
    topic: Name


class Staffing(_Strict):
    """Helpdesk staffing as the teams record it; it replaces the site's planned figures."""

    unit: SiteCode
    staff: Count
    volunteers: Count = 0


class RecordsFile(_Strict):
    accounts: list[Account] = []
    training: list[Training] = []
    helpdesk: list[Staffing] = []


# oncall.yaml --------------------------------------------------------------------------
# A phone number as Kannel's sendsms takes it: digits, an optional leading `+`.
Phone = Annotated[str, Field(pattern=r"^\+?[0-9]{6,15}$")]
# A plain address: Alertmanager templates its `to:`, so no braces or spaces get through.
Email = Annotated[
    str, Field(max_length=200, pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
]
WindowName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
_DAY = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
Weekday = Annotated[str, Field(pattern=rf"^({_DAY})(:({_DAY}))?$")]
ClockTime = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
DayOfMonth = Annotated[
    str, Field(pattern=r"^-?([1-9]|[12][0-9]|3[01])(:-?([1-9]|[12][0-9]|3[01]))?$")
]
_MONTH = "january|february|march|april|may|june|july|august|september|october|november|december"
Month = Annotated[str, Field(pattern=rf"^({_MONTH}|[1-9]|1[0-2])(:({_MONTH}|[1-9]|1[0-2]))?$")]


class Contact(_Strict):
    district: DistrictCode
    receiver: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
    team: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    webhook_url: Name | None = None


class CityContact(_Strict):
    """The city data centre's on-call: alerts of no district (SMS gateway, citizen database)."""

    team: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    webhook_url: Name | None = None


class TimeRange(_Strict):
    start_time: ClockTime
    end_time: ClockTime


class TimeInterval(_Strict):
    """One Alertmanager time_interval; every list empty means "at all times"."""

    weekdays: list[Weekday] = []
    times: list[TimeRange] = []
    days_of_month: list[DayOfMonth] = []
    months: list[Month] = []
    location: Literal["Asia/Ho_Chi_Minh"] = "Asia/Ho_Chi_Minh"


class MaintenanceWindow(_Strict):
    """A recurring planned outage: its districts' alerts are muted while it is on."""

    name: WindowName
    reason: Name
    # Empty: every district and the city-wide alerts.
    districts: list[DistrictCode] = []
    time_intervals: Annotated[list[TimeInterval], Field(min_length=1, max_length=20)]


class OncallFile(_Strict):
    contacts: list[Contact]
    city: CityContact | None = None
    maintenance_windows: list[MaintenanceWindow] = []


# What each file must hold, said when a file is empty or holds something else.
MUST_HOLD: dict[str, str] = {
    "units.yaml": "it must hold `source:`, `province:`, `districts:` and `units:`",
    "services.yaml": "it must hold `groups:` and `services:`",
    "plan.yaml": "it must hold `plan:` and `phases:`",
    "sites.yaml": "it must hold `sites:`, one entry per unit in scope (`defaults:` is optional)",
    "records.yaml": "it must hold `accounts:`, `training:` and `helpdesk:`; while nothing is "
    "recorded yet write each as an empty list (`accounts: []`)",
    "oncall.yaml": "it must hold `contacts:`, one per district; while they are to be filled "
    "write `contacts: []`",
}

FILE_MODELS: dict[str, type[_Strict]] = {
    "units.yaml": UnitsFile,
    "services.yaml": ServicesFile,
    "plan.yaml": PlanFile,
    "sites.yaml": SitesFile,
    "records.yaml": RecordsFile,
    "oncall.yaml": OncallFile,
}
