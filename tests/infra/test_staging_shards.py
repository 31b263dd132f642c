"""Staging's monitoring past one Prometheus, from its stack file, without an engine.

`Pulumi.staging.yaml` (all 18 districts) sets `monitoringShards: 2`, as production does:
two availability replicas (`--shard 1/2`, `2/2`), a shard Prometheus scraping each, and
the stack's Prometheus federating both (CI's `staging-ci` keeps one Prometheus: README.md,
"Staging"). Run as the file says (no override), the program's own split covers every
availability target of the estate exactly once; each shard server scrapes its replica
alone; the global server federates both shard servers, alerts, and is the `prometheus`
every later stage reads; and the Ansible inventory gives each server its tier.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import yaml

import inventory
from exporters import federation
from infra.lab import stackfile
from infra.lab_monitoring import PROMETHEUS_CONFIG
from playbooks.inventory import build_plain
from tests.infra.test_program_exporters import containers, run_stack, uploads

TARGETS_FILE = "/etc/dvc-availability-targets.json"


def _scrape_jobs(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(uploads(state)[PROMETHEUS_CONFIG])
    return {job["job_name"]: job for job in config["scrape_configs"]}


def _targets(job: dict[str, Any]) -> list[str]:
    return [t for group in job["static_configs"] for t in group["targets"]]


def test_the_staging_shards_cover_every_availability_target_exactly_once() -> None:
    stack = "staging"
    assert stackfile.load(stack)["dvc-rollout:monitoringShards"] == 2
    run = run_stack(stack, stack)  # the file's own settings: no override
    found = containers(run)
    sample = run.outputs["sample"]["districts"]
    # the whole estate: every district of the inventory
    assert sorted(d["code"] for d in sample) == sorted(inventory.load().districts)
    # Every availability target of the estate: each pair of the units whose desks it runs.
    sites = {s for d in sample for s in d["sites"]}
    wanted = {
        (p.place.code, p.service.code)
        for p in inventory.load().pairs(districts=[d["code"] for d in sample])
        if p.place.code in sites
    }
    assert wanted

    replicas = {
        k: v for k, v in run.outputs["containers"]["exporters"].items() if k.startswith("avail")
    }
    assert sorted(replicas) == ["availability-1", "availability-2"]
    slices: dict[str, set[tuple[str, str]]] = {}
    for name, container in replicas.items():
        state = found[container]
        command = state["command"]
        # both replicas read the same whole list and keep their slice of it
        listed = json.loads(uploads(state)[TARGETS_FILE])["targets"]
        assert {(t["unit_code"], t["service"]) for t in listed} == wanted
        shard = command[command.index("--shard") + 1]
        assert shard == f"{name.rsplit('-', 1)[1]}/2"
        slices[shard] = _shard_slice(listed, shard)
    counts = Counter(pair for pairs in slices.values() for pair in pairs)
    assert set(counts) == wanted  # the union is complete...
    assert set(counts.values()) == {1}  # ...and no pair is probed twice
    assert all(slices.values()), {k: len(v) for k, v in slices.items()}

    # Each shard Prometheus scrapes its own replica (and itself) and alerts no one.
    prefix = f"dvc-{stack}-"
    shard_servers = []
    for shard in run.outputs["prometheus_shards"]:
        index = shard["shard"].split("/")[0]
        replica = f"{prefix}exporter-availability-{index}:9601"
        assert shard["scrape_targets"] == {"availability": [replica]}
        state = found[shard["container"]]
        jobs = _scrape_jobs(state)
        assert {name: _targets(job) for name, job in jobs.items()} == {
            "availability": [replica],
            "prometheus": ["localhost:9090"],  # itself, as every server
        }
        config = yaml.safe_load(uploads(state)[PROMETHEUS_CONFIG])
        assert not (config.get("alerting") or {}).get("alertmanagers")
        shard_servers.append(shard["target"])
    assert sorted(shard_servers) == [f"{prefix}prometheus-shard-{i}:9090" for i in (1, 2)]

    # The stack's Prometheus is the global one: it federates both shard servers, scrapes
    # no replica itself, and is the endpoint the checks, sign-off and status page read.
    assert run.outputs["containers"]["prometheus"] == f"{prefix}prometheus"
    assert run.outputs["internal_endpoints"]["prometheus"] == f"http://{prefix}prometheus:9090"
    glob = _scrape_jobs(found[f"{prefix}prometheus"])
    assert glob[federation.JOB]["metrics_path"] == federation.FEDERATE_PATH
    assert sorted(_targets(glob[federation.JOB])) == sorted(shard_servers)
    scraped = [t for job in glob.values() for t in _targets(job)]
    assert not any("exporter-availability" in t for t in scraped)
    assert "availability" not in run.outputs["scrape_targets"]


def _shard_slice(listed: list[dict[str, Any]], shard: str) -> set[tuple[str, str]]:
    """The pairs replica `shard` probes, by the exporter's own split (exporters/availability)."""
    from exporters.availability.targets import parse_shard, select

    return {(t["unit_code"], t["service"]) for t in select(listed, shard=parse_shard(shard))}


def test_configure_gives_staging_a_global_and_two_shard_prometheus(program_outputs) -> None:
    """`configure --stack staging`: the stack's Prometheus as the global tier federating
    both shard servers, and each shard server a host of the `prometheus` group reached
    through the staging host's Docker over ssh, with its replica as its only target."""
    outputs = program_outputs("staging")
    listing = build_plain(inventory.load(), outputs)
    hostvars = listing["_meta"]["hostvars"]
    shards = ["prometheus-shard-1", "prometheus-shard-2"]
    assert set(shards) <= set(listing["prometheus"]["hosts"])
    common = listing["all"]["vars"]
    assert common["dvc_prometheus_tier"] == "global"
    federated = [
        common["dvc_scrape_args"][i + 1]
        for i, arg in enumerate(common["dvc_scrape_args"])
        if arg == "--federate"
    ]
    assert federated == [f"dvc-staging-prometheus-shard-{i}:9090" for i in (1, 2)]
    assert "--availability" not in common["dvc_scrape_args"]
    for i, host in enumerate(shards, start=1):
        shard = hostvars[host]
        assert shard["dvc_prometheus_tier"] == "shard"
        assert shard["dvc_scrape_args"] == [
            "--availability",
            f"dvc-staging-exporter-availability-{i}:9601",
        ]
        assert shard["ansible_host"] == f"dvc-staging-prometheus-shard-{i}"
        assert "ssh://" in shard["ansible_docker_extra_args"]
