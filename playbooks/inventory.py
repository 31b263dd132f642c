"""Ansible dynamic inventory: the rollout inventory plus the hosts of one stack.

`inventory/ansible.py` gives the terminals and their groups (`terminals`,
`district_<code>`, `level_<level>`, `phase_<n>`); this adds the datacenter hosts and
how to reach every host, from the stack's recorded outputs:

- Lab stacks (outputs list `containers`): `ansible_connection: community.docker.docker`,
  `ansible_host: <container name>`; only the terminals the lab really runs are listed.
- Other stacks (production): ssh. `ansible_host` is the address in the outputs' `hosts`
  mapping (host name -> address) or else the host name itself (resolved by DNS);
  `ansible_user` comes from `$DVC_SSH_USER` (default `dvc-admin`), keys from the ssh
  agent. Every terminal of the inventory is listed.

Stack-wide facts (portal URL, NTP servers, SMSCs, scrape targets, the alert webhook)
become `dvc_*` group variables that `group_vars/` maps onto the roles' variables. Outputs
read: `containers`, `internal_endpoints`, `sample.telcos`, `credentials.sendsms_user`,
and when a stack exports them `hosts`, `scrape_targets`, `alertmanager_webhook_url`,
`sms_probe_url`.

Environment: `DVC_STACK` (default `lab`), `DVC_STATE_DIR`, `DVC_INVENTORY_RECORDS`
(a records.yaml replacing the inventory's, e.g. synthetic officials for the lab),
`DVC_CHECK_SSH_PUBKEY` (production: the public keys the desks' check account accepts;
a lab stack uses its own key, `state/<stack>/ssh/id_ed25519`).
Run as `python -m playbooks.inventory --list`; Ansible runs it through the executable
`playbooks/inventory.sh` (`-i playbooks/inventory.sh`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import inventory
from dvc_rollout import argtypes
from dvc_rollout.errors import run_command
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


def is_lab(outputs: Mapping[str, Any]) -> bool:
    """A stack realised as local containers (the lab) rather than reachable machines."""
    return isinstance(outputs.get("containers"), Mapping)


def connection_vars(host: str, outputs: Mapping[str, Any], container: str | None) -> dict[str, Any]:
    """How Ansible reaches one host: the Docker connection in the lab, ssh otherwise."""
    if is_lab(outputs):
        return {
            "ansible_connection": DOCKER_CONNECTION,
            "ansible_host": container,
            "dvc_container": container,
            "ansible_python_interpreter": "/usr/bin/python3",
        }
    addresses = outputs.get("hosts") or {}
    return {
        "ansible_connection": "ssh",
        "ansible_host": addresses.get(host, host),
        "ansible_user": os.environ.get("DVC_SSH_USER", "dvc-admin"),
        "ansible_become": True,
    }


def _strip_scheme(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def telco_settings(stack: str, outputs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Telco id -> {protocol, systemId, ...}: the outputs' `telcos` if exported, else the
    stack file's `dvc-rollout:telcos` (what the Pulumi program read)."""
    listed = outputs.get("telcos")
    if not isinstance(listed, list):
        try:
            from infra.lab import stackfile
        except ImportError:
            return {}
        listed = stackfile.load(stack).get("dvc-rollout:telcos") or []
    return {str(t["id"]): dict(t) for t in listed if isinstance(t, Mapping) and "id" in t}


