"""The stack's configuration read once, typed, so components never touch `pulumi.Config`.

Plain settings come from `Pulumi.<stack>.yaml` (or the lab CLI); every credential comes
from a config secret (`config.require_secret`) so it stays a secret output end to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi

import inventory
from dvc_rollout.errors import UsageError
from dvc_rollout.stack_outputs import KINDS, Kind, Telco
from exporters.readiness import scope
from exporters.readiness.scope import ScopedSite
from infra.sample import SampleDistrict, choose

NAMESPACE = "dvc-rollout"
PORT_KEYS = (
    "nginx",
    "portal",
    "kannelAdmin",
    "kannelSendsms",
    "smscSim",
    "prometheus",
    "alertmanager",
    "webhook",
    "smtp",
    "ntp",
)
SECRET_KEYS = (
    "dbPassword",
    "kannelAdminPassword",
    "kannelStatusPassword",
    "sendsmsPassword",
    "portalAdminToken",
)


@dataclass(frozen=True)
class Secrets:
    """Every credential of the stack, each a secret Output."""

    db_password: pulumi.Output[str]
    kannel_admin_password: pulumi.Output[str]
    kannel_status_password: pulumi.Output[str]
    sendsms_password: pulumi.Output[str]
    portal_admin_token: pulumi.Output[str]
    smpp_passwords: pulumi.Output[Any] | None = None
    # The lab's mail server login (production mails through the city's own smarthost,
    # whose password Ansible gives Alertmanager: Pulumi never needs it).
    smtp_password: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class Tls:
    """The portal front's HTTPS: its certificate, its key (secret), the CA to verify with.

    `ca_cert` empty: the exporter verifies against the system's trust store (a public
    CA); the lab sets its own CA's certificate.
    """

    cert: str
    key: pulumi.Output[str]
    ca_cert: str = ""


@dataclass(frozen=True)
class StackSettings:
    """What the program needs to know about the stack it builds."""

    stack: str
    kind: Kind
    districts: list[SampleDistrict]
    telcos: list[Telco]
    terminals: bool
    lab_parts: bool
    ports: dict[str, int]
    secrets: Secrets
    docker_host: str | None = None
    # HOST:PORT of the registry the Docker host pulls the images from ("" = built there).
    registry: str = ""
    # Public ssh key of the desks' admin account (Ansible's ssh login), for stand-in desks.
    desk_admin_key: str = ""
    # The address plan: one /24 per district out of this network ("" = the engine picks).
    district_subnets: str = ""
    db_name: str = "dvc"
    db_user: str = "dvc"
    sendsms_user: str = "dvc-portal"
    sms_probe_url: str = ""
    # The dead-man's switch outside the data centre that hears Alertmanager's heartbeats.
    heartbeat_url: str = ""
    catalog: dict[str, Any] = field(default_factory=dict)
    availability_targets: list[dict[str, str]] = field(default_factory=list)
    readiness_scope: list[ScopedSite] = field(default_factory=list)
    tls: Tls | None = None
    # Availability exporter replicas, each scraped by its own shard Prometheus under a
    # global one (exporters/federation.py); 1 = one exporter, one Prometheus.
    monitoring_shards: int = 1

    @property
    def prefix(self) -> str:
        """Every physical name starts with it: `dvc-<stack>-`."""
        return f"dvc-{self.stack}-"


def _telcos(raw: Any) -> list[Telco]:
    if not isinstance(raw, list) or not raw:
        raise UsageError(
            f"{NAMESPACE}:telcos must be a non-empty list of {{id, name, protocol}} "
            "(see Pulumi.lab.yaml)"
        )
    found = []
    for item in raw:
        protocol = item.get("protocol", "http")
        if protocol not in ("http", "smpp"):
            raise UsageError(f"telco {item.get('id')!r}: protocol must be http or smpp")
        found.append(
            Telco(
                id=str(item["id"]),
                name=str(item.get("name", item["id"])),
                protocol=protocol,
                host=str(item.get("host", "")),
                port=int(item.get("port", 0)),
                system_id=str(item.get("systemId", "")),
            )
        )
    return found


def catalog(inv: inventory.Inventory) -> dict[str, Any]:
    """The portal stand-in's catalog: every place and service of the inventory."""
    return {
        "units": [
            {"code": p.code, "name": p.name, "level": p.level, "district_code": p.district_code}
            for p in inv.places.values()
        ],
        "services": [
            {"code": s.code, "level": s.level, "name_vi": s.name_vi} for s in inv.services.values()
        ],
    }


