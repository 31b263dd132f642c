"""prometheus.yml for the exporters: promtool accepts it with our rule files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporters.scrape_config import ScrapeConfigError, render

RULES = Path(__file__).resolve().parents[2] / "exporters" / "rules"


def _promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is missing: `apt-get install prometheus` (infra/packages/test.txt)")
    return exe


def test_cli_output_passes_promtool_check_config(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "exporters.scrape_config",
        "--availability",
        "exporter-a:9601",
        "--availability",
        "exporter-b:9601",
        "--kannel",
        "kannel-exporter:9602",
        "--citizen-db",
        "citizen-db-exporter:9604",
        "--readiness",
        "readiness-exporter:9605",
        "--alertmanager",
        "alertmanager:9093",
        "--rule-files",
        str(RULES / "alerts.yml"),
        "--rule-files",
        str(RULES / "recording.yml"),
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
    path = tmp_path / "prometheus.yml"
    path.write_text(out, encoding="utf-8")
    check = subprocess.run(
        [_promtool(), "check", "config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    jobs = {
        j["job_name"]: j["static_configs"][0]["targets"]
        for j in yaml.safe_load(out)["scrape_configs"]
    }
    assert jobs["availability"] == ["exporter-a:9601", "exporter-b:9601"]
    assert set(jobs) == {
        "prometheus", "availability", "kannel", "citizen_db", "readiness", "alertmanager"
    }  # fmt: skip
    assert jobs["alertmanager"] == jobs_alertmanagers(out)


def jobs_alertmanagers(out: str) -> list[str]:
    """Alertmanager is scraped where alerts are sent: its notification failures alert."""
    targets: list[str] = yaml.safe_load(out)["alerting"]["alertmanagers"][0]["static_configs"][0][
        "targets"
    ]
    return targets


def test_jobs_without_targets_are_left_out() -> None:
    config = render({"kannel": ["k:9602"]})
    assert [j["job_name"] for j in config["scrape_configs"]] == ["prometheus", "kannel"]
    assert "alerting" not in config


@pytest.mark.parametrize(
    ("targets", "interval", "match"),
    [
        ({"kannel": ["http://k:9602"]}, "15s", r"--kannel 'http://k:9602' is not HOST:PORT"),
        ({"citizen_db": ["db"]}, "15s", r"--citizen-db 'db' is not HOST:PORT"),
        ({"kannel": ["k:9602"]}, "15 seconds", "is not a Prometheus duration"),
        ({"bogus": ["k:1"]}, "15s", r"unknown jobs \['bogus'\]"),
    ],
)
def test_bad_arguments_are_refused(
    targets: dict[str, list[str]], interval: str, match: str
) -> None:
    with pytest.raises(ScrapeConfigError, match=match):
        render(targets, scrape_interval=interval)
