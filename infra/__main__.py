"""The dvc-rollout data center as a Pulumi program: read config, wire components, export.

Run by the Pulumi CLI (`main: infra/` in Pulumi.yaml) or in-process by `dvc-rollout lab`
under the Docker-backed mocks; both see the same resource graph.
"""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_docker as docker

import inventory
from infra import address_plan, exporter_specs, lab_monitoring, stackconfig
from infra.components import (
    CitizenDatabase,
    CitizenDatabaseArgs,
    DataCenter,
    DataCenterArgs,
    DistrictNetwork,
    DistrictNetworkArgs,
    Monitoring,
    MonitoringArgs,
    Portal,
    PortalArgs,
    SmsSwitchboard,
    SmsSwitchboardArgs,
)
from infra.components.common import host_url
from infra.components.district_network import TerminalSite
from infra.components.monitoring import PROMETHEUS_PORT
from infra.lab import oncall as lab_oncall

settings = stackconfig.read()
stack, prefix, secrets, ports = settings.stack, settings.prefix, settings.secrets, settings.ports

sms_probe_url = settings.sms_probe_url or exporter_specs.sms_probe_url(prefix)

opts = None
if settings.docker_host:
    host = docker.Provider("datacenter-host", host=settings.docker_host)
    opts = pulumi.ResourceOptions(providers={"docker": host})

registry = settings.registry
inv = inventory.load()

districts: dict[str, DistrictNetwork] = {}
desk_addresses: dict[str, str] = {}
for d in settings.districts:
    plan = address_plan.district(settings.district_subnets, d.code, inv)
    desks = [
        TerminalSite(s.code, s.terminal_hosts[:1], address_plan.desks(plan, s, inv))
        for s in d.sites
        if settings.terminals
    ]
    desk_addresses.update({h: a for site in desks for h, a in site.addresses.items()})
    districts[d.code] = DistrictNetwork(
        f"district-{d.code}",
        DistrictNetworkArgs(
            stack=stack,
            prefix=prefix,
            district_code=d.code,
            sites=desks,
            ntp_server=f"{prefix}ntp",
            portal_url=f"http://{prefix}nginx",
            plan=plan,
            admin_key=settings.desk_admin_key,
            registry=registry,
        ),
        opts,
    )
district_networks = [d.network.name for d in districts.values()]

datacenter = DataCenter(
    "datacenter",
    DataCenterArgs(
        stack, prefix, district_networks=district_networks, ntp_port=ports["ntp"], registry=registry
    ),
    opts,
)
net = {role: n.name for role, n in datacenter.networks.items()}

database = CitizenDatabase(
    "citizen-db",
    CitizenDatabaseArgs(
        stack=stack,
        prefix=prefix,
        data_network=net["data"],
        password=secrets.db_password,
        db_name=settings.db_name,
        db_user=settings.db_user,
        registry=registry,
    ),
    opts,
)

sms = SmsSwitchboard(
    "sms",
    SmsSwitchboardArgs(
        stack=stack,
        prefix=prefix,
        app_network=net["app"],
        telcos=settings.telcos,
        admin_password=secrets.kannel_admin_password,
        status_password=secrets.kannel_status_password,
        sendsms_user=settings.sendsms_user,
        sendsms_password=secrets.sendsms_password,
        smpp_passwords=secrets.smpp_passwords,
        simulators=settings.lab_parts,
        sms_probe_url=sms_probe_url,
        ports=ports,
        registry=registry,
    ),
    opts,
)

portal = Portal(
    "portal",
    PortalArgs(
        stack=stack,
        prefix=prefix,
        dmz_network=net["dmz"],
        app_network=net["app"],
        data_network=net["data"],
        district_networks=district_networks,
        db_host=database.host,
        db_name=settings.db_name,
        db_user=settings.db_user,
        db_password=secrets.db_password,
        sendsms_url=sms.sendsms_url,
        sendsms_user=settings.sendsms_user,
        sendsms_password=secrets.sendsms_password,
        admin_token=secrets.portal_admin_token,
        catalog=settings.catalog,
        sms_smsc=settings.telcos[0].id,
        tls=settings.tls,
        ports=ports,
        depends_on=[database, sms],
        registry=registry,
    ),
    opts,
)

