"""Targets from the inventory and from targets files, their URLs and their shards."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from exporters.availability.config import Check, config_from_mapping
from exporters.availability.errors import AvailabilityConfigError
from exporters.availability.targets import (
    LABEL_NAMES,
    Shard,
    build_targets,
    labels_from_inventory,
    parse_shard,
    read_targets_file,
    render_targets_file,
    select,
    shard_of,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def full() -> list[dict[str, str]]:
    return labels_from_inventory()


def test_the_full_plan_has_2676_targets_split_by_phase(full):
    assert len(full) == 2676
    assert Counter(labels["phase"] for labels in full) == {"1": 180, "2": 2496}
    assert len({(labels["unit_code"], labels["service"]) for labels in full}) == 2676
    assert all(tuple(labels) == LABEL_NAMES for labels in full)


def test_one_phase_can_be_chosen(full):
    assert len(labels_from_inventory([1])) == 180
    assert len(select(full, [2])) == 2496


@pytest.mark.parametrize("count", [2, 3, 5])
def test_shards_partition_the_targets(full, count):
    slices = [select(full, shard=Shard(index, count)) for index in range(1, count + 1)]
    keys = [{(t["unit_code"], t["service"]) for t in part} for part in slices]
    assert sum(len(k) for k in keys) == 2676
    assert set().union(*keys) == {(t["unit_code"], t["service"]) for t in full}
    assert all(len(part) > 2676 / count / 2 for part in slices)


def test_a_pair_keeps_its_shard_whatever_else_is_in_scope(full):
    labels = full[0]
    assert shard_of(labels, 3) == shard_of(dict(labels), 3)
    assert [shard_of(t, 3) for t in select(full, [1])] == [shard_of(t, 3) for t in full[:180]]


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_a_bad_shard_is_refused_with_an_example(text):
    with pytest.raises(AvailabilityConfigError, match=r"must be i/n .* --shard 2/3"):
        parse_shard(text)


def test_urls_come_from_the_default_or_the_service_template(full):
    config = config_from_mapping(
        {
            "host": "portal.example:8443",
            "services": {
                "c-marriage": {"url": "https://{host}/hotich/{unit_code}", "expect_text": "OK"}
            },
        }
    )
    pairs = [t for t in full if t["unit_code"] == "00376"]
    targets = {t.service: t for t in build_targets(pairs, config)}
    assert targets["c-marriage"].url == "https://portal.example:8443/hotich/00376"
    assert targets["c-marriage"].check == Check(json_fields=None, text="OK")
    other = next(code for code in targets if code != "c-marriage")
    assert targets[other].url == f"http://portal.example:8443/dvc/00376/{other}/health"
    assert targets[other].check == Check()


def test_the_targets_command_writes_a_file_the_exporter_reads(tmp_path, full):
    written = subprocess.run(
        [sys.executable, "-m", "exporters.availability.targets", "--phase", "1"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    path = tmp_path / "targets.json"
    path.write_bytes(written.stdout)
    assert read_targets_file(path) == full[:180]
    assert "Huyện Sóc Sơn" in written.stdout.decode("utf-8")


def test_a_rendered_targets_file_reads_back_as_yaml_too(tmp_path, full):
    path = tmp_path / "targets.yaml"
    path.write_text(render_targets_file(full[:5]), encoding="utf-8")
    assert read_targets_file(path) == full[:5]


def test_a_targets_entry_without_a_label_is_refused_by_index(tmp_path, full):
    broken = dict(full[0])
    del broken["unit_code"]
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({"targets": [full[1], broken]}), encoding="utf-8")
    with pytest.raises(
        AvailabilityConfigError, match=r"targets\[1\] lacks string label\(s\) unit_code"
    ):
        read_targets_file(path)
