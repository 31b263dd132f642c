"""`dvc-rollout inventory …` as a user runs it: the console script, exit codes, output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("dvc-rollout"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, encoding="utf-8", timeout=120
    )


def test_stats_json_reports_the_plan() -> None:
    result = run("inventory", "stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert {k: stats[k] for k in ("districts", "units", "services", "phases", "pairs")} == {
        "districts": 18,
        "units": 416,
        "services": 16,
        "phases": 2,
        "pairs": 2676,
    }
    assert stats["per_phase"]["1"]["pairs"] == 180
    assert stats["per_phase"]["2"]["pairs"] == 2496


def test_stats_table_shows_the_sum() -> None:
    result = run("inventory", "stats")
    assert "unit-service pairs: 180 + 2,496 = 2,676" in result.stdout


def test_validate_bad_inventory_exits_2_without_traceback(data_copy: Path) -> None:
    plan = data_copy / "plan.yaml"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace("2017-07-15", "15/7/2017"), encoding="utf-8"
    )
    units = data_copy / "units.yaml"
    units.write_text(
        units.read_text(encoding="utf-8").replace('district: "016"}', 'district: "999"}', 1),
        encoding="utf-8",
    )
    result = run("inventory", "validate", str(data_copy))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "has 2 problems" in result.stderr
    assert "plan.yaml: phases[0].go_live: expected an ISO date" in result.stderr
    assert "units.yaml: units[0].district: unknown district '999'" in result.stderr


def test_validate_json_lists_problems(data_copy: Path) -> None:
    (data_copy / "sites.yaml").write_bytes(b"sites: [\n")
    result = run("inventory", "validate", str(data_copy), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["problems"][0]["file"] == "sites.yaml"


def test_show_district_by_name_without_diacritics() -> None:
    result = run("inventory", "show", "district", "ung hoa", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["code"] == "281" and shown["name"] == "Huyện Ứng Hòa"
    assert len(shown["units"]) == 29
    assert len(shown["services"]) == 10


def test_show_ambiguous_unit_lists_candidates() -> None:
    result = run("inventory", "show", "unit", "Tân Minh")
    assert result.returncode == 2
    assert "00406  Xã Tân Minh (unit: xã, Huyện Sóc Sơn)" in result.stderr
    assert "10240  Xã Tân Minh (unit: xã, Huyện Thường Tín)" in result.stderr


def test_show_table() -> None:
    result = run("inventory", "show", "service", "d-pavement-2")
    assert result.returncode == 0
    assert "units_in_scope     18" in result.stdout


def test_export_ansible_groups() -> None:
    result = run("inventory", "export", "ansible", "--phase", "2")
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert len(exported["terminals"]["hosts"]) == 416
    assert "term-00376-1" in exported["district_016"]["hosts"]
    assert exported["level_commune"]["hosts"] == exported["phase_2"]["hosts"]
    unit_name = exported["_meta"]["hostvars"]["term-00376-1"]["dvc_unit_name"]
    assert unit_name == {"__ansible_unsafe": "Thị trấn Sóc Sơn"}


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["inventory"],
        ["inventory", "validate"],
        ["inventory", "stats"],
        ["inventory", "show"],
        ["inventory", "export"],
    ],
)
def test_every_subcommand_has_help(words: list[str]) -> None:
    result = run(*words, "--help")
    assert result.returncode == 0
    assert "usage: dvc-rollout" in result.stdout