exporters = exporter_specs.specs(
    settings,
    exporter_specs.Wiring(
        networks=net,
        portal_host=portal.public_url.removeprefix("http://"),
        kannel_admin_url=f"http://{prefix}kannel:13000",
        sendsms_url=sms.sendsms_url,
        db_host=database.host,
    ),
)
scrape_targets = exporter_specs.scrape_targets(exporters, prefix)
# Past one Prometheus (exporters/federation.py): a shard server per availability replica,
# federated by the stack's Prometheus, which alerts and which everything reads.
shard_scrapes = exporter_specs.shard_targets(exporters, prefix)
shard_servers = {i: f"{prefix}prometheus-shard-{i}:{PROMETHEUS_PORT}" for i in shard_scrapes}
alertmanager_target = f"{prefix}alertmanager:9093"
webhook_url = f"http://{prefix}webhook:9095/alerts/default"
heartbeat_url = (
    lab_monitoring.heartbeat_url(prefix) if settings.lab_parts else settings.heartbeat_url
)
alertmanager_files: dict[str, pulumi.Input[str]] = {}
if settings.lab_parts:
    # The lab's synthetic LAB contacts of its sample: mail to its own server, SMS via Kannel.
    sampled = [d.code for d in settings.districts]
    alertmanager_files.update(
        lab_monitoring.alertmanager_files(
            webhook_url,
            heartbeat_url,
            oncall=lab_oncall.parse(inventory.load(), sampled),
            delivery=lab_monitoring.lab_delivery(prefix, exporter_specs.sms_relay_url(prefix)),
        )
    )
    if secrets.smtp_password is not None:
        alertmanager_files[lab_monitoring.SMTP_PASSWORD_FILE] = secrets.smtp_password
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        stack=stack,
        prefix=prefix,
        mgmt_network=net["mgmt"],
        recorder=settings.lab_parts,
        webhook_url=webhook_url if settings.lab_parts else "",
        exporters=exporters,
        ports=ports,
        prometheus_files=(
            lab_monitoring.prometheus_files(
                scrape_targets,
                alertmanager_target,
                tier="global" if shard_servers else "single",
                federate=list(shard_servers.values()),
            )
            if settings.lab_parts
            else {}
        ),
        shards=len(shard_servers),
        shard_files=(
            {
                i: lab_monitoring.prometheus_files(jobs, "", tier="shard")
                for i, jobs in shard_scrapes.items()
            }
            if settings.lab_parts
            else {}
        ),
        alertmanager_files=alertmanager_files,
        smtp_password=secrets.smtp_password if settings.lab_parts else None,
        registry=registry,
        deadman_after=lab_monitoring.TIMINGS.deadman_after if settings.lab_parts else 0,
        alert_resend_delay=(
            lab_monitoring.TIMINGS.alert_resend_delay if settings.lab_parts else "15s"
        ),
    ),
    opts,
)

endpoints: dict[str, object] = {
    "nginx": host_url(portal.nginx, 80),
    **({"nginx_https": host_url(portal.nginx, 443, "https")} if settings.tls else {}),
    "portal": host_url(portal.portal, 8080),
    "kannel_admin": host_url(sms.kannel, 13000),
    "kannel_sendsms": host_url(sms.kannel, 13013),
    "prometheus": host_url(monitoring.prometheus, 9090),
    "alertmanager": host_url(monitoring.alertmanager, 9093),
    "ntp": host_url(datacenter.ntp, 123, "udp"),
    "smsc_sim": {k: host_url(c, 13080) for k, c in sms.simulators.items()},
}
if monitoring.webhook is not None:
    endpoints["webhook"] = host_url(monitoring.webhook, 9095)
if monitoring.smtp is not None:
    endpoints["smtp"] = host_url(monitoring.smtp, 9025)
if monitoring.deadman is not None:
    endpoints["deadman"] = host_url(monitoring.deadman, 9095)

