"""Ansible dynamic inventory: the rollout inventory plus the hosts of one stack.

`inventory/ansible.py` gives the terminals and their groups (`terminals`,
`district_<code>`, `level_<level>`, `phase_<n>`); this adds the datacenter hosts and
how to reach every host, from the stack's recorded outputs (dvc_rollout/stack_outputs.py),
by the stack's kind:

- `lab`: every host is a container on this machine's engine: `ansible_connection:
  community.docker.docker`, `ansible_host: <container name>`; only the terminals the
  lab runs are listed.
- `staging`: as production is reached. Its stand-in desks over ssh at their fixed
  addresses (outputs `hosts`) as `dvc-admin` with the stack's admin key, their host keys
  pinned (`<state>/<stack>/ssh/known_hosts`, read through the Docker host at `up`); its
  data-center containers through the Docker connection whose engine is the stack's
  `docker_host` (`ssh://…`: the one deploy account Pulumi uses too). Only the desks the
  stack runs are listed.
- `production`: ssh. `ansible_host` is the address in the outputs' `hosts` mapping or else
  the host name itself (resolved by DNS); `ansible_user` comes from `$DVC_SSH_USER`
  (default `dvc-admin`), keys from the ssh agent. Every terminal of the inventory is listed.

Stack-wide facts (portal URL, NTP servers, SMSCs, scrape targets, the alert webhook)
become `dvc_*` group variables that `group_vars/` maps onto the roles' variables.

Environment: `DVC_STACK` (default `lab`), `DVC_STATE_DIR`, `DVC_INVENTORY_RECORDS`
(a records.yaml replacing the inventory's, e.g. synthetic officials for the lab),
`DVC_CHECK_SSH_PUBKEY` (production: the public keys the desks' check account accepts;
a simulated stack uses its own key, `<state>/<stack>/ssh/id_ed25519`).
Run as `python -m playbooks.inventory --list`; Ansible runs it through the executable
`playbooks/inventory.sh` (`-i playbooks/inventory.sh`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import inventory
from dvc_rollout import argtypes, stack_outputs, statedir
from dvc_rollout.errors import run_command
from dvc_rollout.stack_outputs import StackOutputs
from inventory.ansible import as_ansible, listing
from inventory.store import Inventory, Site
from playbooks import stack as stackfiles

# Datacenter host -> (its group under `datacenter`, its key in the outputs' `containers`).
DATACENTER: dict[str, tuple[str, str]] = {
    "sms-1": ("sms_switchboard", "kannel"),
    "prometheus-1": ("prometheus", "prometheus"),
    "alertmanager-1": ("alertmanager", "alertmanager"),
}
# Parent groups of the datacenter groups.
DATACENTER_TREE: dict[str, list[str]] = {
    "datacenter": ["sms_switchboard", "monitoring"],
    "monitoring": ["prometheus", "alertmanager"],
}
DOCKER_CONNECTION = "community.docker.docker"
SIM_PORT = 13080
SIM_SMPP_PORT = 2775
WEBHOOK_PORT = 9095
FIRST_MO_PORT = 14001


def _over_ssh(outputs: StackOutputs, host: str) -> dict[str, Any]:
    if outputs.kind == "production":
        return {
            "ansible_connection": "ssh",
            "ansible_host": outputs.hosts.get(host, host),
            "ansible_user": os.environ.get("DVC_SSH_USER", stackfiles.ADMIN_USER),
            "ansible_become": True,
        }
    return {
        "ansible_connection": "ssh",
        "ansible_host": outputs.hosts[host],
        "ansible_user": stackfiles.ADMIN_USER,
        "ansible_become": True,
        "ansible_ssh_private_key_file": str(stackfiles.admin_key(outputs.stack)),
        "ansible_ssh_common_args": (
            f"-o UserKnownHostsFile={stackfiles.known_hosts(outputs.stack)} "
            "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
        ),
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def _in_container(outputs: StackOutputs, container: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ansible_connection": DOCKER_CONNECTION,
        "ansible_host": container,
        "dvc_container": container,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    if outputs.docker_host:  # the data center's Docker host, over its deploy account
        found["ansible_docker_extra_args"] = f"--host {outputs.docker_host}"
    return found


def connection_vars(
    host: str, outputs: StackOutputs, container: str | None, terminal: bool
) -> dict[str, Any]:
    """How Ansible reaches one host, by the stack's kind (see the module's docstring)."""
    if outputs.kind == "lab":
        return _in_container(outputs, container)
    if terminal or outputs.kind == "production":
        return _over_ssh(outputs, host)
    return _in_container(outputs, container)


def _strip_scheme(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def smscs(outputs: StackOutputs) -> list[dict[str, Any]]:
    """One Kannel SMSC per telco the stack simulates: SMPP 3.4 or generic HTTP, as the
    Kannel image's bootstrap config renders them."""
    simulators = outputs.containers.smsc_sim
    found: list[dict[str, Any]] = []
    mo_port = FIRST_MO_PORT
    for telco in outputs.telcos:
        container = simulators.get(telco.id)
        if not container:
            continue
        if telco.protocol == "smpp":
            found.append(
                {
                    "id": telco.id,
                    "type": "smpp",
                    "host": container,
                    "port": SIM_SMPP_PORT,
                    "system_id": telco.system_id or "dvc",
                }
            )
            continue
        found.append(
            {
                "id": telco.id,
                "type": "http",
                "system_type": "generic",
                # Kannel's generic HTTP SMSC fills %p with the receiver and %P with the sender.
                "send_url": f"http://{container}:{SIM_PORT}/send"
                "?to=%p&from=%P&text=%b&coding=%c&charset=%C",
                "port": mo_port,
                "status_success_regex": "^Sent",
                "status_tempfail_regex": "[Oo]ffline|[Rr]etry",
            }
        )
        mo_port += 1
    return found


