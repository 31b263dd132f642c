"""The checked inventory and the questions every part asks of it.

Scope, unit-service pairs, sites and lookups are computed here once, so the Pulumi
program, the playbooks, the exporters, the checks and the sign-off all agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from inventory import model
from inventory.errors import LookupProblem
from inventory.names import keys

Kind = Literal["district", "unit", "service"]


@dataclass(frozen=True)
class Place:
    """Where services are delivered: a district (district level) or a commune-level unit."""

    code: str
    name: str
    type: str
    level: model.Level
    district_code: str
    district_name: str


@dataclass(frozen=True)
class Pair:
    """One service at one place in one phase: the unit that availability is watched in."""

    phase: int
    place: Place
    service: model.Service

    @property
    def labels(self) -> dict[str, str]:
        """The label set every per-pair metric carries."""
        return {
            "phase": str(self.phase),
            "level": self.place.level,
            "district": self.place.district_name,
            "district_code": self.place.district_code,
            "unit": self.place.name,
            "unit_code": self.place.code,
            "service": self.service.code,
        }


@dataclass(frozen=True)
class Site:
    """A one-stop desk (bộ phận một cửa) with the equipment and staff it must have."""

    place: Place
    phases: tuple[int, ...]
    equipment: model.Equipment
    helpdesk: model.Helpdesk
    accounts: tuple[model.Account, ...] = ()
    training: tuple[model.Training, ...] = ()

    @property
    def code(self) -> str:
        return self.place.code

    @property
    def name(self) -> str:
        return f"Bộ phận một cửa {self.place.name}"

    @property
    def terminal_hosts(self) -> tuple[str, ...]:
        """Host names of the site's terminals: term-<code>-<n>."""
        return tuple(f"term-{self.code}-{n}" for n in range(1, self.equipment.terminals + 1))


@dataclass(frozen=True)
class Match:
    kind: Kind
    code: str
    name: str
    detail: str