# The contract between stages (dvc_rollout/stack_outputs.py): exactly these outputs.
pulumi.export("kind", settings.kind)
pulumi.export("stack", stack)
pulumi.export("docker_host", settings.docker_host or "")
pulumi.export("registry", registry)
pulumi.export("hosts", desk_addresses)
pulumi.export("telcos", [t.model_dump() for t in settings.telcos])
pulumi.export("webhook", webhook_url if settings.lab_parts else "")
pulumi.export("endpoints", endpoints)
pulumi.export(
    "internal_endpoints",
    {
        "nginx": portal.public_url,
        **({"nginx_https": portal.https_url} if settings.tls else {}),
        "portal": portal.internal_url,
        "postgres": f"{database.host}:5432",
        "kannel_admin": f"http://{prefix}kannel:13000",
        "kannel_sendsms": sms.sendsms_url,
        "prometheus": f"http://{prefix}prometheus:9090",
        "alertmanager": f"http://{prefix}alertmanager:9093",
        "ntp": f"{prefix}ntp",
    },
)
pulumi.export(
    "networks",
    {**net, "districts": {code: d.network.name for code, d in districts.items()}},
)
pulumi.export(
    "containers",
    {
        "postgres": database.container.name,
        "kannel": sms.kannel.name,
        "portal": portal.portal.name,
        "nginx": portal.nginx.name,
        "prometheus": monitoring.prometheus.name,
        "alertmanager": monitoring.alertmanager.name,
        "webhook": monitoring.webhook.name if monitoring.webhook else None,
        "smtp": monitoring.smtp.name if monitoring.smtp else None,
        "deadman": monitoring.deadman.name if monitoring.deadman else None,
        "ntp": datacenter.ntp.name,
        "smsc_sim": {k: c.name for k, c in sms.simulators.items()},
        "terminals": {h: c.name for d in districts.values() for h, c in d.terminals.items()},
        "exporters": {k: c.name for k, c in monitoring.exporters.items()},
    },
)
pulumi.export("scrape_targets", scrape_targets)
pulumi.export(
    "prometheus_shards",
    [
        {
            "shard": f"{i}/{len(shard_servers)}",
            "container": monitoring.prometheus_shards[i].name,
            "target": shard_servers[i],
            "scrape_targets": shard_scrapes[i],
        }
        for i in shard_servers
    ],
)
pulumi.export("sms_probe_url", sms_probe_url)
# How Alertmanager reaches people besides webhooks; `dvc-rollout configure` renders the same.
# Production's smarthost is the city's own: set it in the stack's Ansible vars instead.
pulumi.export(
    "alerting",
    {
        "sms_relay_url": exporter_specs.sms_relay_url(prefix),
        **(
            {
                "smtp_smarthost": f"{prefix}smtp:{lab_monitoring.SMTP_PORT}",
                "smtp_from": lab_monitoring.SMTP_FROM,
                "smtp_auth_username": lab_monitoring.SMTP_USER,
                "smtp_require_tls": False,
            }
            if settings.lab_parts
            else {}
        ),
    },
)
# The dead-man's switch Alertmanager sends the watchdog's heartbeats to (configure reads it).
pulumi.export("heartbeat_url", heartbeat_url)
# The lab's drill timings, which `dvc-rollout configure` passes to the renderers too;
# production keeps the renderers' own (empty here).
pulumi.export(
    "monitoring_timings",
    dataclasses.asdict(lab_monitoring.TIMINGS) if settings.lab_parts else {},
)
pulumi.export(
    "sample",
    {
        "districts": [
            {"code": d.code, "name": d.name, "sites": [s.code for s in d.sites]}
            for d in settings.districts
        ],
        "telcos": [t.id for t in settings.telcos],
        "sms_smsc": settings.telcos[0].id,
    },
)
pulumi.export("database", {"name": settings.db_name, "user": settings.db_user})
pulumi.export(
    "credentials",
    pulumi.Output.secret(
        {
            "db_password": secrets.db_password,
            "kannel_admin_password": secrets.kannel_admin_password,
            "kannel_status_password": secrets.kannel_status_password,
            "sendsms_user": settings.sendsms_user,
            "sendsms_password": secrets.sendsms_password,
            "portal_admin_token": secrets.portal_admin_token,
        }
    ),
)
