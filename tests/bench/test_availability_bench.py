"""The availability benchmark's verdicts: a CPU comparison over probes that failed is no
comparison, and settings the exporter would refuse are refused up front (exit 2)."""

from __future__ import annotations

import pytest

from bench.availability_bench import answered_verdict, parse_args


def _run(up: int, probes: int) -> dict[str, int]:
    return {"up": up, "probes": probes}


def test_every_probe_up_is_met_only_when_no_run_lost_a_probe() -> None:
    assert answered_verdict([_run(13380, 13380), _run(13380, 13380)])["met"]
    lost = answered_verdict([_run(13380, 13380), _run(4339, 13380)])
    assert not lost["met"] and lost["value"] == pytest.approx(4339 / 13380)


@pytest.mark.parametrize(
    "flags",
    [["--https-interval", "5", "--https-timeout", "5"], ["--interval", "1", "--timeout", "2"]],
)
def test_an_interval_shorter_than_timeout_plus_margin_is_a_usage_error(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(flags)
    assert exit_.value.code == 2
    assert "sweep margin" in capsys.readouterr().err
