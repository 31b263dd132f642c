"""The lab's rule files: `for:` divided, order kept, still valid for promtool."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporters.rule_files import RuleFileError, rule_files, scale_for, seconds


def _fors(text: str) -> dict[str, str]:
    """Alert -> its `for:` (an alert's rules share one; the always-firing watchdog has none)."""
    doc = yaml.safe_load(text)
    return {r["alert"]: r["for"] for g in doc["groups"] for r in g["rules"] if "for" in r}


def test_production_files_are_the_repo_files_unchanged() -> None:
    repo = Path(__file__).resolve().parents[2] / "exporters" / "rules"
    assert rule_files() == {p.name: p.read_text(encoding="utf-8") for p in repo.glob("*.yml")}


def test_lab_divides_every_for_and_keeps_their_order() -> None:
    prod = _fors(rule_files()["alerts.yml"])
    lab = _fors(rule_files(8)["alerts.yml"])
    assert lab["DvcServiceDown"] == "23s" and lab["DvcDistrictOutage"] == "15s"
    assert set(lab) == set(prod)
    for a in prod:
        for b in prod:
            if seconds(prod[a]) < seconds(prod[b]):
                assert seconds(lab[a]) <= seconds(lab[b]), (a, b)


# The lab's `lab up` timings, and the fault matrix's drill profile
# (tests/exporters/test_fault_matrix.py: DRILL): production's rules, only `for:` shorter.
PROFILES = [(8, 5), (60, 4)]


@pytest.mark.parametrize(("divisor", "minimum"), PROFILES)
def test_only_for_lines_change(divisor: float, minimum: int) -> None:
    for name, text in rule_files().items():
        lab = rule_files(divisor, minimum=minimum)[name]
        pairs = zip(text.splitlines(), lab.splitlines(), strict=True)
        changed = [(a, b) for a, b in pairs if a != b]
        assert all(a.strip().startswith("for:") for a, _ in changed), name
        assert all(seconds(b.split(":")[1].strip()) >= minimum for _, b in changed), name


@pytest.mark.parametrize(("divisor", "minimum"), PROFILES)
def test_every_profile_keeps_the_order_of_the_fors(divisor: float, minimum: int) -> None:
    prod = _fors(rule_files()["alerts.yml"])
    lab = _fors(rule_files(divisor, minimum=minimum)["alerts.yml"])
    for a in prod:
        for b in prod:
            if seconds(prod[a]) < seconds(prod[b]):
                assert seconds(lab[a]) <= seconds(lab[b]), (a, b)


def test_a_floor_keeps_short_fors_meaningful() -> None:
    assert scale_for("    for: 10s\n", 8, minimum=5) == "    for: 5s\n"


def test_bad_values_say_what_is_expected() -> None:
    with pytest.raises(RuleFileError, match="not a Prometheus duration"):
        scale_for("    for: soon\n", 8)
    with pytest.raises(RuleFileError, match="1 or more"):
        scale_for("    for: 2m\n", 0.5)


def test_cli_writes_files_promtool_accepts(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `apt-get install prometheus` (infra/packages/test.txt)")
    argv = [sys.executable, "-m", "exporters.rule_files", "--for-divisor", "8", "--out"]
    subprocess.run([*argv, str(tmp_path)], check=True)
    written = sorted(tmp_path.glob("*.yml"))
    assert [p.name for p in written] == sorted(rule_files())
    result = subprocess.run([promtool, "check", "rules", *map(str, written)], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr
