"""Writes `exporters/rules/tests/alerts_test.yml`: a promtool test of every alert, both ways.

promtool compares an alert's annotations verbatim, and ours are long bilingual runbooks
with templates. Copying them expanded by hand into the test would drift, so the expected
annotations are expanded here from `alerts.yml` (the small template subset it uses),
while what each case feeds in and which alerts must (not) fire is written out below.
Run `python -m exporters.rule_tests` after changing alerts.yml; a test checks the file
is current. Host-only: it reads unit labels from the inventory.
"""

from __future__ import annotations

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

Labels = dict[str, str]


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
    """An alert expected at an eval time: the source labels and the alert's $value."""

    labels: Mapping[str, str]
    value: float


@dataclass
class Case:
    name: str
    series: list[Series]
    # (eval_time, alertname, alerts that must be firing then; [] = none)
    checks: list[tuple[str, str, list[Firing]]] = field(default_factory=list)


def sample_pairs() -> dict[str, list[Labels]]:
    import inventory

    inv = inventory.load()
    out: dict[str, list[Labels]] = {}
    for code in ("016", "017"):
        out[code] = [dict(p.labels) for p in inv.pairs(districts=[code])[:4]]
    return out


def _target(job: str, instance: str) -> Labels:
    return {"job": job, "instance": instance}


def cases(pairs: Mapping[str, list[Labels]]) -> list[Case]:
    """Inputs and expectations: each alert fires in one case and stays quiet in another."""
    soc_son = [{**_target("availability", "availability:9601"), **p} for p in pairs["016"]]
    dong_anh = [{**_target("availability", "availability:9601"), **p} for p in pairs["017"]]
    kannel = _target("kannel", "kannel-exporter:9602")
    cdb = _target("citizen_db", "citizen-db-exporter:9604")
    return [
        Case(
            "one pair down in Soc Son: DvcServiceDown after 3m, no district outage",
            [Series("dvc_service_up", soc_son[0], "1 1 0x12")]
            + [Series("dvc_service_up", p, "1x14") for p in soc_son[1:]],
            [
                ("4m", "DvcServiceDown", []),
                ("6m", "DvcServiceDown", [Firing(soc_son[0], 0)]),
                ("6m", "DvcDistrictOutage", []),
            ],
        ),
        Case(
            "3 of 4 pairs down in Dong Anh: DvcDistrictOutage after 2m, Soc Son stays quiet",
            [Series("dvc_service_up", p, "1 0x14") for p in dong_anh[:3]]
            + [Series("dvc_service_up", dong_anh[3], "1x15")]
            + [Series("dvc_service_up", p, "1x15") for p in soc_son],
            [
                ("2m", "DvcDistrictOutage", []),
                (
                    "4m",
                    "DvcDistrictOutage",
                    [Firing({k: dong_anh[0][k] for k in ("district", "district_code")}, 0.75)],
                ),
                ("5m", "DvcServiceDown", [Firing(p, 0) for p in dong_anh[:3]]),
            ],
        ),
        Case(
            "Kannel unreachable or suspended: DvcSmsGatewayDown; running gateway: quiet",
            [
                Series("dvc_kannel_up", kannel, "1x3 0x10"),
                Series("dvc_kannel_up", _target("kannel", "kannel-b:9602"), "1x14"),
                Series(
                    "dvc_kannel_gateway_state",
                    {**_target("kannel", "kannel-b:9602"), "state": "running"},
                    "1x3 0x10",
                ),
            ],
            [
                ("3m", "DvcSmsGatewayDown", []),
                (
                    "6m",
                    "DvcSmsGatewayDown",
                    [
                        Firing(kannel, 0),
                        Firing({**_target("kannel", "kannel-b:9602"), "state": "running"}, 0),
                    ],
                ),
            ],
        ),
        Case(
            "upstream SMSC offline: DvcSmscOffline for it only",
            [
                Series(
                    "dvc_kannel_smsc_online",
                    {**kannel, "smsc": "upstream", "admin_id": "upstream"},
                    "1 0x10",
                ),
                Series(
                    "dvc_kannel_smsc_online",
                    {**kannel, "smsc": "loopback", "admin_id": "loopback"},
                    "1x10",
                ),
            ],
            [
                ("2m", "DvcSmscOffline", []),
                (
                    "5m",
                    "DvcSmscOffline",
                    [Firing({**kannel, "smsc": "upstream", "admin_id": "upstream"}, 0)],
                ),
            ],
        ),
        Case(
            "500 SMS queued to send for 10m: DvcSmsQueueBacklog; 50 queued or MO queue: quiet",
            [
                Series("dvc_kannel_sms_queued_messages", {**kannel, "direction": "sent"}, "500x20"),
                Series(
                    "dvc_kannel_sms_queued_messages", {**kannel, "direction": "received"}, "500x20"
                ),
                Series(
                    "dvc_kannel_sms_queued_messages",
                    {**_target("kannel", "kannel-b:9602"), "direction": "sent"},
                    "50x20",
                ),
            ],
            [
                ("8m", "DvcSmsQueueBacklog", []),
                ("12m", "DvcSmsQueueBacklog", [Firing({**kannel, "direction": "sent"}, 500)]),
            ],
        ),
        Case(
            "loopback round trip failing for 5m: DvcSmsEndToEndFailing; a passing probe: quiet",
            [
                Series("dvc_sms_e2e_success", kannel, "1 0x10"),
                Series("dvc_sms_e2e_success", _target("kannel", "kannel-b:9602"), "1x10"),
            ],
            [
                ("4m", "DvcSmsEndToEndFailing", []),
                ("7m", "DvcSmsEndToEndFailing", [Firing(kannel, 0)]),
            ],
        ),
        Case(
            "citizen database down: DvcCitizenDbDown after 2m; back up: quiet",
            [Series("dvc_citizen_db_up", cdb, "1 0x4 1x5")],
            [
                ("2m", "DvcCitizenDbDown", []),
                ("4m", "DvcCitizenDbDown", [Firing(cdb, 0)]),
                ("9m", "DvcCitizenDbDown", []),
            ],
        ),
        Case(
            "a down scrape target or a stuck sweep: DvcExporterStale; Prometheus itself and "
            "fresh sweeps: quiet",
            [
                Series("up", kannel, "1 0x10"),
                Series("up", cdb, "1x10"),
                Series("up", _target("prometheus", "localhost:9090"), "0x10"),
                Series(
                    "dvc_exporter_last_sweep_timestamp_seconds",
                    {**_target("availability", "availability:9601"), "exporter": "availability"},
                    "0x15",
                ),
                Series(
                    "dvc_exporter_last_sweep_timestamp_seconds",
                    {**_target("availability", "availability-2:9601"), "exporter": "availability"},
                    "0+60x15",
                ),
            ],
            [
                ("3m", "DvcExporterStale", []),
                (
                    "7m",
                    "DvcExporterStale",
                    [Firing(kannel, 0)],
                ),
                (
                    "12m",
                    "DvcExporterStale",
                    [
                        Firing(kannel, 0),
                        Firing(
                            {
                                **_target("availability", "availability:9601"),
                                "exporter": "availability",
                            },
                            720,
                        ),
                    ],
                ),
            ],
        ),
    ]


