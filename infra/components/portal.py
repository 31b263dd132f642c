"""The DVC portal on `app` (and `data`, for the citizen database) fronted by nginx on `dmz`.

In the lab the portal is a stand-in that serves every service of every unit in the
inventory catalog (uploaded as JSON); nginx also joins every district network, which is
how the one-stop-desk terminals reach the portal. With the stack's TLS settings nginx
also answers HTTPS on 443 with the stack's certificate (the lab's from its own CA), which
is how the availability exporter probes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker

from infra.components import common
from infra.stackconfig import Tls

PORTAL_PORT = 8080
NGINX_PORT = 80
NGINX_TLS_PORT = 443
TLS_CERT_FILE = "/etc/nginx/tls/portal.pem"
TLS_KEY_FILE = "/etc/nginx/tls/portal.key"
CATALOG_FILE = "/etc/dvc-portal/catalog.json"


@dataclass
class PortalArgs:
    stack: str
    prefix: str
    dmz_network: pulumi.Input[str]
    app_network: pulumi.Input[str]
    data_network: pulumi.Input[str]
    district_networks: Sequence[pulumi.Input[str]]
    db_host: str
    db_name: str
    db_user: str
    db_password: pulumi.Output[str]
    sendsms_url: str
    sendsms_user: str
    sendsms_password: pulumi.Output[str]
    admin_token: pulumi.Output[str]
    catalog: dict[str, Any]
    sms_smsc: str = ""
    tls: Tls | None = None
    ports: dict[str, int] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()
    # HOST:PORT of the registry the Docker host pulls images from ("" = built on it).
    registry: str = ""


class Portal(pulumi.ComponentResource):
    """The portal container and the nginx that fronts it."""

    portal: docker.Container
    nginx: docker.Container
    internal_url: str
    public_url: str
    https_url: str

    def __init__(
        self, name: str, args: PortalArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dvc:portal:Portal", name, None, opts)
        portal_name = f"{args.prefix}portal"
        nginx_name = f"{args.prefix}nginx"
        self.internal_url = f"http://{portal_name}:{PORTAL_PORT}"
        self.public_url = f"http://{nginx_name}"
        self.https_url = f"https://{nginx_name}" if args.tls else ""
        portal_image = common.image(
            "portal", f"{name}-portal-image", common.child(self), args.registry
        )
        self.portal = docker.Container(
            f"{name}-portal",
            name=portal_name,
            hostname=portal_name,
            image=portal_image.image_id,
            envs=[
                f"DB_HOST={args.db_host}",
                "DB_PORT=5432",
                f"DB_NAME={args.db_name}",
                f"DB_USER={args.db_user}",
                pulumi.Output.concat("DB_PASSWORD=", args.db_password),
                f"SENDSMS_URL={args.sendsms_url}",
                f"SENDSMS_USER={args.sendsms_user}",
                pulumi.Output.concat("SENDSMS_PASSWORD=", args.sendsms_password),
                f"SMS_SMSC={args.sms_smsc}",
                pulumi.Output.concat("PORTAL_ADMIN_TOKEN=", args.admin_token),
                f"CATALOG_FILE={CATALOG_FILE}",
            ],
            uploads=[
                docker.ContainerUploadArgs(
                    file=CATALOG_FILE,
                    content=json.dumps(args.catalog, ensure_ascii=False, sort_keys=True),
                )
            ],
            networks_advanced=common.attach([args.app_network, args.data_network], portal_name),
            ports=[common.loopback_port(PORTAL_PORT, args.ports.get("portal", 0))],
            healthcheck=common.healthcheck(f"curl -fsS http://127.0.0.1:{PORTAL_PORT}/healthz"),
            restart=common.RESTART,
            labels=common.container_labels(args.stack, "portal"),
            opts=common.child(self, args.depends_on),
        )
        nginx_image = common.image(
            "nginx", f"{name}-nginx-image", common.child(self), args.registry
        )
        ports = [common.loopback_port(NGINX_PORT, args.ports.get("nginx", 0))]
        uploads = []
        if args.tls:
            ports.append(common.loopback_port(NGINX_TLS_PORT, args.ports.get("nginxTls", 0)))
            uploads = [
                docker.ContainerUploadArgs(file=TLS_CERT_FILE, content=args.tls.cert),
                docker.ContainerUploadArgs(file=TLS_KEY_FILE, content=args.tls.key),
            ]
        self.nginx = docker.Container(
            f"{name}-nginx",
            name=nginx_name,
            hostname=nginx_name,
            image=nginx_image.image_id,
            envs=[f"PORTAL_UPSTREAM={portal_name}:{PORTAL_PORT}"],
            networks_advanced=common.attach(
                [args.dmz_network, args.app_network, *args.district_networks], nginx_name
            ),
            ports=ports,
            uploads=uploads,
            healthcheck=common.healthcheck("curl -fsS http://127.0.0.1/nginx-health"),
            restart=common.RESTART,
            labels=common.container_labels(args.stack, "nginx"),
            opts=common.child(self, [self.portal]),
        )
        self.register_outputs(
            {
                "portal": self.portal.name,
                "nginx": self.nginx.name,
                "internal_url": self.internal_url,
                "public_url": self.public_url,
                "https_url": self.https_url,
            }
        )
