"""Past one Prometheus: which rules run where, and the global server's federation job."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporters import federation
from exporters.rule_files import rule_files
from exporters.scrape_config import ScrapeConfigError, render


def _rules(files: dict[str, str]) -> list[tuple[str, str, str]]:
    """(file, group, rule name) of every rule the files hold."""
    found = []
    for name, text in files.items():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                found.append((name, group["name"], rule.get("record") or rule["alert"]))
    return found


def _promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is missing: `apt-get install prometheus` (infra/packages/test.txt)")
    return exe


def test_shards_and_global_split_the_rules_without_loss_or_overlap() -> None:
    single, shard, glob = (rule_files(tier=t) for t in ("single", "shard", "global"))
    on_shard, on_global = _rules(shard), _rules(glob)
    assert sorted(on_shard + on_global) == sorted(_rules(single))
    assert on_shard and all(federation.PAIR_RECORD.match(r) for _, _, r in on_shard)
    assert not any(federation.PAIR_RECORD.match(r) for _, _, r in on_global)
    # every alert is the global server's: shards alert no one
    assert not any("alert" in r for t in shard.values() for g in yaml.safe_load(t)["groups"]
                   for r in g["rules"])  # fmt: skip
    # groups keep their evaluation interval where they go
    long = [g for t in shard.values() for g in yaml.safe_load(t)["groups"]]
    assert any(g.get("interval") == "5m" for g in long)


def test_every_recorded_series_a_server_reads_is_there() -> None:
    """A shard reads only what it records; the global server what it records or federates."""
    by_tier = {}
    for tier in ("shard", "global"):
        recorded, read = set(), set()
        for text in rule_files(tier=tier).values():
            r, used = federation.names_used(text)
            recorded |= r
            read |= used
        by_tier[tier] = (recorded, read)
    shard_recorded, shard_read = by_tier["shard"]
    assert shard_read <= shard_recorded
    global_recorded, global_read = by_tier["global"]
    federated = {n for n in global_read if federation.PAIR_RECORD.match(n)}
    assert global_read - federated <= global_recorded
    assert federated <= shard_recorded


def _availability_metrics() -> set[str]:
    """The metric names the availability exporter exposes, as its code spells them."""
    source = Path(federation.__file__).parent / "availability"
    names: set[str] = set()
    for path in source.glob("*.py"):
        names |= set(re.findall(r'"(dvc_[a-z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names - {"dvc_service"}


def test_every_availability_series_a_global_rule_reads_is_federated() -> None:
    """A global rule reading a series the shards keep would never fire (a silent alert)."""
    exported = _availability_metrics() | {"up"}
    assert {"dvc_service_up", "dvc_tls_certificate_expiry_timestamp_seconds"} <= exported
    read: set[str] = set()
    for text in rule_files(tier="global").values():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                read |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(rule["expr"])))
    needed = read & exported
    assert "dvc_tls_certificate_expiry_timestamp_seconds" in needed
    missing = {n for n in needed if not federation.FEDERATED_RAW.match(n)}
    assert not missing, f"global rules read availability series not federated: {missing}"


def test_each_tier_writes_files_promtool_accepts(tmp_path: Path) -> None:
    for tier in ("shard", "global"):
        out = tmp_path / tier
        argv = [sys.executable, "-m", "exporters.rule_files", "--for-divisor", "8"]
        subprocess.run([*argv, "--tier", tier, "--out", str(out)], check=True, timeout=60)
        written = sorted(out.glob("*.yml"))
        assert [p.name for p in written] == sorted(rule_files(tier=tier))
        check = subprocess.run(
            [_promtool(), "check", "rules", *map(str, written)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_the_global_server_federates_the_availability_job_under_its_own_name(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-m", "exporters.scrape_config", "--kannel", "k:9602"]
    argv += ["--federate", "shard-1:9090", "--federate", "shard-2:9090"]
    argv += ["--alertmanager", "am:9093", "--rule-files", "/etc/prometheus/rules/*.yml"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
    (tmp_path / "prometheus.yml").write_text(out, encoding="utf-8")
    check = subprocess.run(
        [_promtool(), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    jobs = {j["job_name"]: j for j in yaml.safe_load(out)["scrape_configs"]}
    federate = jobs["availability"]
    assert federate["metrics_path"] == "/federate"
    assert federate["honor_labels"] is True and federate["honor_timestamps"] is False
    assert federate["static_configs"] == [{"targets": ["shard-1:9090", "shard-2:9090"]}]
    assert set(federate["params"]["match[]"]) == set(federation.FEDERATED)


def test_a_job_is_scraped_or_federated_never_both() -> None:
    with pytest.raises(ScrapeConfigError, match="not both"):
        render({"availability": ["a:9601"]}, federate=["shard-1:9090"])
    with pytest.raises(ScrapeConfigError, match=r"--federate 'http://s:9090' is not HOST:PORT"):
        render({}, federate=["http://s:9090"])


def test_an_unknown_tier_is_refused_by_name() -> None:
    with pytest.raises(federation.FederationError, match="--tier 'middle'"):
        federation.check_tier("middle")
