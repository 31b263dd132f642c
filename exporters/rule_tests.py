"""Writes the promtool tests of every alert, both ways: `rules/tests/alerts_test.yml` and
`rules/tests/readiness_test.yml`.

promtool compares an alert's annotations verbatim, and ours are long bilingual runbooks
with templates. Copying them expanded by hand into the test would drift, so the expected
annotations are expanded here from `alerts.yml` (the small template subset it uses),
while what each case feeds in and which alerts must (not) fire is written out in
`exporters/rule_cases.py`. Run `python -m exporters.rule_tests` after changing alerts.yml;
a test checks the file is current. Host-only: it reads unit labels from the inventory.

Two rules are enforced while rendering, so a new alert cannot slip through untested:
every alert is seen firing and quiet, and every critical alert is seen standing up to
its evidence going missing: a case covers its absent, NaN and unreachable paths, in
each of which it (or the twin that stands for it) fires.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).parent / "rules"
ALERTS = RULES_DIR / "alerts.yml"
OUTPUT = RULES_DIR / "tests" / "alerts_test.yml"
READINESS = RULES_DIR / "readiness.yml"
READINESS_OUTPUT = RULES_DIR / "tests" / "readiness_test.yml"
# The evidence paths every critical alert must be tested on.
PATHS = ("absent", "nan", "unreachable")
# Alerts that never go quiet by design.
ALWAYS_FIRING = frozenset({"DvcWatchdog"})
# Alerts whose missing evidence is reported by another alert (same severity, routing).
TWINS = {
    "DvcDistrictErrorBudgetBurn": "DvcDistrictOutage",
    "DvcServiceErrorBudgetBurn": "DvcDistrictOutage",
}

Labels = dict[str, str]
Rule = dict[str, Any]


@dataclass(frozen=True)
class Series:
    metric: str
    labels: Mapping[str, str]
    values: str

    def selector(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"{self.metric}{{{inner}}}"


@dataclass(frozen=True)
class Firing:
    """An alert expected at an eval time.

    `labels` are the labels of the series the expression returns (what `$labels` sees in
    the annotations), `value` its `$value`, and `rule` the rule labels that pick which
    of the alert's rules fires (e.g. `{"evidence": "missing"}`).
    """

    labels: Mapping[str, str]
    value: float
    rule: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Case:
    name: str
    series: list[Series]
    # (eval_time, alertname, alerts that must be firing then; [] = none)
    checks: list[tuple[str, str, list[Firing]]] = field(default_factory=list)
    # alertname -> the evidence paths (PATHS) this case shows it standing up to
    covers: Mapping[str, Iterable[str]] = field(default_factory=dict)


def _go_value(v: float) -> str:
    """Go's %v for a float64, as Prometheus templates print `$value`."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e21 else repr(v)


def _percentage(v: float) -> str:
    return "NaN%" if math.isnan(v) else "%.4g%%" % (v * 100)


def expand(template: str, labels: Mapping[str, str], value: float) -> str:
    """Expand the template subset alerts.yml uses; refuse anything else."""
    out = re.sub(
        r"\{\{\s*\$value\s*\|\s*humanizePercentage\s*\}\}", lambda _m: _percentage(value), template
    )
    out = re.sub(r"\{\{\s*\$value\s*\}\}", lambda _m: _go_value(value), out)
    out = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), out)
    if "{{" in out:
        raise ValueError(f"alerts.yml uses a template this generator cannot expand: {template!r}")
    return out


def load_alert_rules(path: Path) -> dict[str, list[Rule]]:
    """Alert name -> its rules (an alert and its evidence-missing twins share a name)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: dict[str, list[Rule]] = {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                found.setdefault(rule["alert"], []).append(rule)
    return found


def pick(name: str, rules: list[Rule], wanted: Mapping[str, str]) -> Rule:
    """The one rule of `name` carrying the `wanted` labels (and `evidence` only if wanted)."""
    keys = {*wanted, "evidence"}
    matching = [r for r in rules if all(r.get("labels", {}).get(k) == wanted.get(k) for k in keys)]
    if len(matching) != 1:
        raise ValueError(
            f"{name}: rule labels {dict(wanted)} pick {len(matching)} of its {len(rules)} rules"
        )
    return matching[0]


def _expected(rule: Mapping[str, Any], firing: Firing) -> dict[str, Any]:
    # Prometheus expands annotations with the series' labels only, not the rule's.
    labels = {**firing.labels, **rule.get("labels", {})}
    annotations = {
        k: expand(v, firing.labels, firing.value) for k, v in rule.get("annotations", {}).items()
    }
    return {"exp_labels": labels, "exp_annotations": annotations}


def _critical(rules: Mapping[str, list[Rule]]) -> list[str]:
    return sorted(
        n for n, rs in rules.items() if any(r["labels"].get("severity") == "critical" for r in rs)
    )


def render(
    all_cases: Iterable[Case],
    rules: Mapping[str, list[Rule]],
    rule_files: Iterable[str] = ("../alerts.yml", "../recording.yml"),
) -> str:
    tests = []
    covered: dict[str, set[bool]] = {name: set() for name in rules}
    paths: dict[str, set[str]] = {name: set() for name in rules}
    for case in all_cases:
        checks = []
        fired = set()
        for eval_time, alertname, firing in case.checks:
            if alertname not in rules:
                raise ValueError(f"case {case.name!r} checks unknown alert {alertname!r}")
            covered[alertname].add(bool(firing))
            if firing:
                fired.add(alertname)
            checks.append(
                {
                    "eval_time": eval_time,
                    "alertname": alertname,
                    "exp_alerts": [
                        _expected(pick(alertname, rules[alertname], f.rule), f) for f in firing
                    ],
                }
            )
        for alertname, shown in case.covers.items():
            if TWINS.get(alertname, alertname) not in fired:
                raise ValueError(
                    f"case {case.name!r} claims to cover {alertname} but does not see "
                    f"{TWINS.get(alertname, alertname)} fire"
                )
            paths[alertname].update(shown)
        tests.append(
            {
                "name": case.name,
                "interval": "1m",
                "input_series": [{"series": s.selector(), "values": s.values} for s in case.series],
                "alert_rule_test": checks,
            }
        )
    missing = sorted(
        n
        for n, seen in covered.items()
        if seen != ({True} if n in ALWAYS_FIRING else {True, False})
    )
    if missing:
        raise ValueError(f"alerts not tested both firing and quiet: {', '.join(missing)}")
    blind = [f"{n} ({', '.join(sorted(set(PATHS) - paths[n]))})"
             for n in _critical(rules) if set(PATHS) - paths[n]]  # fmt: skip
    if blind:
        raise ValueError(f"critical alerts not tested on missing evidence: {'; '.join(blind)}")
    files = list(rule_files)
    header = (
        f"# GENERATED by `python -m exporters.rule_tests` from {', '.join(files)} and\n"
        "# exporters/rule_cases.py: do not edit by hand. Run: promtool test rules <this file>\n"
    )
    body = {
        "rule_files": files,
        "evaluation_interval": "1m",
        "tests": tests,
    }
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=10_000)


def suites() -> dict[Path, str]:
    """Each generated test file and its text."""
    from exporters import rule_cases

    return {
        OUTPUT: render(rule_cases.cases(rule_cases.sample_pairs()), load_alert_rules(ALERTS)),
        READINESS_OUTPUT: render(
            rule_cases.readiness_cases(), load_alert_rules(READINESS), ["../readiness.yml"]
        ),
    }


def main() -> int:
    for path, text in suites().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
