"""The lab's drill-ready Prometheus and Alertmanager config, uploaded before they start.

Rendered by the same renderers Ansible's monitoring role runs for production
(`exporters.scrape_config`, `exporters.alertmanager`, the rule files), with the lab's
short timings: scrape and evaluate every 5 s, `for:` divided by 8 (2m -> 15 s, 3m ->
23 s), Alertmanager group_wait 5 s and group_interval 10 s, a heartbeat every 2 s to the
dead-man's switch, which speaks after 10 s of silence (5 missed heartbeats). Prometheus
re-sends its alerts every 2 s, so Alertmanager drops the watchdog 4 evaluation intervals
(4 x 5 s; the fault drills' 2 s: 8 s) after Prometheus stops. A fault drill then sees its
notification within about a minute. Production never gets these files: its config
comes from `dvc-rollout configure` with the repo's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

import inventory
from exporters import alertmanager, federation, rule_files, scrape_config
from inventory import model

PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
RULES_DIR = "/etc/prometheus/rules"
ALERTMANAGER_CONFIG = "/etc/alertmanager/alertmanager.yml"
ALERTMANAGER_TEMPLATES = "/etc/alertmanager/templates"
# Alertmanager reads the SMTP password from this file on its own host, never from its config.
SMTP_PASSWORD_FILE = "/etc/alertmanager/smtp_password"
SMTP_PORT = 2525
SMTP_USER = "alertmanager"
SMTP_FROM = "dvc-canhbao@lab.invalid"


@dataclass(frozen=True)
class LabTimings:
    """The lab's monitoring timings (production keeps the renderers' defaults)."""

    scrape_interval: str = "5s"
    for_divisor: float = 8
    # No `for:` shorter than this (s): two evaluations, so one failed scrape fires nothing.
    # (`configure` renders the rules with `exporters.rule_files`' own minimum, also 5.)
    for_minimum: int = 5
    group_wait: str = "5s"
    group_interval: str = "10s"
    repeat_interval: str = "1h"
    heartbeat_interval: str = "2s"
    deadman_after: float = 10
    alert_resend_delay: str = "2s"


TIMINGS = LabTimings()


def settle_seconds() -> float:
    """How long after `configure` a probe result taken during it can still be exported.

    `configure` may restart Kannel (a changed kannel.conf), failing the end-to-end SMS
    probe running at that moment: a real outage, but one a sign-off of the configured lab
    must not count. It lasts until the next probe (interval + timeout) is scraped, plus
    2 s for that scrape to be stored and queryable.
    """
    from infra import exporter_specs  # pulls in Pulumi: only when asked

    probes = exporter_specs.LAB
    scrape = float(TIMINGS.scrape_interval.removesuffix("s"))
    return probes.kannel_probe_interval + probes.kannel_probe_timeout + scrape + 2


def prometheus_files(
    targets: Mapping[str, Sequence[str]],
    alertmanager_target: str,
    timings: LabTimings = TIMINGS,
    *,
    tier: federation.Tier = "single",
    federate: Sequence[str] = (),
) -> dict[str, str]:
    """prometheus.yml scraping `targets` (job -> [HOST:PORT]) plus the lab's rule files.

    `tier` and `federate` place the server in a federated layout (exporters/federation.py):
    a shard evaluates the per-pair rules and alerts no one (`alertmanager_target` ""), the
    global server federates the shards at `federate`.
    """
    config = scrape_config.render(
        targets,
        scrape_interval=timings.scrape_interval,
        alertmanagers=[alertmanager_target] if alertmanager_target else [],
        rule_files=[f"{RULES_DIR}/*.yml"],
        federate=federate,
    )
    header = (
        "# Lab config rendered by infra/lab_monitoring.py (dvc-rollout configure replaces it)\n"
    )
    files = {PROMETHEUS_CONFIG: header + yaml.safe_dump(config, sort_keys=False)}
    scaled = rule_files.rule_files(timings.for_divisor, tier=tier, minimum=timings.for_minimum)
    for name, text in scaled.items():
        files[f"{RULES_DIR}/{name}"] = text
    return files


def lab_delivery(prefix: str, sms_relay_url: str) -> alertmanager.Delivery:
    """E-mail through the lab's own mail server (`<prefix>smtp`, AUTH over the private
    `mgmt` network, no TLS there) and SMS through the stack's relay."""
    return alertmanager.Delivery(
        smtp_smarthost=f"{prefix}smtp:{SMTP_PORT}",
        smtp_from=SMTP_FROM,
        smtp_auth_username=SMTP_USER,
        smtp_auth_password_file=SMTP_PASSWORD_FILE,
        smtp_require_tls=False,
        sms_relay_url=sms_relay_url,
        templates=ALERTMANAGER_TEMPLATES,
    )


def template_files() -> dict[str, str]:
    """The project's notification templates, as installed on the Alertmanager host."""
    return {
        f"{ALERTMANAGER_TEMPLATES}/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted(alertmanager.TEMPLATES_DIR.glob(alertmanager.TEMPLATE_FILES))
    }


def heartbeat_url(prefix: str) -> str:
    """Where the lab's Alertmanager sends the watchdog: the dead-man's switch container."""
    return f"http://{prefix}deadman:9095/heartbeat/dvc"


def alertmanager_files(
    webhook_url: str,
    heartbeat: str = "",
    timings: LabTimings = TIMINGS,
    *,
    oncall: model.OncallFile | None = None,
    delivery: alertmanager.Delivery | None = None,
) -> dict[str, str]:
    """alertmanager.yml routed by district like production, every webhook the recorder,
    the watchdog's heartbeats to the dead-man's switch.

    `oncall`: the lab's synthetic contacts (`infra.lab.oncall`), else the inventory's;
    `delivery`: e-mail and SMS (`lab_delivery`), else webhooks only.
    """
    inv = inventory.load()
    found = oncall or inv.oncall_file
    config = alertmanager.render(
        found.contacts,
        webhook_url,
        found.maintenance_windows,
        timings={
            "group_wait": timings.group_wait,
            "group_interval": timings.group_interval,
            "repeat_interval": timings.repeat_interval,
        },
        districts=inv.districts,
        city=found.city,
        delivery=delivery,
        heartbeat=alertmanager.Heartbeat(heartbeat, timings.heartbeat_interval),
    )
    files = {ALERTMANAGER_CONFIG: alertmanager.to_yaml(config)}
    if delivery is not None and delivery.templates:
        files.update(template_files())
    return files
