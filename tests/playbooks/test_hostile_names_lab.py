"""`dvc-rollout configure` on the lab with a hostile unit name: nothing runs, text arrives.

One sampled commune of the lab is renamed, in a copy of the inventory given through
$DVC_INVENTORY, to a valid name full of Jinja2, shell and HTML (the `hostile` fixture),
and one of its officials gets the same full name. Configuring that desk must create no
marker file on the controller or in the desk's container, and the desk must hold the
name exactly as typed in /etc/dvc/portal.conf and in the official's account. The desk is
configured again with the real inventory afterwards, for the tests that follow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import inventory
from playbooks import runner

pytestmark = pytest.mark.lab


def _renamed(tmp_path: Path, unit: str, name: str) -> Path:
    data = tmp_path / "inventory"
    shutil.copytree(inventory.DEFAULT_DATA_DIR, data)
    units = data / "units.yaml"
    lines = units.read_text("utf-8").splitlines(keepends=True)
    [at] = [i for i, line in enumerate(lines) if line.lstrip().startswith(f'- {{code: "{unit}"')]
    old = inventory.load().places[unit].name
    lines[at] = lines[at].replace(f"name: {old},", f"name: {json.dumps(name, ensure_ascii=False)},")
    units.write_text("".join(lines), "utf-8")
    assert inventory.load(data).places[unit].name == name
    return data


def test_configure_with_a_hostile_unit_name_runs_nothing_and_writes_it_as_typed(
    lab, tmp_path, hostile, monkeypatch
):
    unit = next(u for u in lab.sampled_units() if len(u) == 5)
    host = f"term-{unit}-1"
    container = lab.terminals[host]
    records = yaml.safe_load(lab.records_file.read_text("utf-8"))
    account = next(a for a in records["accounts"] if a["unit"] == unit)
    account["full_name"] = hostile.name
    hostile_records = tmp_path / "records.yaml"
    hostile_records.write_text(yaml.safe_dump(records, allow_unicode=True), "utf-8")
    monkeypatch.setenv("DVC_INVENTORY", str(_renamed(tmp_path, unit, hostile.name)))
    monkeypatch.setenv("DVC_INVENTORY_RECORDS", str(hostile_records))
    try:
        result = runner.run(runner.RunOptions(stack=lab.stack, limit=host))
        assert result.ok, runner.format_summary(result)
        assert hostile.ran() == []  # on the controller
        for marker in hostile.markers:  # in the desk
            assert lab.exec(container, ["test", "-e", str(marker)]).exit_code == 1, marker
        portal = lab.exec(container, ["cat", "/etc/dvc/portal.conf"])
        assert f"\nunit_name = {hostile.name}\n" in portal.output, portal.output
        entry = lab.exec(container, ["getent", "passwd", account["username"]]).output
        assert entry.split(":")[4] == hostile.name, entry
    finally:
        monkeypatch.delenv("DVC_INVENTORY")
        monkeypatch.setenv("DVC_INVENTORY_RECORDS", str(lab.records_file))
        restored = runner.run(runner.RunOptions(stack=lab.stack, limit=host))
        assert restored.ok, runner.format_summary(restored)
