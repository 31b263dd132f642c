"""A hostile unit name goes through validate, show, sign-off and the status page as text.

The name (see the `hostile` fixture) holds Jinja2, shell substitutions, quotes, `|`,
`;` and a `<script>`; it is a valid name, so the inventory validates. Each output must
show it as typed (HTML escaped by Jinja2's autoescape, JSON as the string itself) and
nothing in it may run. A line break in a name is refused by validate, naming the file.
And the records the teams have not filled yet (explicit empty lists) are said to be
filled for every site of every district, never taken as nothing to check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import markupsafe

import inventory
from signoff import status, status_page

EXE = str(Path(sys.executable).with_name("dvc-rollout"))


def renamed_inventory(tmp_path: Path, name: str) -> Path:
    data = tmp_path / "inventory"
    shutil.copytree(inventory.DEFAULT_DATA_DIR, data)
    units = data / "units.yaml"
    quoted = json.dumps(name, ensure_ascii=False)
    text = units.read_text("utf-8").replace("name: Thị trấn Sóc Sơn,", f"name: {quoted},", 1)
    units.write_text(text, "utf-8")
    return data


def run(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DVC_INVENTORY": str(data)}
    env.pop("DVC_INVENTORY_RECORDS", None)
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, encoding="utf-8", timeout=120, env=env
    )


def test_validate_and_show_keep_the_name_as_typed(tmp_path: Path, hostile) -> None:
    data = renamed_inventory(tmp_path, hostile.name)
    assert run("inventory", "validate", str(data), data=data).returncode == 0
    shown = run("inventory", "show", "unit", "00376", "--json", data=data)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == hostile.name
    broken = renamed_inventory(tmp_path / "broken", hostile.name + "\nXã Hai")
    refused = run("inventory", "validate", str(broken), data=broken)
    assert refused.returncode == 2 and "units.yaml: units[0].name" in refused.stderr
    assert hostile.ran() == []


def test_signoff_reports_show_the_name_as_typed(tmp_path: Path, hostile) -> None:
    data = renamed_inventory(tmp_path, hostile.name)
    reports = tmp_path / "reports"
    done = run(
        *("signoff", "--phase", "2", "--unit", "00376", "--inventory", str(data)),
        *("--prometheus", "http://127.0.0.1:9", "--results", str(tmp_path / "none.sqlite")),
        *("--reports", str(reports)),
        data=data,
    )
    assert done.returncode == 1, done.stderr  # NO-GO: no evidence, and nothing crashed
    assert "Traceback" not in done.stderr
    [page] = reports.glob("*.html")
    text = page.read_text("utf-8")
    assert "<script>alert(1)</script>" not in text
    assert str(markupsafe.escape(hostile.name)) in text  # autoescaped: shown, never markup
    [document] = reports.glob("*.json")
    sites = json.loads(document.read_text("utf-8"))["sites"]
    assert [s["name"] for s in sites] == [f"Bộ phận một cửa {hostile.name}"]
    assert hostile.ran() == []


class _Prometheus:
    """The query answers a real Prometheus would give for a unit with this name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        labels = {"district_code": "016", "district": self.name, "service": "c-birth"}
        return [(labels, 1.0)]


def test_the_status_page_shows_the_name_as_typed(hostile) -> None:
    snapshot: dict[str, Any] = {
        "generated_at": "2017-07-15T08:00:00+07:00",
        "refresh_seconds": 15,
        "errors": {"alertmanager": hostile.name},
        "alerts": [
            {
                "severity": "critical",
                "alertname": "DvcServiceDown",
                "district": hostile.name,
                "unit": hostile.name,
                "service": "c-birth",
                "summary": hostile.name,
                "starts_at": "2017-07-15T07:00:00+07:00",
            }
        ],
        "grid": status.grid(_Prometheus(hostile.name)),  # type: ignore[arg-type]
        "readiness": [{"code": "016", "name": hostile.name, "sites": 1, "ready": 0, "newest": ""}],
    }
    page = status_page.render(snapshot)
    assert "<script>" not in page
    assert page.count(str(markupsafe.escape(hostile.name))) == 6
    assert hostile.ran() == []


def test_records_still_to_be_filled_are_said_so_for_every_site_of_every_district(
    tmp_path: Path,
) -> None:
    # records.yaml ships as explicit empty lists: nothing recorded yet, never "nothing needed".
    reports = tmp_path / "reports"
    data = inventory.DEFAULT_DATA_DIR
    done = run(
        *("signoff", "--phase", "1", "--prometheus", "http://127.0.0.1:9"),
        *("--results", str(tmp_path / "none.sqlite"), "--reports", str(reports)),
        data=data,
    )
    assert done.returncode == 1, done.stderr
    [document] = reports.glob("*.json")
    report = json.loads(document.read_text("utf-8"))
    assert {d["code"] for d in report["districts"]} == set(inventory.load().districts)
    for site in report["sites"]:
        said = {f["criterion"]: f["reason"] for f in site["findings"]}
        for criterion in ("accounts", "training", "helpdesk"):
            assert "(to be filled)" in said[criterion], (site["code"], said)
