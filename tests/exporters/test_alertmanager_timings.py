"""Notification timings: production's by default, the lab's short ones when asked."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import inventory
from exporters.alertmanager import TIMINGS, AlertmanagerConfigError, render

URL = "http://recorder:9095/alerts/default"


def test_production_keeps_its_timings() -> None:
    route = render(inventory.load().oncall.values(), URL)["route"]
    assert {k: route[k] for k in TIMINGS} == {
        "group_wait": "30s",
        "group_interval": "2m",
        "repeat_interval": "4h",
    }


def test_cli_takes_the_lab_timings() -> None:
    argv = [sys.executable, "-m", "exporters.alertmanager", "--webhook-url", URL]
    argv += ["--group-wait", "5s", "--group-interval", "10s"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    route = yaml.safe_load(out)["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "5s",
        "10s",
        "4h",
    )


@pytest.mark.parametrize("timings", [{"group_wait": "soon"}, {"group_delay": "5s"}])
def test_bad_timings_are_refused(timings: dict[str, str]) -> None:
    with pytest.raises(AlertmanagerConfigError, match="durations such as 30s"):
        render(inventory.load().oncall.values(), URL, timings=timings)
