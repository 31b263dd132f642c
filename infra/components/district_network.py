"""One district's network and, in the lab, its simulated one-stop-desk terminals.

The network is internal: a desk reaches only what joins it (nginx, the time server),
exactly as a district's line to the data center. Terminals are named
`<prefix>term-<site>-<n>` and also answer to the inventory's `term-<site>-<n>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from infra.components import common


@dataclass
class TerminalSite:
    """A desk to simulate: its site code and the inventory's terminal host names."""

    code: str
    hosts: Sequence[str]


@dataclass
class DistrictNetworkArgs:
    stack: str
    prefix: str
    district_code: str
    sites: Sequence[TerminalSite] = ()
    ntp_server: str = ""
    portal_url: str = ""


class DistrictNetwork(pulumi.ComponentResource):
    """The district's network `<prefix>d<code>` and its lab terminals."""

    network: docker.Network
    terminals: dict[str, docker.Container]

    def __init__(
        self, name: str, args: DistrictNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dvc:district:DistrictNetwork", name, None, opts)
        self.network = docker.Network(
            f"{name}-network",
            name=f"{args.prefix}d{args.district_code}",
            internal=True,
            labels=common.network_labels(args.stack),
            opts=common.child(self),
        )
        self.terminals = {}
        image = None
        for site in args.sites:
            for host in site.hosts:
                if image is None:
                    image = common.image("terminal", f"{name}-terminal-image", common.child(self))
                cname = f"{args.prefix}{host}"
                self.terminals[host] = docker.Container(
                    f"{name}-{host}",
                    name=cname,
                    hostname=cname,
                    image=image.image_id,
                    envs=[f"NTP_SERVER={args.ntp_server}", f"PORTAL_URL={args.portal_url}"],
                    networks_advanced=common.attach([self.network.name], cname, host),
                    healthcheck=common.healthcheck('lpstat -r | grep -q "scheduler is running"'),
                    restart=common.RESTART,
                    labels=common.container_labels(args.stack, "terminal"),
                    opts=common.child(self),
                )
        self.register_outputs(
            {
                "network": self.network.name,
                "terminals": {k: c.name for k, c in self.terminals.items()},
            }
        )
