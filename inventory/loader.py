"""Loading an inventory directory in one pass that reports every problem at once.

Stage one reads each file and checks its shape; stage two, run only on files whose
shape is right, checks what the files say about each other (references, levels,
uniqueness, the plan's own figures). Either way the user sees all problems together.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from inventory import model
from inventory.errors import InventoryError, Problem
from inventory.names import is_nfc
from inventory.store import Inventory
from inventory.yamlfile import read_yaml

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
ENV_DIR = "DVC_INVENTORY"


def default_dir() -> Path:
    """The inventory the tools use unless told otherwise: $DVC_INVENTORY or the shipped data."""
    return Path(os.environ.get(ENV_DIR) or DEFAULT_DATA_DIR)


def load(
    directory: Path | str | None = None,
    records: Path | str | None = None,
    oncall: Path | str | None = None,
) -> Inventory:
    """Load and check an inventory directory; raise InventoryError listing every problem.

    `records` replaces the directory's records.yaml and `oncall` its oncall.yaml (a lab
    uses its own synthetic ones: never real people, never real numbers).
    """
    replaced = {"records.yaml": records, "oncall.yaml": oncall}
    root = Path(directory) if directory is not None else default_dir()
    if not root.is_dir():
        raise InventoryError(
            [Problem(str(root), "", "is not a directory: give the folder holding units.yaml")]
        )
    problems: list[Problem] = []
    parsed: dict[str, BaseModel] = {}
    for name, schema in model.FILE_MODELS.items():
        other = replaced.get(name)
        path = Path(other) if other is not None else root / name
        data, found = read_yaml(path)
        problems.extend(found)
        if found and data is None:
            continue
        shape = _shape_problem(name, path.name, data, schema)
        if shape is not None:
            problems.append(shape)
            continue
        problems.extend(_text_problems(path.name, data))
        try:
            parsed[name] = schema.model_validate(data)
        except ValidationError as exc:
            problems.extend(_schema_problems(path.name, exc))
    problems.extend(cross_check(parsed, source=str(root)))
    if not problems:
        return _assemble(parsed, str(root))
    raise InventoryError(problems, str(root))


# -- stage one: the shape of each file ----------------------------------------------------
def render_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a readable path: ("phases", 1, "go_live") → phases[1].go_live."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_EXPECTED = {
    "missing": "is missing: add it",
    "extra_forbidden": "is not a known key: remove it or fix its spelling",
    "string_type": 'expected text (quote codes, e.g. "00376")',
    "int_type": "expected a whole number",
    "bool_type": "expected true or false",
    "list_type": "expected a list",
    "model_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "date_type": "expected an ISO date written YYYY-MM-DD (e.g. 2017-07-15)",
    "date_parsing": "expected an ISO date written YYYY-MM-DD (e.g. 2017-07-15)",
    "date_from_datetime_parsing": "expected an ISO date written YYYY-MM-DD (e.g. 2017-07-15)",
}


def _schema_problems(file: str, exc: ValidationError) -> Iterator[Problem]:
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        message = _EXPECTED.get(kind)
        if message is None:
            message = f"{error['msg'][0].lower()}{error['msg'][1:]}"
        if kind != "missing" and "input" in error and not isinstance(error["input"], dict | list):
            message += f"; got {error['input']!r}"
        yield Problem(file, render_path(loc), message)


def _shape_problem(name: str, file: str, data: Any, schema: type[BaseModel]) -> Problem | None:
    """An empty file, or one that is not a mapping holding the file's keys, means nothing.

    A file emptied by mistake must not pass as "0 services" or "no on-call routes": the
    user is told what the file must hold, and how to say "none yet" where that is allowed.
    """
    must = model.MUST_HOLD[name]
    if data is None:
        return Problem(file, "", f"is empty: {must}")
    if not isinstance(data, dict):
        return Problem(file, "", f"holds a {_kind(data)}, not a mapping of keys: {must}")
    if not set(data) & set(schema.model_fields):
        return Problem(file, "", f"holds none of its keys: {must}")
    return None


def _kind(data: Any) -> str:
    return {list: "list", str: "text", int: "number", float: "number", bool: "true/false"}.get(
        type(data), type(data).__name__
    )


def _control_character(text: str) -> str | None:
    """The first character that would break a line or a config file, as U+XXXX."""
    for c in text:
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in _ALLOWED_FORMAT:
            return f"U+{ord(c):04X}"
    return None


# Format characters Vietnamese text may really hold (none today; kept explicit).
_ALLOWED_FORMAT: frozenset[str] = frozenset()


def _text_problems(file: str, data: Any, loc: tuple[int | str, ...] = ()) -> Iterator[Problem]:
    """Every text is NFC (one form to compare) and one line without control characters.

    Inventory text ends up in config files, shortcuts, accounts and reports; a line break
    or an escape character inside a name would start a new line or key there.
    """
    if isinstance(data, str):
        if not is_nfc(data):
            yield Problem(
                file,
                render_path(loc),
                f"text {data!r} is not NFC-normalised: re-type it or normalise the file to NFC",
            )
        bad = _control_character(data)
        if bad is not None:
            yield Problem(
                file,
                render_path(loc),
                f"text {data!r} holds the control character {bad} (a line break, tab or "
                "invisible character): write it on one line without it",
            )
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _text_problems(file, value, (*loc, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _text_problems(file, value, (*loc, index))


# -- stage two: what the files say about each other ------------------------------------
def _duplicates(file: str, key: str, codes: list[str], what: str) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for index, code in enumerate(codes):
        if code in seen:
            yield Problem(
                file,
                f"{key}[{index}]",
                f"{what} {code!r} is already used at {key}[{seen[code]}]: codes must be unique",
            )
        else:
            seen[code] = index


# Each check with the files it reads and the checks whose failure would make it misleading.
_CHECKS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("units", frozenset({"units.yaml"}), ()),
    ("services", frozenset({"services.yaml"}), ()),
    ("plan", frozenset({"units.yaml", "services.yaml", "plan.yaml"}), ("units", "services")),
    ("sites", frozenset({"units.yaml", "services.yaml", "plan.yaml", "sites.yaml"}), ("plan",)),
    ("records", frozenset(model.FILE_MODELS) - {"oncall.yaml"}, ("sites",)),
    ("oncall", frozenset({"units.yaml", "oncall.yaml"}), ("units",)),
)


def _assemble(parsed: dict[str, BaseModel], source: str) -> Inventory:
    """An Inventory from parsed files; files not given are empty stand-ins for partial checks."""
    empty: dict[str, BaseModel] = {
        "units.yaml": model.UnitsFile(
            source="", province=model.Province(code="00", name="-"), districts=[], units=[]
        ),
        "services.yaml": model.ServicesFile(groups=[], services=[]),
        "plan.yaml": model.PlanFile.model_construct(plan=None, phases=[], earlier_plans=[]),
        "sites.yaml": model.SitesFile(sites=[]),
        "records.yaml": model.RecordsFile(),
        "oncall.yaml": model.OncallFile(contacts=[]),
    }
    files = {**empty, **parsed}
    return Inventory(
        units_file=files["units.yaml"],  # type: ignore[arg-type]
        services_file=files["services.yaml"],  # type: ignore[arg-type]
        plan_file=files["plan.yaml"],  # type: ignore[arg-type]
        sites_file=files["sites.yaml"],  # type: ignore[arg-type]
        records_file=files["records.yaml"],  # type: ignore[arg-type]
        oncall_file=files["oncall.yaml"],  # type: ignore[arg-type]
        source=source,
    )


def cross_check(parsed: dict[str, BaseModel], source: str = "") -> list[Problem]:
    """Every reference resolves, levels match, codes are unique, the plan's figures hold.

    Runs each check whose files parsed, so a broken plan.yaml does not hide a bad
    reference in units.yaml; a check is skipped only when a check it builds on failed.
    """
    problems: list[Problem] = []
    failed: set[str] = set()
    inv = _assemble(parsed, source)
    for name, needs, after in _CHECKS:
        if not needs <= parsed.keys() or failed.intersection(after):
            failed.add(name)
            continue
        found = _CHECK_FUNCTIONS[name](inv)
        if found:
            failed.add(name)
        problems += found
    return problems


def _check_units(inv: Inventory) -> list[Problem]:
    f = inv.units_file
    out = list(
        _duplicates("units.yaml", "districts", [d.code for d in f.districts], "district code")
    )
    out += _duplicates("units.yaml", "units", [u.code for u in f.units], "unit code")
    codes = {d.code for d in f.districts}
    for i, u in enumerate(f.units):
        if u.district not in codes:
            out.append(
                Problem(
                    "units.yaml",
                    f"units[{i}].district",
                    f"unknown district {u.district!r}: expected one of the codes under districts",
                )
            )
    return out


def _check_services(inv: Inventory) -> list[Problem]:
    f = inv.services_file
    out = list(_duplicates("services.yaml", "groups", [g.code for g in f.groups], "group code"))
    out += _duplicates("services.yaml", "services", [s.code for s in f.services], "service code")
    groups = {g.code: g for g in f.groups}
    for i, s in enumerate(f.services):
        group = groups.get(s.group)
        if group is None:
            out.append(
                Problem(
                    "services.yaml",
                    f"services[{i}].group",
                    f"unknown group {s.group!r}: expected one of the codes under groups",
                )
            )
        elif group.level != s.level:
            out.append(
                Problem(
                    "services.yaml",
                    f"services[{i}].level",
                    f"is {s.level!r} but its group {group.code!r} is {group.level!r}: "
                    "make them the same",
                )
            )
    members = Counter(s.group for s in f.services)
    for i, g in enumerate(f.groups):
        if members[g.code] != g.size:
            out.append(
                Problem(
                    "services.yaml",
                    f"groups[{i}].size",
                    f"says {g.size} services but {members[g.code]} name group {g.code!r}",
                )
            )
    return out


def _check_plan(inv: Inventory) -> list[Problem]:
    f = inv.plan_file
    out = list(
        _duplicates("plan.yaml", "phases", [str(p.number) for p in f.phases], "phase number")
    )
    if f.plan.province != inv.units_file.province.code:
        out.append(
            Problem(
                "plan.yaml",
                "plan.province",
                f"is {f.plan.province!r} but units.yaml is for province "
                f"{inv.units_file.province.code!r}",
            )
        )
    for i, phase in enumerate(f.phases):
        for j, code in enumerate(phase.services or []):
            service = inv.services.get(code)
            if service is None:
                out.append(
                    Problem(
                        "plan.yaml",
                        f"phases[{i}].services[{j}]",
                        f"unknown service {code!r}: expected a code from services.yaml",
                    )
                )
            elif service.level != phase.level:
                out.append(
                    Problem(
                        "plan.yaml",
                        f"phases[{i}].services[{j}]",
                        f"service {code!r} is {service.level}-level but the phase is "
                        f"{phase.level}-level",
                    )
                )
        for j, code in enumerate(phase.districts or []):
            if code not in inv.districts:
                out.append(
                    Problem(
                        "plan.yaml",
                        f"phases[{i}].districts[{j}]",
                        f"unknown district {code!r}: expected a code from units.yaml",
                    )
                )
        if i and phase.go_live < f.phases[i - 1].go_live:
            out.append(
                Problem(
                    "plan.yaml",
                    f"phases[{i}].go_live",
                    f"{phase.go_live} is before the previous phase's "
                    f"{f.phases[i - 1].go_live}: phases go live in order",
                )
            )
    if out:
        return out
    for i, phase in enumerate(f.phases):
        if phase.expected is None:
            continue
        services = len(inv.phase_services(phase.number))
        places = len(inv.phase_places(phase.number))
        if services != phase.expected.services:
            out.append(
                Problem(
                    "plan.yaml",
                    f"phases[{i}].expected.services",
                    f"the plan says {phase.expected.services} but the inventory has "
                    f"{services} {phase.level}-level services",
                )
            )
        if places != phase.expected.units:
            out.append(
                Problem(
                    "plan.yaml",
                    f"phases[{i}].expected.units",
                    f"the plan says {phase.expected.units} but the inventory has "
                    f"{places} {phase.level}-level units in scope",
                )
            )
    return out


def _check_sites(inv: Inventory) -> list[Problem]:
    f = inv.sites_file
    out = list(_duplicates("sites.yaml", "sites", [s.unit for s in f.sites], "site for unit"))
    in_scope = {p.code for n in inv.phases for p in inv.phase_places(n)}
    listed = set()
    for i, s in enumerate(f.sites):
        listed.add(s.unit)
        if s.unit not in inv.places:
            out.append(
                Problem(
                    "sites.yaml",
                    f"sites[{i}].unit",
                    f"unknown unit {s.unit!r}: expected a district or unit code from units.yaml",
                )
            )
        elif s.unit not in in_scope:
            out.append(
                Problem(
                    "sites.yaml",
                    f"sites[{i}].unit",
                    f"unit {s.unit!r} is in no phase's scope: remove the site or widen the phase",
                )
            )
    for code in sorted(in_scope - listed):
        place = inv.places[code]
        out.append(
            Problem(
                "sites.yaml",
                "sites",
                f"has no site for {code} ({place.name}), which is in scope: add "
                f'`- {{unit: "{code}"}}`',
            )
        )
    return out


def _unknown_sites(inv: Inventory, key: str, units: list[str]) -> list[Problem]:
    """Entries of a records.yaml list that name no site of the rollout."""
    return [
        Problem(
            "records.yaml",
            f"{key}[{i}].unit",
            f"unknown site {unit!r}: expected a unit code from sites.yaml",
        )
        for i, unit in enumerate(units)
        if unit not in inv.sites
    ]


def _check_records(inv: Inventory) -> list[Problem]:
    f = inv.records_file
    out: list[Problem] = []
    out += _unknown_sites(inv, "accounts", [a.unit for a in f.accounts])
    out += _unknown_sites(inv, "helpdesk", [h.unit for h in f.helpdesk])
    out += _unknown_sites(inv, "training", [t.unit for t in f.training])
    seen: dict[tuple[str, str], int] = {}
    for i, a in enumerate(f.accounts):
        if (a.unit, a.username) in seen:
            out.append(
                Problem(
                    "records.yaml",
                    f"accounts[{i}].username",
                    f"{a.username!r} is already an account of {a.unit} at "
                    f"accounts[{seen[(a.unit, a.username)]}]",
                )
            )
        seen.setdefault((a.unit, a.username), i)
    staffed: dict[str, int] = {}
    for i, h in enumerate(f.helpdesk):
        if h.unit in staffed:
            out.append(
                Problem(
                    "records.yaml",
                    f"helpdesk[{i}].unit",
                    f"staffing of {h.unit} is already recorded at helpdesk[{staffed[h.unit]}]: "
                    "keep one entry per site",
                )
            )
        staffed.setdefault(h.unit, i)
    return out


def _check_oncall(inv: Inventory) -> list[Problem]:
    f = inv.oncall_file
    out = list(
        _duplicates(
            "oncall.yaml", "contacts", [c.district for c in f.contacts], "contact for district"
        )
    )
    out += _duplicates("oncall.yaml", "contacts", [c.receiver for c in f.contacts], "receiver")
    for i, c in enumerate(f.contacts):
        if c.district not in inv.districts:
            out.append(
                Problem(
                    "oncall.yaml",
                    f"contacts[{i}].district",
                    f"unknown district {c.district!r}: expected a code from units.yaml",
                )
            )
    out += _duplicates(
        "oncall.yaml", "maintenance_windows", [w.name for w in f.maintenance_windows], "name"
    )
    for i, w in enumerate(f.maintenance_windows):
        for j, code in enumerate(w.districts):
            if code not in inv.districts:
                out.append(
                    Problem(
                        "oncall.yaml",
                        f"maintenance_windows[{i}].districts[{j}]",
                        f"unknown district {code!r}: expected a code from units.yaml",
                    )
                )
        for j, interval in enumerate(w.time_intervals):
            for k, span in enumerate(interval.times):
                if span.start_time >= span.end_time:
                    out.append(
                        Problem(
                            "oncall.yaml",
                            f"maintenance_windows[{i}].time_intervals[{j}].times[{k}]",
                            f"starts at {span.start_time}, not before its end {span.end_time}: "
                            "a window over midnight is two ranges (22:00-24:00, 00:00-02:00)",
                        )
                    )
    # `contacts: []` says every contact is still to be filled (alerts then go to the
    # default receiver, said per district); a list that leaves districts out is a mistake.
    missing = sorted(set(inv.districts) - {c.district for c in f.contacts}) if f.contacts else []
    for code in missing:
        out.append(
            Problem(
                "oncall.yaml",
                "contacts",
                f"has no contact for district {code} ({inv.districts[code].name}): "
                "add one (fields may be null, to be filled)",
            )
        )
    return out


_CHECK_FUNCTIONS = {
    "units": _check_units,
    "services": _check_services,
    "plan": _check_plan,
    "sites": _check_sites,
    "records": _check_records,
    "oncall": _check_oncall,
}
