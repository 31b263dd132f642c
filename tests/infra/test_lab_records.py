"""The lab's synthetic records fill exactly its sample and pass the inventory's checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import inventory
from dvc_rollout.stack_outputs import SampleDistrict
from infra.lab import records


def test_synthetic_records_cover_each_sampled_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program_outputs: Any
) -> None:
    monkeypatch.setenv("DVC_STATE_DIR", str(tmp_path))
    lab = program_outputs("unit-test", "lab")
    sample = lab.sample.model_copy(
        update={
            "districts": [SampleDistrict(code="016", name="-", sites=["016", "00376", "00379"])]
        }
    )
    path = records.write("unit-test", lab.model_copy(update={"sample": sample}))
    assert path == tmp_path / "unit-test" / "records.yaml"
    inv = inventory.load(records=path)
    for code in ("016", "00376", "00379"):
        site = inv.sites[code]
        assert len(site.accounts) == records.OFFICIALS_PER_SITE
        assert site.training and site.training[0].date < inv.phases[min(site.phases)].go_live
        assert site.helpdesk.staff == 1
    assert not inv.sites["00382"].accounts  # outside the sample nothing is invented
    assert inv.sites["00382"].helpdesk.staff is None
    assert "LAB PART" in path.read_text(encoding="utf-8")
