"""The SMS switchboard: Kannel (bearerbox + smsbox) on `app`, one SMSC per telco.

In the lab each telco is an operator simulator, reached over SMPP (as production's telcos
are, so an operator outage shows in Kannel's SMSC status) or Kannel's generic HTTP SMSC;
in production a telco is an SMPP link whose password is a config secret. Kannel
always has a `loopback` SMSC too, for end-to-end probes. The admin/status interface
needs a secret password and is published on 127.0.0.1 only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker

from dvc_rollout.stack_outputs import Telco
from infra.components import common

ADMIN_PORT = 13000
SENDSMS_PORT = 13013
SIM_PORT = 13080
SIM_SMPP_PORT = 2775


@dataclass
class SmsSwitchboardArgs:
    stack: str
    prefix: str
    app_network: pulumi.Input[str]
    telcos: Sequence[Telco]
    admin_password: pulumi.Output[str]
    status_password: pulumi.Output[str]
    sendsms_user: str
    sendsms_password: pulumi.Output[str]
    smpp_passwords: pulumi.Output[Any] | None = None
    simulators: bool = True
    sms_probe_url: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    # HOST:PORT of the registry the Docker host pulls images from ("" = built on it).
    registry: str = ""


# The lab's operator simulators run on the same host: Kannel drops a silent SMPP peer
# (frozen, or its network gone) after 8 s, enquiring every 2 s, so the fault drills see
# it in seconds. Production's Kannel takes the Ansible role's values (10 s and 30 s;
# playbooks/roles/sms_switchboard), never this bootstrap config's.
SIMULATOR_SMPP_TIMINGS = ("SMPP_ENQUIRE_LINK_INTERVAL=2", "SMPP_CONNECTION_TIMEOUT=8")


def _smpp_env(telco: Telco, passwords: pulumi.Output[Any] | None) -> pulumi.Output[str]:
    key = f"SMPP_PASSWORD_{telco.id.upper().replace('-', '_')}="
    if passwords is None:
        return pulumi.Output.secret(key)
    return pulumi.Output.concat(key, passwords.apply(lambda p: str((p or {}).get(telco.id, ""))))


class SmsSwitchboard(pulumi.ComponentResource):
    """Kannel plus, in the lab, one operator simulator per telco."""

    kannel: docker.Container
    simulators: dict[str, docker.Container]
    sendsms_url: str

    def __init__(
        self, name: str, args: SmsSwitchboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dvc:sms:SmsSwitchboard", name, None, opts)
        kannel_name = f"{args.prefix}kannel"
        self.sendsms_url = f"http://{kannel_name}:{SENDSMS_PORT}/cgi-bin/sendsms"
        self.simulators = {}
        http_smscs: list[str] = []
        smpp_smscs: list[str] = []
        sim_image = None
        for telco in args.telcos:
            host, port = telco.host, telco.port
            if args.simulators:
                if sim_image is None:
                    sim_image = common.image(
                        "smsc-sim", f"{name}-sim-image", common.child(self), args.registry
                    )
                host = f"{args.prefix}smsc-{telco.id}"
                port = SIM_SMPP_PORT if telco.protocol == "smpp" else SIM_PORT
                self.simulators[telco.id] = self._simulator(name, args, telco, sim_image, host)
            if telco.protocol == "smpp":
                smpp_smscs.append(f"{telco.id}={host}:{port}:{telco.system_id}")
            else:
                http_smscs.append(f"{telco.id}=http://{host}:{port or SIM_PORT}")
        envs: list[pulumi.Input[str]] = [
            pulumi.Output.concat("KANNEL_ADMIN_PASSWORD=", args.admin_password),
            pulumi.Output.concat("KANNEL_STATUS_PASSWORD=", args.status_password),
            f"SENDSMS_USER={args.sendsms_user}",
            pulumi.Output.concat("SENDSMS_PASSWORD=", args.sendsms_password),
            f"SMSC_HTTP={','.join(http_smscs)}",
        ]
        if smpp_smscs:
            envs.append(f"SMSC_SMPP={','.join(smpp_smscs)}")
            envs.extend(
                _smpp_env(t, args.smpp_passwords) for t in args.telcos if t.protocol == "smpp"
            )
            if args.simulators:
                envs.extend(SIMULATOR_SMPP_TIMINGS)
        if args.sms_probe_url:
            envs.append(f"SMS_PROBE_URL={args.sms_probe_url}")
        kannel_image = common.image(
            "kannel", f"{name}-kannel-image", common.child(self), args.registry
        )
        self.kannel = docker.Container(
            f"{name}-kannel",
            name=kannel_name,
            hostname=kannel_name,
            image=kannel_image.image_id,
            envs=envs,
            networks_advanced=common.attach([args.app_network], kannel_name),
            ports=[
                common.loopback_port(ADMIN_PORT, args.ports.get("kannelAdmin", 0)),
                common.loopback_port(SENDSMS_PORT, args.ports.get("kannelSendsms", 0)),
            ],
            healthcheck=common.healthcheck(
                f'curl -fsS "http://127.0.0.1:{ADMIN_PORT}/status.xml?password='
                '$KANNEL_STATUS_PASSWORD" | grep -q "<status>running"'
            ),
            restart=common.RESTART,
            labels=common.container_labels(args.stack, "kannel"),
            opts=common.child(self, list(self.simulators.values())),
        )
        self.register_outputs(
            {
                "kannel": self.kannel.name,
                "sendsms_url": self.sendsms_url,
                "simulators": {k: c.name for k, c in self.simulators.items()},
            }
        )

    def _simulator(
        self,
        name: str,
        args: SmsSwitchboardArgs,
        telco: Telco,
        image: docker.RemoteImage,
        sim_name: str,
    ) -> docker.Container:
        """LAB PART: the telco's operator simulator (HTTP on 13080, SMPP on 2775)."""
        return docker.Container(
            f"{name}-smsc-{telco.id}",
            name=sim_name,
            hostname=sim_name,
            image=image.image_id,
            envs=[f"SIM_ID={telco.id}"],
            networks_advanced=common.attach([args.app_network], sim_name),
            ports=[common.loopback_port(SIM_PORT, args.ports.get("smscSim", 0))],
            healthcheck=common.healthcheck(f"curl -fsS http://127.0.0.1:{SIM_PORT}/healthz"),
            restart=common.RESTART,
            labels=common.container_labels(args.stack, "smsc-sim"),
            opts=common.child(self),
        )