def availability_targets(
    inv: inventory.Inventory, districts: list[SampleDistrict], lab_parts: bool
) -> list[dict[str, str]]:
    """The (unit, service) pairs the availability exporter probes, as label sets.

    The lab probes the pairs of its simulated desks only; production probes every pair
    of its districts.
    """
    codes = [d.code for d in districts]
    sites = {s.code for d in districts for s in d.sites}
    return [
        dict(pair.labels)
        for pair in inv.pairs(districts=codes)
        if not lab_parts or pair.place.code in sites
    ]


MAX_SHARDS = 16


def _shards(raw: int | None) -> int:
    count = 1 if raw is None else raw
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(
            f"{NAMESPACE}:monitoringShards is {count}: give 1 (one Prometheus) to {MAX_SHARDS}"
        )
    return count


def _kind(raw: str | None) -> Kind:
    if raw not in KINDS:
        raise UsageError(
            f"{NAMESPACE}:kind is {raw!r}: declare the stack's kind in its Pulumi.<stack>.yaml, "
            f"one of {', '.join(KINDS)}"
        )
    return cast(Kind, raw)


def readiness_scope(
    inv: inventory.Inventory, districts: list[SampleDistrict], lab_parts: bool
) -> list[ScopedSite]:
    """The desks the readiness exporter must see checked: as `availability_targets`.

    The lab's simulated desks only; production every desk of its districts.
    """
    codes = {d.code for d in districts}
    sites = {s.code for d in districts for s in d.sites}
    return [
        s
        for s in scope.from_inventory(inv)
        if s.district_code in codes and (not lab_parts or s.site_code in sites)
    ]


def _tls(cfg: pulumi.Config) -> Tls | None:
    """HTTPS for the portal front when `tlsCert` is set (and then `tlsKey` must be)."""
    cert = cfg.get("tlsCert")
    if not cert:
        return None
    return Tls(cert=cert, key=cfg.require_secret("tlsKey"), ca_cert=cfg.get("tlsCaCert") or "")


def read(config: pulumi.Config | None = None) -> StackSettings:
    """Read the current stack's settings; unknown or malformed values say how to fix them."""
    cfg = config or pulumi.Config(NAMESPACE)
    inv = inventory.load()
    sample: Mapping[str, Any] = cfg.get_object("sample") or {}
    ports_raw: Mapping[str, Any] = cfg.get_object("ports") or {}
    unknown = sorted(set(ports_raw) - set(PORT_KEYS))
    if unknown:
        raise UsageError(f"{NAMESPACE}:ports has unknown key(s) {unknown}: use {list(PORT_KEYS)}")
    secrets = Secrets(
        db_password=cfg.require_secret("dbPassword"),
        kannel_admin_password=cfg.require_secret("kannelAdminPassword"),
        kannel_status_password=cfg.require_secret("kannelStatusPassword"),
        sendsms_password=cfg.require_secret("sendsmsPassword"),
        portal_admin_token=cfg.require_secret("portalAdminToken"),
        smpp_passwords=cfg.get_secret_object("smppPasswords"),
        smtp_password=cfg.get_secret("smtpPassword"),
    )
    districts = choose(
        inv,
        sample.get("districts", "all"),
        int(sample.get("unitsPerDistrict", 0)),
        sample.get("units"),
    )
    lab_parts = cfg.get_bool("labParts") or False
    return StackSettings(
        stack=pulumi.get_stack(),
        kind=_kind(cfg.get("kind")),
        districts=districts,
        telcos=_telcos(cfg.get_object("telcos")),
        terminals=cfg.get_bool("terminals") or False,
        lab_parts=lab_parts,
        ports={k: int(ports_raw.get(k, 0)) for k in PORT_KEYS},
        secrets=secrets,
        docker_host=cfg.get("dockerHost"),
        registry=cfg.get("registry") or "",
        desk_admin_key=cfg.get("deskAdminKey") or "",
        district_subnets=cfg.get("districtSubnets") or "",
        sms_probe_url=cfg.get("smsProbeUrl") or "",
        heartbeat_url=cfg.get("heartbeatUrl") or "",
        tls=_tls(cfg),
        catalog=catalog(inv),
        availability_targets=availability_targets(inv, districts, lab_parts),
        readiness_scope=readiness_scope(inv, districts, lab_parts),
        monitoring_shards=_shards(cfg.get_int("monitoringShards")),
    )
