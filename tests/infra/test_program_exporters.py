"""The exporters in the stack's graph, and the lab's drill-ready monitoring config (no Docker)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

import inventory
from exporters.availability.targets import parse_shard, select
from infra.lab import stackfile
from infra.lab.inprocess import ProgramRun, run_program
from infra.lab.recording import RecordingMocks
from infra.lab.specs import unwrap
from infra.stackconfig import SECRET_KEYS

CONTAINER = "docker:index/container:Container"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
EXPORTERS = ("availability", "kannel", "citizen-db", "readiness")


def run_stack(stack_file: str, stack: str, **overrides: Any) -> ProgramRun:
    config: dict[str, Any] = stackfile.load(stack_file)
    config.update({f"dvc-rollout:{k}": v for k, v in overrides.items()})
    config.update({f"dvc-rollout:{k}": f"not-a-real-{k}" for k in SECRET_KEYS})
    config["dvc-rollout:smppPasswords"] = {"telco-1": "not-a-real-smpp"}
    config["dvc-rollout:smtpPassword"] = "not-a-real-smtpPassword"
    secret = [f"dvc-rollout:{k}" for k in (*SECRET_KEYS, "smppPasswords", "smtpPassword")]
    return run_program(RecordingMocks(), stack=stack, config=config, secret_keys=secret)


@pytest.fixture(scope="module")
def lab() -> ProgramRun:
    return run_stack("lab", "unit")


@pytest.fixture(scope="module")
def production() -> ProgramRun:
    return run_stack("production", "production")


def containers(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.state["name"]: r.state for r in run.of_type(CONTAINER)}


def exporter(run: ProgramRun, name: str) -> dict[str, Any]:
    return containers(run)[run.outputs["containers"]["exporters"][name]]


def uploads(state: dict[str, Any]) -> dict[str, str]:
    return {u["file"]: u["content"] for u in unwrap(state.get("uploads") or [])}


def networks(state: dict[str, Any]) -> list[str]:
    return [n["name"] for n in unwrap(state["networksAdvanced"])]


@pytest.mark.parametrize("name", EXPORTERS)
def test_each_exporter_runs_healthchecked_restarted_labelled_and_unpublished(
    lab: ProgramRun, name: str
) -> None:
    state = exporter(lab, name)
    check = unwrap(state["healthcheck"])
    assert "/-/healthy" in check["tests"][-1]
    assert state["restart"] == "unless-stopped"
    labels = {x["label"]: x["value"] for x in unwrap(state["labels"])}
    assert labels["dvc-rollout.stack"] == "unit"
    assert labels["dvc-rollout.managed"] == "true"
    assert labels["dvc-rollout.role"] == f"exporter-{name}"
    assert all(p["ip"] == "127.0.0.1" for p in unwrap(state.get("ports") or []))
    assert "dvc-unit-mgmt" in networks(state)


@pytest.mark.parametrize(
    ("name", "network"),
    [("availability", "dmz"), ("kannel", "app"), ("citizen-db", "data"), ("readiness", None)],
)
def test_each_exporter_joins_only_what_it_probes(
    lab: ProgramRun, name: str, network: str | None
) -> None:
    wanted = ["dvc-unit-mgmt"] + ([f"dvc-unit-{network}"] if network else [])
    assert networks(exporter(lab, name)) == wanted


@pytest.mark.parametrize("name", ["kannel", "citizen-db"])
def test_exporters_get_credentials_as_secrets_never_on_the_command_line(
    lab: ProgramRun, name: str
) -> None:
    state = exporter(lab, name)
    assert isinstance(state["envs"], dict) and SECRET_SIG in state["envs"]
    command = " ".join(unwrap(state["command"]))
    assert "not-a-real" not in command


def test_availability_probes_the_sampled_desks_through_nginx(lab: ProgramRun) -> None:
    files = uploads(exporter(lab, "availability"))
    assert yaml.safe_load(files["/etc/dvc-availability.yml"]) == {"host": "dvc-unit-nginx"}
    targets = json.loads(files["/etc/dvc-availability-targets.json"])["targets"]
    sites = {s for d in lab.outputs["sample"]["districts"] for s in d["sites"]}
    assert {t["unit_code"] for t in targets} == sites
    inv = inventory.load()
    assert len(targets) == sum(1 for p in inv.pairs() if p.place.code in sites)


def _shard_pairs(run: ProgramRun) -> dict[str, list[tuple[str, str]]]:
    """Replica -> the pairs it probes: its targets file through the exporter's own split."""
    found = {}
    for name in run.outputs["containers"]["exporters"]:
        if not name.startswith("availability"):
            continue
        state = exporter(run, name)
        command = unwrap(state["command"])
        shard = parse_shard(command[command.index("--shard") + 1])
        targets = json.loads(uploads(state)["/etc/dvc-availability-targets.json"])["targets"]
        found[name] = [(t["unit_code"], t["service"]) for t in select(targets, shard=shard)]
    return found


