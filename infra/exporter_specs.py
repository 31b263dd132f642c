"""The project's exporters as a stack runs them: command, networks, secrets, uploads.

One exporter container each, on `mgmt` (where Prometheus scrapes it) plus the network of
what it probes: availability on `dmz` (the portal as citizens reach it, through nginx),
Kannel on `app`, the citizen database on `data`. Credentials go in as secret env values,
never on the command line. The lab probes fast so drills take minutes; production keeps
the exporters' own defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from exporters.availability.targets import render_targets_file
from exporters.readiness import scope
from infra.components.monitoring import ExporterSpec
from infra.stackconfig import StackSettings

AVAILABILITY_PORT = 9601
KANNEL_PORT = 9602
KANNEL_CALLBACK_PORT = 9603
CITIZEN_DB_PORT = 9604
READINESS_PORT = 9605
SMS_RELAY_PORT = 9606
AVAILABILITY_CONFIG = "/etc/dvc-availability.yml"
AVAILABILITY_TARGETS = "/etc/dvc-availability-targets.json"
AVAILABILITY_CA = "/etc/dvc-availability-ca.pem"
RESULTS_DIR = "/var/lib/dvc-results"
READINESS_SCOPE = "/etc/dvc-readiness-scope.json"


@dataclass(frozen=True)
class Timings:
    """Seconds between probes and per-probe timeouts of each exporter."""

    availability_interval: float
    availability_timeout: float
    kannel_probe_interval: float
    kannel_probe_timeout: float
    citizen_db_interval: float
    citizen_db_timeout: float


# The lab shares a small machine with builds and tests: generous timeouts, fast sweeps.
LAB = Timings(5, 4, 10, 8, 5, 4)
PRODUCTION = Timings(15, 5, 60, 30, 15, 5)


@dataclass(frozen=True)
class Wiring:
    """Where the exporters find what they probe (container names and networks)."""

    networks: Mapping[str, pulumi.Input[str]]
    portal_host: str
    kannel_admin_url: str
    sendsms_url: str
    db_host: str


def sms_probe_url(prefix: str) -> str:
    """Kannel's sms-service get-url for the loopback probe: the Kannel exporter's callback."""
    return f"http://{prefix}exporter-kannel:{KANNEL_CALLBACK_PORT}/mo?text=%a"


def _num(value: float) -> str:
    return f"{value:g}"


def availability_config(settings: StackSettings, wiring: Wiring) -> dict[str, Any]:
    """The exporter's config: the portal front's host, over HTTPS when the stack has TLS.

    With a CA of the stack's own (the lab's), the exporter verifies against it alone;
    otherwise against the system's trust store, as a browser would.
    """
    config: dict[str, Any] = {"host": wiring.portal_host}
    if settings.tls is not None:
        config["default"] = {"url": "https://{host}/dvc/{unit_code}/{service_code}/health"}
        if settings.tls.ca_cert:
            config["probe"] = {"tls_ca_file": AVAILABILITY_CA}
    return config


def availability(settings: StackSettings, wiring: Wiring, timings: Timings) -> list[ExporterSpec]:
    """The availability exporter: one, or one replica per shard (`--shard i/n`, named
    `availability-<i>`, each scraped by its shard Prometheus), each probing its slice."""
    uploads = {
        AVAILABILITY_CONFIG: yaml.safe_dump(availability_config(settings, wiring), sort_keys=False),
        AVAILABILITY_TARGETS: render_targets_file(settings.availability_targets),
    }
    if settings.tls is not None and settings.tls.ca_cert:
        uploads[AVAILABILITY_CA] = settings.tls.ca_cert
    command = [
        "python3",
        "-m",
        "exporters.availability",
        "--listen",
        f"0.0.0.0:{AVAILABILITY_PORT}",
        "--config",
        AVAILABILITY_CONFIG,
        "--targets",
        AVAILABILITY_TARGETS,
        "--interval",
        _num(timings.availability_interval),
        "--timeout",
        _num(timings.availability_timeout),
    ]
    count = settings.monitoring_shards
    if count == 1:
        return [
            ExporterSpec(
                name="availability",
                command=command,
                port=AVAILABILITY_PORT,
                networks=[wiring.networks["dmz"]],
                uploads=uploads,
            )
        ]
    return [
        ExporterSpec(
            name=f"availability-{i}",
            job="availability",
            command=[*command, "--shard", f"{i}/{count}"],
            port=AVAILABILITY_PORT,
            networks=[wiring.networks["dmz"]],
            uploads=uploads,
            shard=i,
        )
        for i in range(1, count + 1)
    ]


def kannel(settings: StackSettings, wiring: Wiring, timings: Timings) -> ExporterSpec:
    secrets = settings.secrets
    return ExporterSpec(
        name="kannel",
        command=[
            "python3",
            "-m",
            "exporters.kannel",
            "--listen",
            f"0.0.0.0:{KANNEL_PORT}",
            "--kannel-url",
            wiring.kannel_admin_url,
            "--sendsms-url",
            wiring.sendsms_url,
            "--callback-listen",
            f"0.0.0.0:{KANNEL_CALLBACK_PORT}",
            "--probe-interval",
            _num(timings.kannel_probe_interval),
            "--probe-timeout",
            _num(timings.kannel_probe_timeout),
        ],
        port=KANNEL_PORT,
        networks=[wiring.networks["app"]],
        envs=[
            pulumi.Output.concat("KANNEL_STATUS_PASSWORD=", secrets.kannel_status_password),
            f"SENDSMS_USER={settings.sendsms_user}",
            pulumi.Output.concat("SENDSMS_PASSWORD=", secrets.sendsms_password),
        ],
    )


def citizen_db(settings: StackSettings, wiring: Wiring, timings: Timings) -> ExporterSpec:
    dsn = f"host={wiring.db_host} port=5432 dbname={settings.db_name} user={settings.db_user}"
    return ExporterSpec(
        name="citizen-db",
        job="citizen_db",
        command=[
            "python3",
            "-m",
            "exporters.citizen_db",
            "--listen",
            f"0.0.0.0:{CITIZEN_DB_PORT}",
            "--dsn",
            dsn,
            "--interval",
            _num(timings.citizen_db_interval),
            "--timeout",
            _num(timings.citizen_db_timeout),
        ],
        port=CITIZEN_DB_PORT,
        networks=[wiring.networks["data"]],
        envs=[pulumi.Output.concat("CITIZEN_DB_PASSWORD=", settings.secrets.db_password)],
    )


def readiness(settings: StackSettings) -> ExporterSpec:
    """Go-live readiness from the check results store kept on the exporter's own volume.

    The scope file lists the desks it must see checked (a never-checked desk alerts).
    """
    return ExporterSpec(
        name="readiness",
        command=[
            "python3",
            "-m",
            "exporters.readiness",
            "--db",
            f"{RESULTS_DIR}/results.sqlite",
            "--scope",
            READINESS_SCOPE,
            "--listen",
            f"0.0.0.0:{READINESS_PORT}",
        ],
        port=READINESS_PORT,
        data_dir=RESULTS_DIR,
        uploads={READINESS_SCOPE: scope.render(settings.readiness_scope)},
    )


def sms_relay(settings: StackSettings, wiring: Wiring) -> ExporterSpec:
    """Alertmanager's webhook to the on-call phones, through the city's Kannel (`app`).

    The lab lets more texts through per number (drills fire and resolve often) and
    forgets duplicates sooner; production keeps the relay's own limits.
    """
    command = [
        "python3",
        "-m",
        "exporters.sms_relay",
        "--listen",
        f"0.0.0.0:{SMS_RELAY_PORT}",
        "--sendsms-url",
        wiring.sendsms_url,
    ]
    if settings.lab_parts:
        command += ["--per-window", "30", "--window", "10m", "--dedup", "10m"]
    return ExporterSpec(
        name="sms-relay",
        job="sms_relay",
        command=command,
        port=SMS_RELAY_PORT,
        networks=[wiring.networks["app"]],
        envs=[
            f"SENDSMS_USER={settings.sendsms_user}",
            pulumi.Output.concat("SENDSMS_PASSWORD=", settings.secrets.sendsms_password),
        ],
    )


def sms_relay_url(prefix: str) -> str:
    """The relay's webhook as Alertmanager reaches it on `mgmt`."""
    return f"http://{prefix}exporter-sms-relay:{SMS_RELAY_PORT}/sms"


