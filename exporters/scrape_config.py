"""Renders prometheus.yml for the DVC exporters, so the lab and production scrape alike.

    python -m exporters.scrape_config --availability exporter-a:9601 \\
        --availability exporter-b:9601 --kannel kannel-exporter:9602 \\
        --citizen-db citizen-db-exporter:9604 --alertmanager alertmanager:9093 \\
        --rule-files '/etc/prometheus/rules/*.yml' > prometheus.yml

Job names are fixed (`availability`, `kannel`, `citizen_db`, `readiness`, and
`alertmanager` for each `--alertmanager`, whose notification failures alert) because
exporters/rules/alerts.yml and the dashboards select on them. Several `--availability`
targets are the shards of one sharded exporter (`--shard i/n`): one job, many instances.
A global server of a federated layout gives `--federate HOST:PORT` for each shard server
instead: its `availability` job federates them (exporters/federation.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from dvc_rollout.errors import DvcRolloutError, UsageError
from exporters import federation

JOBS = ("availability", "kannel", "citizen_db", "readiness", "sms_relay")
_TARGET = re.compile(r"^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")


class ScrapeConfigError(UsageError):
    """A target or duration that Prometheus would refuse."""


def check_target(target: str, job: str) -> str:
    if not _TARGET.match(target):
        raise ScrapeConfigError(f"--{job.replace('_', '-')} {target!r} is not HOST:PORT")
    return target


def check_duration(value: str, flag: str) -> str:
    if not _DURATION.match(value):
        raise ScrapeConfigError(f"{flag} {value!r} is not a Prometheus duration, e.g. 15s")
    return value


def render(
    targets: Mapping[str, Sequence[str]],
    scrape_interval: str = "15s",
    alertmanagers: Sequence[str] = (),
    rule_files: Sequence[str] = (),
    federate: Sequence[str] = (),
) -> dict[str, Any]:
    """The whole prometheus.yml as a dict: only jobs that were given targets appear.

    `federate`: the shard servers this (global) server takes the availability job from.
    """
    check_duration(scrape_interval, "--scrape-interval")
    unknown = sorted(set(targets) - set(JOBS))
    if unknown:
        raise ScrapeConfigError(f"unknown jobs {unknown}: expected some of {list(JOBS)}")
    jobs: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]}
    ]
    shards = [check_target(t, "federate") for t in federate]
    if shards and targets.get(federation.JOB):
        raise ScrapeConfigError(
            f"the {federation.JOB} job is scraped (--{federation.JOB}) or federated from shard "
            "servers (--federate), not both"
        )
    for job in JOBS:
        if job == federation.JOB and shards:
            jobs.append(federation.job(shards))
            continue
        hosts = [check_target(t, job) for t in targets.get(job, ())]
        if not hosts:
            continue
        jobs.append({"job_name": job, "static_configs": [{"targets": hosts}]})
    config: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": list(rule_files),
        "scrape_configs": jobs,
    }
    if alertmanagers:
        checked = [check_target(a, "alertmanager") for a in alertmanagers]
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": checked}]}]}
        # Scraped too: alertmanager_notifications_failed_total says when pages go nowhere.
        jobs.append({"job_name": "alertmanager", "static_configs": [{"targets": checked}]})
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exporters.scrape_config",
        description="Print prometheus.yml scraping the DVC exporters (HOST:PORT targets).",
    )
    for job in JOBS:
        parser.add_argument(
            f"--{job.replace('_', '-')}",
            dest=job,
            action="append",
            default=[],
            metavar="HOST:PORT",
            help=f"a {job} exporter target (repeat for shards/replicas)",
        )
    parser.add_argument(
        "--federate",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="a shard Prometheus whose availability job this global server federates",
    )
    parser.add_argument("--alertmanager", action="append", default=[], metavar="HOST:PORT")
    parser.add_argument("--rule-files", action="append", default=[], metavar="GLOB")
    parser.add_argument("--scrape-interval", default="15s")
    args = parser.parse_args(argv)
    try:
        config = render(
            {job: getattr(args, job) for job in JOBS},
            scrape_interval=args.scrape_interval,
            alertmanagers=args.alertmanager,
            rule_files=args.rule_files,
            federate=args.federate,
        )
    except DvcRolloutError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    header = "# GENERATED by `python -m exporters.scrape_config`\n"
    sys.stdout.write(header + yaml.safe_dump(config, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
