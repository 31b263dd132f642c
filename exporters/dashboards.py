"""Grafana dashboards as code, for teams that run Grafana: the status page's views.

Built with Grafana's own grafana-foundation-sdk from the inventory (one uptime panel per
district, services by name) and the recording rules (exporters/rules/recording.yml):
status-history panels of `dvc:district_service_availability:ratio_1h` per district, the
SMS switchboard and the citizen database as their own panels
(`dvc:component_availability:ratio_1h`), and a state timeline of `ALERTS` (the incident
timeline). Times are shown in Hanoi time.

    python -m exporters.dashboards [--district 016 ...] [--datasource-uid UID] > dvc.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, statetimeline, statushistory
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as models

from dvc_rollout import argtypes
from dvc_rollout.errors import DvcRolloutError

UID = "dvc-rollout-oncall"
ZONE = "Asia/Ho_Chi_Minh"
PER_SERVICE = "dvc:district_service_availability:ratio_1h"
PER_COMPONENT = "dvc:component_availability:ratio_1h"
INCIDENTS = 'ALERTS{alertstate="firing"}'
# The SMS switchboard's and the citizen database's series (recording.yml's `component`).
PANELS = {
    "Tổng đài SMS / SMS switchboard": 'component=~"sms_gateway|sms_end_to_end"',
    "Cơ sở dữ liệu công dân / Citizen database": 'component="citizen_db"',
}


def _thresholds() -> gd.ThresholdsConfig:
    return (
        gd.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps(
            [
                models.Threshold(value=None, color="red"),
                models.Threshold(value=0.9, color="orange"),
                models.Threshold(value=0.999, color="green"),
            ]
        )
    )


def _query(expr: str, legend: str, datasource: models.DataSourceRef) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery().expr(expr).legend_format(legend).ref_id("A").datasource(datasource)
    )


def _uptime(
    title: str, expr: str, legend: str, datasource: models.DataSourceRef
) -> statushistory.Panel:
    return (
        statushistory.Panel()
        .title(title)
        .datasource(datasource)
        .with_target(_query(expr, legend, datasource))
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(_thresholds())
        .interval("1h")
        .height(max(4, 2 + expr.count("|")))
        .span(24)
    )


def queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a built dashboard (what the tests check)."""
    return [t["expr"] for p in board.get("panels", []) for t in p.get("targets", [])]


def build(
    districts: Iterable[tuple[str, str]],
    service_names: dict[str, str],
    datasource_uid: str = "prometheus",
) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (a dict ready for json.dumps)."""
    source = models.DataSourceRef(type_val="prometheus", uid=datasource_uid)
    board = (
        gd.Dashboard("DVC — trực vận hành / on-call")
        .uid(UID)
        .tags(["dvc-rollout", "169/KH-UBND"])
        .timezone(ZONE)
        .time("now-24h", "now")
        .refresh("1m")
        .readonly()
    )
    board = board.with_panel(
        statetimeline.Panel()
        .title("Sự cố / Incidents (ALERTS)")
        .datasource(source)
        .with_target(_query(INCIDENTS, "{{alertname}} {{district}} {{service}}", source))
        .height(8)
        .span(24)
    )
    for title, selector in PANELS.items():
        board = board.with_panel(
            _uptime(title, f"{PER_COMPONENT}{{{selector}}}", "{{component}}", source)
        )
    for code, name in districts:
        board = board.with_panel(
            _uptime(
                f"{name} ({code}) — tỷ lệ hoạt động theo dịch vụ / uptime by service",
                f'{PER_SERVICE}{{district_code="{code}"}}',
                "{{service}}",
                source,
            ).description("; ".join(f"{c}: {n}" for c, n in sorted(service_names.items()))[:2000])
        )
    built = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    assert isinstance(built, dict)
    return built


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exporters.dashboards", description=__doc__)
    parser.add_argument(
        "--district", action="append", type=argtypes.text(), help="only this district (code)"
    )
    parser.add_argument("--datasource-uid", type=argtypes.text(100), default="prometheus")
    parser.add_argument("--inventory", type=argtypes.existing_dir)
    args = parser.parse_args(argv)
    try:
        import inventory

        inv = inventory.load(args.inventory)
        wanted = [inv.find(d, kind="district").code for d in args.district or []]
        chosen = [(c, d.name) for c, d in inv.districts.items() if not wanted or c in wanted]
        names = {c: s.name_vi for c, s in inv.services.items()}
        board = build(chosen, names, args.datasource_uid)
    except DvcRolloutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(board, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