def specs(settings: StackSettings, wiring: Wiring) -> list[ExporterSpec]:
    """Every exporter of the stack, with the lab's or production's probe timings."""
    timings = LAB if settings.lab_parts else PRODUCTION
    return [
        *availability(settings, wiring, timings),
        kannel(settings, wiring, timings),
        citizen_db(settings, wiring, timings),
        readiness(settings),
        sms_relay(settings, wiring),
    ]


def scrape_targets(found: Sequence[ExporterSpec], prefix: str) -> dict[str, Any]:
    """Prometheus job -> [HOST:PORT] the stack's (global) Prometheus scrapes itself, the
    stack output `exporters.scrape_config` reads; the replicas of a sharded exporter are
    their shard servers' (`shard_targets`)."""
    jobs: dict[str, list[str]] = {}
    for spec in found:
        if not spec.shard:
            jobs.setdefault(spec.job_name, []).append(spec.target(prefix))
    return jobs


def shard_targets(found: Sequence[ExporterSpec], prefix: str) -> dict[int, dict[str, list[str]]]:
    """Shard -> job -> [HOST:PORT]: what each shard Prometheus scrapes."""
    shards: dict[int, dict[str, list[str]]] = {}
    for spec in found:
        if spec.shard:
            shards.setdefault(spec.shard, {}).setdefault(spec.job_name, []).append(
                spec.target(prefix)
            )
    return dict(sorted(shards.items()))