def _job_args(jobs: Mapping[str, Sequence[str]]) -> list[str]:
    found: list[str] = []
    for job, targets in sorted(jobs.items()):
        for target in targets:
            found.extend([f"--{job.replace('_', '-')}", str(target)])
    return found


def scrape_args(outputs: StackOutputs) -> list[str]:
    """Arguments of `exporters.scrape_config` for the stack's Prometheus: its exporters'
    targets (outputs `scrape_targets`: job -> [host:port]), the shard servers it
    federates if any (`prometheus_shards`) and its alertmanagers."""
    found = _job_args(outputs.scrape_targets)
    for shard in outputs.prometheus_shards:
        found.extend(["--federate", shard.target])
    found.extend(["--alertmanager", _strip_scheme(outputs.internal_endpoints.alertmanager)])
    return found


def shard_hosts(outputs: StackOutputs) -> dict[str, dict[str, Any]]:
    """Each shard Prometheus as a host of the `prometheus` group, with what it scrapes and
    the rules it evaluates (exporters/federation.py); it alerts no one."""
    found = {}
    for shard in outputs.prometheus_shards:
        host = f"prometheus-shard-{shard.shard.split('/')[0]}"
        found[host] = {
            **connection_vars(host, outputs, shard.container, terminal=False),
            "dvc_scrape_args": _job_args(shard.scrape_targets),
            "dvc_prometheus_tier": "shard",
        }
    return found


def alerting_vars(outputs: StackOutputs) -> dict[str, Any]:
    """How the stack's Alertmanager reaches people: its SMS relay and smarthost (outputs
    `alerting`), and for a simulated stack its synthetic contacts (`state/<stack>/
    oncall.yaml`, which replaces the inventory's oncall.yaml). Production sets `dvc_smtp_*`
    in its own vars."""
    alerting = outputs.alerting.model_dump()
    found: dict[str, Any] = {}
    for key in ("sms_relay_url", "smtp_smarthost", "smtp_from", "smtp_auth_username"):
        if alerting.get(key):
            found[f"dvc_{key}"] = str(alerting[key])
    if alerting.get("smtp_require_tls") is not None:
        found["dvc_smtp_require_tls"] = bool(alerting["smtp_require_tls"])
    lab_oncall = statedir.stack_dir(outputs.stack) / "oncall.yaml"
    if outputs.simulated and lab_oncall.is_file():
        found["dvc_oncall_file"] = str(lab_oncall)
    return found


