"""Monitoring on `mgmt`: Prometheus, Alertmanager and, in the lab, a notification recorder
and the dead-man's switch that notices when the alerting pipeline itself goes silent.

With shards (exporters/federation.py) one more Prometheus per shard scrapes that shard's
availability exporter; the stack's `prometheus` is then the global server federating them.

The project's exporters (`infra/exporters.py`) each run as an `ExporterSpec` from the
shared exporter image on `mgmt` plus the networks they probe; they publish no port,
Prometheus scrapes them by name. Config files given in `prometheus_files` and
`alertmanager_files` are uploaded before the servers start (the lab's drill-ready
config); without them the images render their bootstrap config and Ansible takes over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from infra.components import common

# Data folders the images declare as volumes; each gets a named, labelled volume so
# nothing anonymous is left behind and `lab down` removes it with the stack.
DATA_DIRS = {
    "prometheus": "/var/lib/prometheus",
    "alertmanager": "/var/lib/alertmanager",
    "smtp": "/var/lib/smtp",
}
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
WEBHOOK_PORT = 9095
SMTP_PORT = 2525
SMTP_HTTP_PORT = 9025
SMTP_USER = "alertmanager"
# The lab's dead-man's switch: the recorder's image, listening for heartbeats.
DEADMAN_ROLE = "deadman"


@dataclass
class ExporterSpec:
    """One exporter container: `python3 -m exporters.<module>` listening on `port`."""

    name: str
    command: Sequence[str]
    port: int
    networks: Sequence[pulumi.Input[str]] = ()
    envs: Sequence[pulumi.Input[str]] = ()
    # Prometheus job it belongs to (exporters.scrape_config.JOBS); default: the name.
    job: str = ""
    # Files written into the container before it starts (path -> text).
    uploads: Mapping[str, str] = field(default_factory=dict)
    # A folder kept on a named volume of its own (e.g. a store the exporter reads).
    data_dir: str = ""
    # The shard Prometheus that scrapes this replica (1..n); 0: the stack's own Prometheus.
    shard: int = 0

    @property
    def job_name(self) -> str:
        return self.job or self.name

    def target(self, prefix: str) -> str:
        """HOST:PORT as Prometheus reaches it on `mgmt`."""
        return f"{prefix}exporter-{self.name}:{self.port}"


@dataclass
class MonitoringArgs:
    stack: str
    prefix: str
    mgmt_network: pulumi.Input[str]
    recorder: bool = True
    webhook_url: str = ""
    exporters: Sequence[ExporterSpec] = ()
    ports: dict[str, int] = field(default_factory=dict)
    prometheus_files: Mapping[str, str] = field(default_factory=dict)
    alertmanager_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The lab's mail server (LAB PART) logs Alertmanager in with this password.
    smtp_password: pulumi.Input[str] | None = None
    # HOST:PORT of the registry the Docker host pulls images from ("" = built on it).
    registry: str = ""
    # Seconds without a heartbeat before the lab's dead-man's switch speaks (0: no switch).
    deadman_after: float = 0
    # Prometheus' --rules.alert.resend-delay: how soon Alertmanager hears that the
    # watchdog stopped when Prometheus does (alerts expire 4 resend delays after the last).
    alert_resend_delay: str = "15s"
    # Shard Prometheus servers (0: the one Prometheus scrapes every exporter).
    shards: int = 0
    # Shard -> config files uploaded into its Prometheus before it starts (the lab's).
    shard_files: Mapping[int, Mapping[str, str]] = field(default_factory=dict)


class Monitoring(pulumi.ComponentResource):
    """Prometheus and Alertmanager (and the lab's webhook recorder and exporters)."""

    prometheus: docker.Container
    alertmanager: docker.Container
    webhook: docker.Container | None
    smtp: docker.Container | None
    deadman: docker.Container | None
    exporters: dict[str, docker.Container]
    prometheus_shards: dict[int, docker.Container]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dvc:monitoring:Monitoring", name, None, opts)
        p = args.prefix
        self.webhook = None
        self.smtp = None
        self.deadman = None
        webhook_url = args.webhook_url
        if args.recorder:
            self.webhook = self._service(
                name, args, "webhook", WEBHOOK_PORT, "/healthz", [], args.ports.get("webhook", 0)
            )
            webhook_url = webhook_url or f"http://{p}webhook:{WEBHOOK_PORT}/alerts/default"
        if args.recorder and args.smtp_password is not None:
            self.smtp = self._service(
                name,
                args,
                "smtp",
                SMTP_HTTP_PORT,
                "/healthz",
                [
                    f"SMTP_USER={SMTP_USER}",
                    pulumi.Output.concat("SMTP_PASSWORD=", args.smtp_password),
                ],
                args.ports.get("smtp", 0),
            )
        if args.recorder and args.deadman_after > 0:
            self.deadman = self._service(
                name,
                args,
                DEADMAN_ROLE,
                WEBHOOK_PORT,
                "/healthz",
                [f"DEADMAN_AFTER_SECONDS={args.deadman_after:g}"],
                args.ports.get(DEADMAN_ROLE, 0),
                image_name="webhook",
            )
        self.alertmanager = self._service(
            name,
            args,
            "alertmanager",
            ALERTMANAGER_PORT,
            "/-/ready",
            [f"WEBHOOK_URL={webhook_url}"],
            args.ports.get("alertmanager", 0),
            args.alertmanager_files,
        )
        self.prometheus = self._service(
            name,
            args,
            "prometheus",
            PROMETHEUS_PORT,
            "/-/ready",
            [
                f"ALERTMANAGER_URL=http://{p}alertmanager:{ALERTMANAGER_PORT}",
                f"ALERT_RESEND_DELAY={args.alert_resend_delay}",
            ],
            args.ports.get("prometheus", 0),
            args.prometheus_files,
        )
        self.prometheus_shards = {
            i: self._service(
                name,
                args,
                f"prometheus-shard-{i}",
                PROMETHEUS_PORT,
                "/-/ready",
                [],
                0,
                args.shard_files.get(i),
                image_name="prometheus",
            )
            for i in range(1, args.shards + 1)
        }
        self.exporters = {}
        if args.exporters:
            image = common.image(
                "exporter", f"{name}-exporter-image", common.child(self), args.registry
            )
            for spec in args.exporters:
                cname = f"{p}exporter-{spec.name}"
                volumes = []
                if spec.data_dir:
                    volume = docker.Volume(
                        f"{name}-exporter-{spec.name}-data",
                        name=f"{cname}-data",
                        labels=common.volume_labels(args.stack),
                        opts=common.child(self),
                    )
                    volumes.append(
                        docker.ContainerVolumeArgs(
                            volume_name=volume.name, container_path=spec.data_dir
                        )
                    )
                self.exporters[spec.name] = docker.Container(
                    f"{name}-exporter-{spec.name}",
                    name=cname,
                    hostname=cname,
                    image=image.image_id,
                    command=list(spec.command),
                    envs=list(spec.envs),
                    uploads=_uploads(spec.uploads),
                    volumes=volumes,
                    networks_advanced=common.attach([args.mgmt_network, *spec.networks], cname),
                    healthcheck=common.healthcheck(
                        f"curl -fsS http://127.0.0.1:{spec.port}/-/healthy"
                    ),
                    restart=common.RESTART,
                    labels=common.container_labels(args.stack, f"exporter-{spec.name}"),
                    opts=common.child(self),
                )
        self.register_outputs(
            {
                "prometheus": self.prometheus.name,
                "alertmanager": self.alertmanager.name,
                "smtp": self.smtp.name if self.smtp else None,
                "deadman": self.deadman.name if self.deadman else None,
                "exporters": {k: c.name for k, c in self.exporters.items()},
                "prometheus_shards": {str(i): c.name for i, c in self.prometheus_shards.items()},
            }
        )

    def _service(
        self,
        name: str,
        args: MonitoringArgs,
        role: str,
        port: int,
        health_path: str,
        envs: list[pulumi.Input[str]],
        host_port: int,
        files: Mapping[str, pulumi.Input[str]] | None = None,
        image_name: str = "",
    ) -> docker.Container:
        """One server of the monitoring: `role` names it, `image_name` (default: the role)
        runs it."""
        cname = f"{args.prefix}{role}"
        image = common.image(
            image_name or role, f"{name}-{role}-image", common.child(self), args.registry
        )
        data_dir = DATA_DIRS.get(image_name or role)  # a shard Prometheus keeps its own
        volumes = []
        if data_dir:
            volume = docker.Volume(
                f"{name}-{role}-data",
                name=f"{cname}-data",
                labels=common.volume_labels(args.stack),
                opts=common.child(self),
            )
            volumes.append(
                docker.ContainerVolumeArgs(volume_name=volume.name, container_path=data_dir)
            )
        return docker.Container(
            f"{name}-{role}",
            name=cname,
            hostname=cname,
            image=image.image_id,
            envs=envs,
            volumes=volumes,
            uploads=_uploads(files or {}),
            networks_advanced=common.attach([args.mgmt_network], cname),
            ports=[common.loopback_port(port, host_port)],
            healthcheck=common.healthcheck(f"curl -fsS http://127.0.0.1:{port}{health_path}"),
            restart=common.RESTART,
            labels=common.container_labels(args.stack, role),
            opts=common.child(self),
        )


def _uploads(files: Mapping[str, pulumi.Input[str]]) -> list[docker.ContainerUploadArgs]:
    return [docker.ContainerUploadArgs(file=path, content=files[path]) for path in sorted(files)]
