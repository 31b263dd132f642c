"""Grafana dashboards built with grafana-foundation-sdk: every query parses (promtool)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import inventory
from exporters import dashboards


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    inv = inventory.load()
    names = {c: s.name_vi for c, s in inv.services.items()}
    return dashboards.build([(c, d.name) for c, d in inv.districts.items()], names)


def test_one_uptime_panel_per_district_plus_incidents_and_the_shared_parts(board) -> None:
    types = [p["type"] for p in board["panels"]]
    assert types == ["state-timeline"] + ["status-history"] * (2 + 18)
    titles = [p["title"] for p in board["panels"]]
    assert "Huyện Ứng Hòa (281) — tỷ lệ hoạt động theo dịch vụ / uptime by service" in titles
    assert titles[1:3] == [
        "Tổng đài SMS / SMS switchboard",
        "Cơ sở dữ liệu công dân / Citizen database",
    ]
    assert board["timezone"] == "Asia/Ho_Chi_Minh"
    assert "Đăng ký kết hôn" in board["panels"][-1]["description"]


def test_every_query_parses_with_promtool(board, tmp_path: Path) -> None:
    exprs = dashboards.queries(board)
    assert len(exprs) == 21
    rules = {
        "groups": [
            {
                "name": "dashboard-queries",
                "rules": [
                    {"record": f"dvc_dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: apt-get install prometheus (infra/packages/test.txt)")
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 21 rules found" in done.stdout


def test_a_query_promtool_refuses_is_caught(tmp_path: Path) -> None:
    """Guard for the test above: promtool really parses what it is given."""
    path = tmp_path / "bad.yml"
    path.write_text("groups: [{name: x, rules: [{record: x, expr: 'sum(('}]}]\n", "utf-8")
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True)
    assert done.returncode != 0


def test_the_cli_prints_the_dashboard_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "exporters.dashboards", "--district", "Sóc Sơn"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    board = json.loads(out)
    assert [p["title"] for p in board["panels"]][-1].startswith("Huyện Sóc Sơn (016)")