# Pulumi.staging.yaml sets two shards in its file: tests/infra/test_staging_shards.py
# makes every assertion below on it, run as its file says (no override). CI's staging-ci
# keeps one Prometheus (README.md, "Staging"); split as if it had two.
@pytest.mark.parametrize("stack", ["production", "staging-ci"])
def test_the_availability_shards_probe_every_pair_exactly_once(stack: str) -> None:
    """Production's two shards; CI's staging sample split the same way."""
    run = run_stack(stack, stack, monitoringShards=2)
    shards = _shard_pairs(run)
    assert sorted(shards) == ["availability-1", "availability-2"]
    assert all(shards.values()), shards  # each replica has its slice
    probed = [pair for pairs in shards.values() for pair in pairs]
    assert len(probed) == len(set(probed))  # no pair twice
    sample = run.outputs["sample"]["districts"]
    sites = {s for d in sample for s in d["sites"]}
    wanted = {
        (p.place.code, p.service.code)
        for p in inventory.load().pairs(districts=[d["code"] for d in sample])
        if stack == "production" or p.place.code in sites  # stand-ins: the desks' units
    }
    assert set(probed) == wanted  # ...and none left out
    if stack == "production":
        assert len(probed) == 2676
    # each replica's shard Prometheus scrapes it and nothing else; the stack's federates them
    for shard in run.outputs["prometheus_shards"]:
        index = shard["shard"].split("/")[0]
        assert shard["scrape_targets"] == {
            "availability": [f"dvc-{stack}-exporter-availability-{index}:9601"]
        }
    assert "availability" not in run.outputs["scrape_targets"]


def test_kannel_loops_the_sms_probe_back_to_the_kannel_exporter(lab: ProgramRun) -> None:
    url = "http://dvc-unit-exporter-kannel:9603/mo?text=%a"
    assert lab.outputs["sms_probe_url"] == url
    kannel = containers(lab)["dvc-unit-kannel"]
    assert f"SMS_PROBE_URL={url}" in unwrap(kannel["envs"])


def test_readiness_reads_the_results_store_on_its_own_volume(lab: ProgramRun) -> None:
    (volume,) = unwrap(exporter(lab, "readiness")["volumes"])
    assert volume == {
        "volumeName": "dvc-unit-exporter-readiness-data",
        "containerPath": "/var/lib/dvc-results",
    }


def test_scrape_targets_output_names_every_exporter_job(lab: ProgramRun) -> None:
    assert lab.outputs["scrape_targets"] == {
        "availability": ["dvc-unit-exporter-availability:9601"],
        "kannel": ["dvc-unit-exporter-kannel:9602"],
        "citizen_db": ["dvc-unit-exporter-citizen-db:9604"],
        "readiness": ["dvc-unit-exporter-readiness:9605"],
        "sms_relay": ["dvc-unit-exporter-sms-relay:9606"],
    }


def test_lab_prometheus_scrapes_the_exporters_fast_with_lab_rules(lab: ProgramRun) -> None:
    files = uploads(containers(lab)["dvc-unit-prometheus"])
    config = yaml.safe_load(files["/etc/prometheus/prometheus.yml"])
    assert config["global"]["scrape_interval"] == "5s"
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs["kannel"] == ["dvc-unit-exporter-kannel:9602"]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["dvc-unit-alertmanager:9093"]
    alerts = yaml.safe_load(files["/etc/prometheus/rules/alerts.yml"])
    fors = {r["alert"]: r["for"] for g in alerts["groups"] for r in g["rules"] if "for" in r}
    assert fors["DvcServiceDown"] == "23s" and fors["DvcDistrictOutage"] == "15s"


def test_lab_alertmanager_notifies_the_recorder_quickly(lab: ProgramRun) -> None:
    files = uploads(containers(lab)["dvc-unit-alertmanager"])
    config = yaml.safe_load(files["/etc/alertmanager/alertmanager.yml"])
    assert config["route"]["group_wait"] == "5s"
    assert config["route"]["group_interval"] == "10s"
    urls = {c["url"] for r in config["receivers"] for c in r["webhook_configs"]}
    sms = {u for u in urls if u.startswith("http://dvc-unit-exporter-sms-relay:9606/sms?")}
    assert urls - sms == {
        "http://dvc-unit-webhook:9095/alerts/default",
        "http://dvc-unit-deadman:9095/heartbeat/dvc",
    }
    assert config["route"]["routes"][0]["receiver"] == "heartbeat"
    assert config["route"]["routes"][0]["repeat_interval"] == "2s"