def _go_value(v: float) -> str:
    """Go's %v for a float64, as Prometheus templates print `$value`."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e21 else repr(v)


def expand(template: str, labels: Mapping[str, str], value: float) -> str:
    """Expand the template subset alerts.yml uses; refuse anything else."""
    out = re.sub(
        r"\{\{\s*\$value\s*\|\s*humanizePercentage\s*\}\}",
        lambda _m: "%.4g%%" % (value * 100),
        template,
    )
    out = re.sub(r"\{\{\s*\$value\s*\}\}", lambda _m: _go_value(value), out)
    out = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), out)
    if "{{" in out:
        raise ValueError(f"alerts.yml uses a template this generator cannot expand: {template!r}")
    return out


def load_alert_rules(path: Path) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}


def _expected(rule: Mapping[str, Any], firing: Firing) -> dict[str, Any]:
    labels = {**firing.labels, **rule.get("labels", {})}
    annotations = {
        k: expand(v, labels, firing.value) for k, v in rule.get("annotations", {}).items()
    }
    return {"exp_labels": labels, "exp_annotations": annotations}


def render(all_cases: Iterable[Case], rules: Mapping[str, Mapping[str, Any]]) -> str:
    tests = []
    covered: dict[str, set[bool]] = {name: set() for name in rules}
    for case in all_cases:
        checks = []
        for eval_time, alertname, firing in case.checks:
            if alertname not in rules:
                raise ValueError(f"case {case.name!r} checks unknown alert {alertname!r}")
            covered[alertname].add(bool(firing))
            checks.append(
                {
                    "eval_time": eval_time,
                    "alertname": alertname,
                    "exp_alerts": [_expected(rules[alertname], f) for f in firing],
                }
            )
        tests.append(
            {
                "name": case.name,
                "interval": "1m",
                "input_series": [{"series": s.selector(), "values": s.values} for s in case.series],
                "alert_rule_test": checks,
            }
        )
    missing = sorted(n for n, seen in covered.items() if seen != {True, False})
    if missing:
        raise ValueError(f"alerts not tested both firing and quiet: {', '.join(missing)}")
    header = (
        "# GENERATED by `python -m exporters.rule_tests` from exporters/rules/alerts.yml:\n"
        "# do not edit by hand. Run: promtool test rules exporters/rules/tests/alerts_test.yml\n"
    )
    body = {"rule_files": ["../alerts.yml"], "evaluation_interval": "1m", "tests": tests}
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=10_000)


def main() -> int:
    text = render(cases(sample_pairs()), load_alert_rules(ALERTS))
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