def stack_vars(outputs: StackOutputs) -> dict[str, Any]:
    """Facts about the whole stack every play may need, as `dvc_*` variables.

    `dvc_lab` says the estate is simulated (lab and staging: stand-in desks, operator
    simulators, containers whose services restart in place); `dvc_kind` says which.
    """
    internal = outputs.internal_endpoints
    found: dict[str, Any] = {
        "dvc_stack": outputs.stack,
        "dvc_kind": outputs.kind,
        "dvc_lab": outputs.simulated,
        "dvc_portal_url": internal.nginx.rstrip("/") + "/",
        "dvc_ntp_servers": [internal.ntp],
    }
    if outputs.webhook:
        found["dvc_alertmanager_webhook_url"] = outputs.webhook
    if outputs.heartbeat_url:
        found["dvc_alertmanager_heartbeat_url"] = outputs.heartbeat_url
    if outputs.sms_probe_url:
        found["dvc_sms_probe_url"] = outputs.sms_probe_url
    if outputs.credentials is not None:
        found["dvc_sendsms_user"] = outputs.credentials.sendsms_user
    found.update(alerting_vars(outputs))
    found["dvc_scrape_args"] = scrape_args(outputs)
    found["dvc_prometheus_tier"] = "global" if outputs.prometheus_shards else "single"
    found["dvc_monitoring_timings"] = dict(outputs.monitoring_timings)
    found["dvc_smscs"] = smscs(outputs)
    found["dvc_check_ssh_keys"] = stackfiles.check_public_keys(outputs.stack, outputs.own_check_key)
    return found


def _lab_sites(inv: Inventory, terminals: Mapping[str, str]) -> list[Site]:
    return [s for s in inv.sites.values() if any(h in terminals for h in s.terminal_hosts)]


def build(inv: Inventory, outputs: StackOutputs) -> dict[str, Any]:
    """The `--list` document for a stack: groups, datacenter hosts and every host's vars.

    Every variable, from the inventory or the stack's outputs, is marked unsafe
    (`inventory.ansible.as_ansible`): Ansible takes it as data, never as a template.
    """
    return as_ansible(build_plain(inv, outputs))


def build_plain(inv: Inventory, outputs: StackOutputs) -> dict[str, Any]:
    """`build` before its values are marked: plain data, for readers that are not Ansible."""
    containers = outputs.containers
    terminals = containers.terminals
    stand_ins = outputs.simulated  # list only the desks the stack runs
    found = listing(inv, _lab_sites(inv, terminals) if stand_ins else None)
    hostvars: dict[str, dict[str, Any]] = found["_meta"]["hostvars"]
    if stand_ins:  # a stand-in site may run fewer terminals than the site has
        for name, group in found.items():
            if name != "_meta" and "hosts" in group:
                group["hosts"] = [h for h in group["hosts"] if h in terminals]
        for host in list(hostvars):
            if host not in terminals:
                del hostvars[host]
    for host in hostvars:
        hostvars[host].update(connection_vars(host, outputs, terminals.get(host), terminal=True))

    for parent, children in DATACENTER_TREE.items():
        found.setdefault(parent, {}).setdefault("children", [])
        known = found[parent]["children"]
        known.extend(c for c in children if c not in known)
    for host, (group, key) in DATACENTER.items():
        container = getattr(containers, key, None)
        found.setdefault(group, {"hosts": []})["hosts"].append(host)
        hostvars[host] = connection_vars(host, outputs, container, terminal=False)
    for host, shard_vars in shard_hosts(outputs).items():
        found["prometheus"]["hosts"].append(host)
        hostvars[host] = shard_vars
    found["all"]["vars"] = stack_vars(outputs)
    return found


def load_inventory() -> Inventory:
    """The rollout inventory, with `$DVC_INVENTORY_RECORDS` replacing records.yaml if set."""
    records = os.environ.get("DVC_INVENTORY_RECORDS") or None
    return inventory.load(records=records)


def for_stack(stack: str) -> dict[str, Any]:
    """The inventory of a recorded stack, read from its state folder."""
    return build(load_inventory(), stack_outputs.load(stack))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--list", action="store_true", help="print every group and host")
    parser.add_argument("--host", type=argtypes.text(), help="print one host's variables")
    parser.add_argument(
        "--stack",
        type=argtypes.stack_name,
        default=os.environ.get("DVC_STACK", stackfiles.DEFAULT_STACK),
        help="stack whose outputs say how to reach the hosts (default: $DVC_STACK or lab)",
    )
    args = parser.parse_args(argv)
    found = for_stack(args.stack)
    if args.host:
        document: Any = found["_meta"]["hostvars"].get(args.host, {})
    else:
        document = found
    json.dump(document, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("inventory", main))
