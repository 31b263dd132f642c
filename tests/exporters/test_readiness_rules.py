"""The readiness alert rules pass promtool's own rule tests (firing and not firing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "exporters" / "rules"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise RuntimeError("promtool is missing: apt-get install prometheus")
    return found


def test_readiness_rules_are_valid() -> None:
    check = subprocess.run(
        [_promtool(), "check", "rules", str(RULES / "readiness.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_readiness_rule_tests_pass() -> None:
    test = subprocess.run(
        [_promtool(), "test", "rules", "readiness_test.yml"],
        cwd=RULES / "tests",
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stdout + test.stderr
