"""The data center's four networks and its time server.

`dmz` faces users (nginx), `app` joins the portal and Kannel, `data` holds the citizen
database and is internal (no route out), `mgmt` carries monitoring. The time server
also joins every district network so desks can keep their clocks right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from infra.components import common

ROLES = ("dmz", "app", "data", "mgmt")
INTERNAL = frozenset({"data"})


@dataclass
class DataCenterArgs:
    stack: str
    prefix: str
    district_networks: Sequence[pulumi.Input[str]] = field(default_factory=list)
    ntp_port: int = 0
    # HOST:PORT of the registry the Docker host pulls images from ("" = built on it).
    registry: str = ""


class DataCenter(pulumi.ComponentResource):
    """Networks `dmz`, `app`, `data` (internal) and `mgmt`, plus the lab time server."""

    networks: dict[str, docker.Network]
    ntp: docker.Container

    def __init__(
        self, name: str, args: DataCenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dvc:datacenter:DataCenter", name, None, opts)
        self.networks = {
            role: docker.Network(
                f"{name}-{role}",
                name=f"{args.prefix}{role}",
                internal=role in INTERNAL,
                labels=common.network_labels(args.stack),
                opts=common.child(self),
            )
            for role in ROLES
        }
        ntp_name = f"{args.prefix}ntp"
        ntp_image = common.image("ntp", f"{name}-ntp-image", common.child(self), args.registry)
        self.ntp = docker.Container(
            f"{name}-ntp",
            name=ntp_name,
            hostname=ntp_name,
            image=ntp_image.image_id,
            networks_advanced=common.attach(
                [self.networks["mgmt"].name, *args.district_networks], ntp_name
            ),
            ports=[common.loopback_port(123, args.ntp_port, "udp")],
            healthcheck=common.healthcheck("chronyc -n tracking >/dev/null"),
            restart=common.RESTART,
            labels=common.container_labels(args.stack, "ntp"),
            opts=common.child(self),
        )
        self.register_outputs(
            {
                "networks": {role: n.name for role, n in self.networks.items()},
                "ntp": self.ntp.name,
            }
        )