@dataclass
class Inventory:
    """A checked inventory; build it with `inventory.load()`."""

    units_file: model.UnitsFile
    services_file: model.ServicesFile
    plan_file: model.PlanFile
    sites_file: model.SitesFile
    records_file: model.RecordsFile
    oncall_file: model.OncallFile
    source: str = ""
    _index: dict[str, list[Match]] = field(default_factory=dict, repr=False)

    # -- the plain collections ----------------------------------------------------------
    @cached_property
    def districts(self) -> dict[str, model.District]:
        return {d.code: d for d in self.units_file.districts}

    @cached_property
    def units(self) -> dict[str, model.Unit]:
        return {u.code: u for u in self.units_file.units}

    @cached_property
    def services(self) -> dict[str, model.Service]:
        return {s.code: s for s in self.services_file.services}

    @cached_property
    def groups(self) -> dict[str, model.ServiceGroup]:
        return {g.code: g for g in self.services_file.groups}

    @property
    def plan(self) -> model.PlanHeader:
        return self.plan_file.plan

    @cached_property
    def phases(self) -> dict[int, model.Phase]:
        return {p.number: p for p in self.plan_file.phases}

    @cached_property
    def oncall(self) -> dict[str, model.Contact]:
        return {c.district: c for c in self.oncall_file.contacts}

    def units_of(self, district_code: str) -> list[model.Unit]:
        return [u for u in self.units_file.units if u.district == district_code]

    # -- places and scope ---------------------------------------------------------------
    @cached_property
    def places(self) -> dict[str, Place]:
        """Every district and unit as a place where services can be delivered."""
        found: dict[str, Place] = {}
        for d in self.units_file.districts:
            found[d.code] = Place(d.code, d.name, d.type, "district", d.code, d.name)
        for u in self.units_file.units:
            district = self.districts[u.district]
            found[u.code] = Place(u.code, u.name, u.type, "commune", district.code, district.name)
        return found

    def phase(self, number: int) -> model.Phase:
        try:
            return self.phases[number]
        except KeyError:
            known = ", ".join(str(n) for n in sorted(self.phases))
            raise LookupProblem(
                f"no phase {number} in plan {self.plan.id}: phases are {known}"
            ) from None

    def phase_services(self, number: int) -> list[model.Service]:
        """The phase's services: every service of its level unless the phase narrows them."""
        phase = self.phase(number)
        chosen = [s for s in self.services_file.services if s.level == phase.level]
        if phase.services is not None:
            wanted = set(phase.services)
            chosen = [s for s in chosen if s.code in wanted]
        return chosen

    def phase_places(self, number: int) -> list[Place]:
        """The phase's places: every district or unit of its level, optionally narrowed."""
        phase = self.phase(number)
        districts = set(phase.districts) if phase.districts is not None else None
        return [
            p
            for p in self.places.values()
            if p.level == phase.level and (districts is None or p.district_code in districts)
        ]

    def pairs(self, phase: int | None = None, districts: Iterable[str] | None = None) -> list[Pair]:
        """Every (place, service) pair in scope, for one phase or all, optionally by district."""
        numbers = [phase] if phase is not None else sorted(self.phases)
        only = set(districts) if districts is not None else None
        found: list[Pair] = []
        for number in numbers:
            services = self.phase_services(number)
            for place in self.phase_places(number):
                if only is not None and place.district_code not in only:
                    continue
                found.extend(Pair(number, place, s) for s in services)
        return found

    # -- sites --------------------------------------------------------------------------
    @cached_property
    def sites(self) -> dict[str, Site]:
        """Every one-stop desk, keyed by its unit code, with defaults applied."""
        defaults = self.sites_file.defaults
        phases_of: dict[str, list[int]] = {}
        for number in sorted(self.phases):
            for place in self.phase_places(number):
                phases_of.setdefault(place.code, []).append(number)
        accounts: dict[str, list[model.Account]] = {}
        for a in self.records_file.accounts:
            accounts.setdefault(a.unit, []).append(a)
        training: dict[str, list[model.Training]] = {}
        for t in self.records_file.training:
            training.setdefault(t.unit, []).append(t)
        staffing = {
            h.unit: model.Helpdesk(staff=h.staff, volunteers=h.volunteers)
            for h in self.records_file.helpdesk
        }
        return {
            e.unit: Site(
                place=self.places[e.unit],
                phases=tuple(phases_of.get(e.unit, ())),
                equipment=e.equipment or defaults.equipment,
                helpdesk=staffing.get(e.unit) or e.helpdesk or defaults.helpdesk,
                accounts=tuple(accounts.get(e.unit, ())),
                training=tuple(training.get(e.unit, ())),
            )
            for e in self.sites_file.sites
        }

    def sites_in(
        self, phase: int | None = None, districts: Iterable[str] | None = None
    ) -> list[Site]:
        """Sites in one phase (or all), optionally only in the given districts."""
        only = set(districts) if districts is not None else None
        return [
            s
            for s in self.sites.values()
            if (phase is None or phase in s.phases)
            and (only is None or s.place.district_code in only)
        ]

    # -- lookup -------------------------------------------------------------------------
    def _matches(self) -> Iterator[tuple[str, Match]]:
        for d in self.units_file.districts:
            m = Match("district", d.code, d.name, d.type)
            yield d.code, m
            yield d.name, m
        for u in self.units_file.units:
            district = self.districts[u.district].name
            m = Match("unit", u.code, u.name, f"{u.type}, {district}")
            yield u.code, m
            yield u.name, m
        for s in self.services_file.services:
            m = Match("service", s.code, s.name_vi, f"{s.level} service")
            yield s.code, m
            yield s.name_vi, m
            yield s.name_en, m

    def find(self, query: str, kind: Kind | None = None) -> Match:
        """Find one district, unit or service by code or by name, however it is typed.

        An exact code wins; then a name with either tone placement; then a name without
        diacritics. More than one candidate at the best level is an error listing them.
        """
        wanted = [m for code, m in self._matches() if code == query.strip() and m.code == code]
        if kind is not None:
            wanted = [m for m in wanted if m.kind == kind]
        if wanted:
            return wanted[0]
        tone, plain = keys(query)
        by_tone: dict[str, Match] = {}
        by_plain: dict[str, Match] = {}
        for label, m in self._matches():
            if kind is not None and m.kind != kind:
                continue
            label_tone, label_plain = keys(label)
            if label_tone == tone:
                by_tone[f"{m.kind}:{m.code}"] = m
            if label_plain == plain:
                by_plain[f"{m.kind}:{m.code}"] = m
        for found in (by_tone, by_plain):
            if len(found) == 1:
                return next(iter(found.values()))
            if len(found) > 1:
                listed = "\n".join(
                    f"  {m.code}  {m.name} ({m.kind}: {m.detail})"
                    for m in sorted(found.values(), key=lambda m: (m.kind, m.code))
                )
                raise LookupProblem(
                    f"{query!r} matches {len(found)} places; give one of these codes instead:\n"
                    + listed
                )
        what = kind or "district, unit or service"
        raise LookupProblem(
            f"no {what} matches {query!r}: give an official code or a name "
            "(run `dvc-rollout inventory show --help`)"
        )

    # -- figures ------------------------------------------------------------------------
    def stats(self) -> dict[str, object]:
        per_phase = {}
        for number, phase in sorted(self.phases.items()):
            services, places = self.phase_services(number), self.phase_places(number)
            per_phase[str(number)] = {
                "level": phase.level,
                "go_live": phase.go_live.isoformat(),
                "services": len(services),
                "units": len(places),
                "pairs": len(services) * len(places),
                "sites": len(self.sites_in(number)),
            }
        return {
            "plan": self.plan.id,
            "districts": len(self.districts),
            "units": len(self.units),
            "services": len(self.services),
            "phases": len(self.phases),
            "pairs": sum(int(p["pairs"]) for p in per_phase.values()),  # type: ignore[call-overload]
            "sites": len(self.sites),
            "accounts": len(self.records_file.accounts),
            "training_sessions": len(self.records_file.training),
            "per_phase": per_phase,
        }