def test_lab_has_a_deadmans_switch_and_prometheus_resends_alerts_often(lab: ProgramRun) -> None:
    found = containers(lab)
    assert "DEADMAN_AFTER_SECONDS=10" in unwrap(found["dvc-unit-deadman"]["envs"])
    assert "ALERT_RESEND_DELAY=2s" in unwrap(found["dvc-unit-prometheus"]["envs"])
    assert lab.outputs["heartbeat_url"] == "http://dvc-unit-deadman:9095/heartbeat/dvc"


def test_production_servers_get_no_lab_config(production: ProgramRun) -> None:
    found = containers(production)
    assert uploads(found["dvc-production-prometheus"]) == {}
    assert uploads(found["dvc-production-alertmanager"]) == {}


def test_lab_kannel_binds_the_smpp_telco_to_its_simulator(lab: ProgramRun) -> None:
    envs = unwrap(containers(lab)["dvc-unit-kannel"]["envs"])
    assert "SMSC_SMPP=sim-a=dvc-unit-smsc-sim-a:2775:dvc-lab" in envs
    # Simulators on the same host: a silent peer is dropped in seconds (the fault drills).
    assert {"SMPP_ENQUIRE_LINK_INTERVAL=2", "SMPP_CONNECTION_TIMEOUT=8"} <= set(envs)
    assert "SMSC_HTTP=sim-b=http://dvc-unit-smsc-sim-b:13080" in envs
    assert set(lab.outputs["containers"]["smsc_sim"]) == {"sim-a", "sim-b"}


def test_monitoring_timings_output_is_the_labs_only_in_the_lab(
    lab: ProgramRun, production: ProgramRun
) -> None:
    assert lab.outputs["monitoring_timings"] == {
        "scrape_interval": "5s",
        "for_divisor": 8,
        "for_minimum": 5,
        "group_wait": "5s",
        "group_interval": "10s",
        "repeat_interval": "1h",
        "heartbeat_interval": "2s",
        "deadman_after": 10,
        "alert_resend_delay": "2s",
    }
    assert production.outputs["monitoring_timings"] == {}


def test_the_sms_relay_sends_through_kannel_with_the_secret_from_env(lab: ProgramRun) -> None:
    relay = exporter(lab, "sms-relay")
    command = unwrap(relay["command"])
    assert command[:3] == ["python3", "-m", "exporters.sms_relay"]
    assert command[command.index("--sendsms-url") + 1].endswith(":13013/cgi-bin/sendsms")
    assert not any("not-a-real" in str(part) for part in command)  # no secret on argv


def test_the_lab_alertmanager_mails_and_texts_its_synthetic_contacts(lab: ProgramRun) -> None:
    am = containers(lab)["dvc-unit-alertmanager"]
    files = uploads(am)
    config = yaml.safe_load(files["/etc/alertmanager/alertmanager.yml"])
    receivers = {r["name"]: r for r in config["receivers"]}
    sampled = [d["code"] for d in lab.outputs["sample"]["districts"]]
    for code in sampled:
        mail = receivers[f"oncall-{code}"]["email_configs"][0]
        assert mail["to"] == f"oncall-{code}@lab.invalid"
        urls = [w["url"] for w in receivers[f"oncall-{code}"]["webhook_configs"]]
        assert (
            f"http://dvc-unit-exporter-sms-relay:9606/sms?to=84000000{code}&district={code}" in urls
        )
    assert config["global"]["smtp_smarthost"] == "dvc-unit-smtp:2525"
    assert "not-a-real" not in files["/etc/alertmanager/alertmanager.yml"]
    assert "/etc/alertmanager/templates/dvc.tmpl" in files
    assert "/etc/alertmanager/smtp_password" in files
    smtp = containers(lab)["dvc-unit-smtp"]
    assert "SMTP_USER=alertmanager" in unwrap(smtp["envs"])
    assert lab.outputs["endpoints"]["smtp"]


def test_production_runs_no_mail_server_and_texts_through_its_relay(
    production: ProgramRun,
) -> None:
    assert "dvc-production-smtp" not in containers(production)
    assert production.outputs["alerting"] == {
        "sms_relay_url": "http://dvc-production-exporter-sms-relay:9606/sms"
    }


@pytest.mark.parametrize("count", [0, -1, 17])
def test_a_shard_count_out_of_range_is_refused_naming_the_setting(count: int) -> None:
    from dvc_rollout.errors import UsageError
    from infra import stackconfig

    with pytest.raises(UsageError, match=rf"monitoringShards is {count}: give 1"):
        stackconfig._shards(count)