def smscs(stack: str, outputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One Kannel SMSC per telco the lab simulates: SMPP 3.4 or generic HTTP, as the
    Kannel image's bootstrap config renders them."""
    sample = outputs.get("sample") or {}
    simulators = (outputs.get("containers") or {}).get("smsc_sim") or {}
    settings = telco_settings(stack, outputs)
    found: list[dict[str, Any]] = []
    mo_port = FIRST_MO_PORT
    for telco in sample.get("telcos") or []:
        container = simulators.get(telco)
        if not container:
            continue
        telco_set = settings.get(telco, {})
        if telco_set.get("protocol") == "smpp":
            found.append(
                {
                    "id": telco,
                    "type": "smpp",
                    "host": container,
                    "port": SIM_SMPP_PORT,
                    "system_id": str(telco_set.get("systemId") or "dvc"),
                }
            )
            continue
        found.append(
            {
                "id": telco,
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


def scrape_args(outputs: Mapping[str, Any]) -> list[str]:
    """Arguments of `exporters.scrape_config` for the stack: its exporters' targets
    (outputs `scrape_targets`: job -> [host:port]) and its alertmanagers."""
    found: list[str] = []
    for job, targets in sorted((outputs.get("scrape_targets") or {}).items()):
        for target in targets:
            found.extend([f"--{job.replace('_', '-')}", str(target)])
    alertmanager = (outputs.get("internal_endpoints") or {}).get("alertmanager")
    if alertmanager:
        found.extend(["--alertmanager", _strip_scheme(str(alertmanager))])
    return found


def monitoring_timings(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The stack's monitoring timings: exported as `monitoring_timings`, or the lab's
    drill timings (infra/lab_monitoring.py) for a lab that does not export them.
    Production keeps the renderers' defaults (empty)."""
    if isinstance(outputs.get("monitoring_timings"), Mapping):
        return dict(outputs["monitoring_timings"])
    if not is_lab(outputs):
        return {}
    try:
        from infra.lab_monitoring import TIMINGS
    except ImportError:
        return {}
    return dataclasses.asdict(TIMINGS)


def alerting_vars(stack: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """How the stack's Alertmanager reaches people: its SMS relay and smarthost (outputs
    `alerting`), and for a lab its synthetic contacts (`state/<stack>/oncall.yaml`, which
    replaces the inventory's oncall.yaml). Production sets `dvc_smtp_*` in its own vars."""
    alerting = outputs.get("alerting") or {}
    found: dict[str, Any] = {}
    for key in ("sms_relay_url", "smtp_smarthost", "smtp_from", "smtp_auth_username"):
        if alerting.get(key):
            found[f"dvc_{key}"] = str(alerting[key])
    if "smtp_require_tls" in alerting:
        found["dvc_smtp_require_tls"] = bool(alerting["smtp_require_tls"])
    lab_oncall = stackfiles.stack_dir(stack) / "oncall.yaml"
    if is_lab(outputs) and lab_oncall.is_file():
        found["dvc_oncall_file"] = str(lab_oncall)
    return found


def stack_vars(stack: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Facts about the whole stack every play may need, as `dvc_*` variables."""
    internal = outputs.get("internal_endpoints") or {}
    found: dict[str, Any] = {"dvc_stack": stack, "dvc_lab": is_lab(outputs)}
    if internal.get("nginx"):
        found["dvc_portal_url"] = str(internal["nginx"]).rstrip("/") + "/"
    if internal.get("ntp"):
        found["dvc_ntp_servers"] = [str(internal["ntp"])]
    webhook = (outputs.get("containers") or {}).get("webhook")
    if outputs.get("alertmanager_webhook_url"):
        found["dvc_alertmanager_webhook_url"] = str(outputs["alertmanager_webhook_url"])
    elif webhook:  # the lab's recorder, as the Alertmanager bootstrap config uses it
        found["dvc_alertmanager_webhook_url"] = f"http://{webhook}:{WEBHOOK_PORT}/alerts/default"
    if outputs.get("sms_probe_url"):
        found["dvc_sms_probe_url"] = str(outputs["sms_probe_url"])
    sendsms_user = (outputs.get("credentials") or {}).get("sendsms_user")
    if sendsms_user:
        found["dvc_sendsms_user"] = str(sendsms_user)
    found.update(alerting_vars(stack, outputs))
    found["dvc_scrape_args"] = scrape_args(outputs)
    found["dvc_monitoring_timings"] = monitoring_timings(outputs)
    found["dvc_smscs"] = smscs(stack, outputs)
    found["dvc_check_ssh_keys"] = stackfiles.check_public_keys(stack, is_lab(outputs))
    return found


def _lab_sites(inv: Inventory, terminals: Mapping[str, str]) -> list[Site]:
    return [s for s in inv.sites.values() if any(h in terminals for h in s.terminal_hosts)]


def build(inv: Inventory, stack: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The `--list` document for a stack: groups, datacenter hosts and every host's vars.

    Every variable, from the inventory or the stack's outputs, is marked unsafe
    (`inventory.ansible.as_ansible`): Ansible takes it as data, never as a template.
    """
    return as_ansible(build_plain(inv, stack, outputs))


def build_plain(inv: Inventory, stack: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """`build` before its values are marked: plain data, for readers that are not Ansible."""
    containers: Mapping[str, Any] = outputs.get("containers") or {}
    terminals: Mapping[str, str] = containers.get("terminals") or {}
    lab = is_lab(outputs)
    found = listing(inv, _lab_sites(inv, terminals) if lab else None)
    hostvars: dict[str, dict[str, Any]] = found["_meta"]["hostvars"]
    if lab:  # a lab site may run fewer terminals than the site has
        for name, group in found.items():
            if name != "_meta" and "hosts" in group:
                group["hosts"] = [h for h in group["hosts"] if h in terminals]
        for host in list(hostvars):
            if host not in terminals:
                del hostvars[host]
    for host in hostvars:
        hostvars[host].update(connection_vars(host, outputs, terminals.get(host)))

    for parent, children in DATACENTER_TREE.items():
        found.setdefault(parent, {}).setdefault("children", [])
        known = found[parent]["children"]
        known.extend(c for c in children if c not in known)
    for host, (group, key) in DATACENTER.items():
        container = containers.get(key)
        if lab and not container:
            continue  # the stack does not run this part
        found.setdefault(group, {"hosts": []})["hosts"].append(host)
        hostvars[host] = connection_vars(host, outputs, container)
    found["all"]["vars"] = stack_vars(stack, outputs)
    return found


def load_inventory() -> Inventory:
    """The rollout inventory, with `$DVC_INVENTORY_RECORDS` replacing records.yaml if set."""
    records = os.environ.get("DVC_INVENTORY_RECORDS") or None
    return inventory.load(records=records)


def for_stack(stack: str) -> dict[str, Any]:
    """The inventory of a recorded stack, read from its state folder."""
    return build(load_inventory(), stack, stackfiles.read_outputs(stack))


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
