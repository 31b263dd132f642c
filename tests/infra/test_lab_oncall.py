"""The lab's synthetic on-call contacts: only its sample, nothing anyone could be reached at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import inventory
from infra.lab import oncall


def test_synthetic_contacts_fill_only_the_sample_and_pass_the_inventorys_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program_outputs: Any
) -> None:
    monkeypatch.setenv("DVC_STATE_DIR", str(tmp_path))
    outputs = program_outputs("unit-test", "lab")  # districts 016 and 017
    path = oncall.write("unit-test", outputs)
    assert path == tmp_path / "unit-test" / "oncall.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# LAB PART")
    inv = inventory.load(oncall=path)
    assert inv.oncall["016"].phone == "84000000016"
    assert inv.oncall["017"].email == "oncall-017@lab.invalid"
    assert inv.oncall["281"].phone is None and inv.oncall["281"].email is None
    assert len(inv.oncall) == 18  # every district listed, as the loader wants
    filled = [c for c in inv.oncall.values() if c.phone or c.email]
    assert all(c.email and c.email.endswith("@lab.invalid") for c in filled)
    assert all(c.phone and c.phone.startswith("84000000") for c in filled)
    assert inv.oncall_file.city is not None and inv.oncall_file.city.email == oncall.CITY_EMAIL
