"""Monitoring past one Prometheus: shard servers under a global one that federates them.

One server scrapes every exporter and evaluates every rule (`single`: the lab, small
estates). Past that, the availability exporter runs as replicas (`--shard i/n`) and:

- each **shard** server scrapes its replicas and evaluates the per-pair recording rules
  (those recording `dvc:service_…`: a (unit, service) pair's ratios need its raw probe
  samples, which stay on the shard with the probe details); it sends no alert;
- the **global** server scrapes the other exporters, federates from every shard the
  availability job's status series (`dvc_service_up`, `up`, the exporter's own
  `dvc_exporter_*`) and the per-pair recording rules, evaluates every other rule
  (district, city and component ratios) and every alert. Alertmanager, the sign-off
  and the status page read it, as they would read a single server.

The federation job keeps the name `availability` and the series' own labels
(`honor_labels`), so rules, alerts and the sign-off select the same series on either
layout, and a shard server that stops answering is `up{job="availability"} == 0` on the
global server. It stamps what it federates with its own scrape times
(`honor_timestamps: false`): the sign-off counts samples against the job's scrape
interval, and the federation endpoint hands over only a series' newest sample, so one
taken on the shard just as the global server scrapes would otherwise be lost. A series
the shard marks stale (its replica stopped answering) is not federated at all, so a gap
on a shard is a gap on the global server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, cast, get_args

import yaml

from dvc_rollout.errors import UsageError

Tier = Literal["single", "shard", "global"]
TIERS: tuple[str, ...] = get_args(Tier)
JOB = "availability"
FEDERATE_PATH = "/federate"
#: Recorded per (unit, service) pair from the raw probe samples: evaluated on the shards.
PAIR_RECORD = re.compile(r"^dvc:service_")
#: The raw series of the availability job the global server's rules read: each pair's
#: status, whether a replica answers and sweeps, the portal's certificate expiry.
FEDERATED_RAW = re.compile(r"^(up|dvc_service_up|dvc_exporter_.+|dvc_tls_.+)$")
#: What the global server takes from each shard.
FEDERATED = (
    f'{{job="{JOB}",__name__=~"{FEDERATED_RAW.pattern[2:-2]}"}}',
    '{__name__=~"dvc:service_.+"}',
)
_RECORDED_NAME = re.compile(r"\bdvc:[a-z0-9_:]+")


class FederationError(UsageError):
    """A tier or a rule file the split cannot use."""


def check_tier(tier: str) -> Tier:
    if tier not in TIERS:
        raise FederationError(f"--tier {tier!r}: expected one of {', '.join(TIERS)}")
    return cast(Tier, tier)


def runs_on(rule: dict[str, Any], tier: Tier) -> bool:
    """Whether one rule is evaluated by a server of `tier`."""
    if tier == "single":
        return True
    per_pair = bool(PAIR_RECORD.match(str(rule.get("record", ""))))
    return per_pair if tier == "shard" else not per_pair


def split(text: str, tier: Tier, name: str = "rules") -> str | None:
    """A rule file as a server of `tier` installs it; None when none of its rules run there.

    `single` is the file as shipped, comments and all; the other tiers are the same
    groups (name, interval) holding only their rules, written again as YAML.
    """
    if tier == "single":
        return text
    try:
        doc = yaml.safe_load(text)
        groups = doc["groups"]
    except (yaml.YAMLError, TypeError, KeyError) as exc:
        raise FederationError(f"{name} is not a Prometheus rule file: {exc}") from None
    kept = []
    for group in groups:
        rules = [r for r in group.get("rules") or [] if runs_on(r, tier)]
        if rules:
            kept.append({**group, "rules": rules})
    if not kept:
        return None
    header = f"# {name} as a {tier} Prometheus evaluates it (exporters/federation.py): " + (
        "the per-pair recording rules.\n" if tier == "shard" else "all but the per-pair ones.\n"
    )
    return header + yaml.safe_dump(
        {"groups": kept}, sort_keys=False, allow_unicode=True, width=4096
    )


def names_used(text: str) -> tuple[set[str], set[str]]:
    """(recorded, read): the `dvc:` series a rule file records, and those its rules read."""
    doc = yaml.safe_load(text) or {}
    recorded, read = set(), set()
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            if rule.get("record"):
                recorded.add(str(rule["record"]))
            read.update(_RECORDED_NAME.findall(str(rule.get("expr", ""))))
    return recorded, read


def job(shards: Sequence[str]) -> dict[str, Any]:
    """The global server's scrape job federating the shard servers (HOST:PORT each)."""
    if not shards:
        raise FederationError("a global Prometheus needs at least one shard to federate")
    return {
        "job_name": JOB,
        "metrics_path": FEDERATE_PATH,
        "honor_labels": True,
        "honor_timestamps": False,
        "params": {"match[]": list(FEDERATED)},
        "static_configs": [{"targets": list(shards)}],
    }
