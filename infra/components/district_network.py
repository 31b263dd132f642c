"""One district's network and, in the lab and staging, its simulated one-stop-desk terminals.

The network is internal: a desk reaches only what joins it (nginx, the time server),
exactly as a district's line to the data center. Terminals are named
`<prefix>term-<site>-<n>` and also answer to the inventory's `term-<site>-<n>`. A stack
with an address plan (infra/address_plan.py) gives the network its subnet and each desk
its fixed address, and desks given an admin key let that key in over ssh as `dvc-admin`
(how Ansible reaches the city's prepared PCs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from infra.address_plan import DistrictPlan
from infra.components import common


@dataclass
class TerminalSite:
    """A desk to simulate: its site code, the inventory's terminal host names and, with an
    address plan, each host's fixed address."""

    code: str
    hosts: Sequence[str]
    addresses: Mapping[str, str] = field(default_factory=dict)


@dataclass
class DistrictNetworkArgs:
    stack: str
    prefix: str
    district_code: str
    sites: Sequence[TerminalSite] = ()
    ntp_server: str = ""
    portal_url: str = ""
    # The district's subnet from the stack's address plan (None: the engine picks one).
    plan: DistrictPlan | None = None
    registry: str = ""
    # Public ssh key the desks' admin account accepts ("" = no admin login over ssh).
    admin_key: str = ""


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
            ipam_configs=(
                [
                    docker.NetworkIpamConfigArgs(
                        subnet=args.plan.subnet,
                        ip_range=args.plan.engine_range,
                        gateway=args.plan.gateway,
                    )
                ]
                if args.plan
                else None
            ),
            labels=common.network_labels(args.stack),
            opts=common.child(self),
        )
        self.terminals = {}
        image = None
        for site in args.sites:
            for host in site.hosts:
                if image is None:
                    image = common.image(
                        "terminal", f"{name}-terminal-image", common.child(self), args.registry
                    )
                cname = f"{args.prefix}{host}"
                self.terminals[host] = docker.Container(
                    f"{name}-{host}",
                    name=cname,
                    hostname=cname,
                    image=image.image_id,
                    envs=[
                        f"NTP_SERVER={args.ntp_server}",
                        f"PORTAL_URL={args.portal_url}",
                        *([f"ADMIN_SSH_KEY={args.admin_key}"] if args.admin_key else []),
                    ],
                    networks_advanced=[
                        docker.ContainerNetworksAdvancedArgs(
                            name=self.network.name,
                            aliases=[cname, host],
                            ipv4_address=site.addresses.get(host),
                        )
                    ],
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
