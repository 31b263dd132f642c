"""The inventory as an Ansible dynamic inventory, so playbooks target the same sites.

Groups follow how the rollout is run: `terminals` (every one-stop-desk PC),
`district_<code>`, `level_<district|commune>`, `phase_<n>`, and an empty `datacenter`
group that a stack (lab or production) fills with its own hosts and connection vars.

Inventory text is data, never code: a unit name typed as `{{ lookup('pipe', 'id') }}`
must reach a terminal as those characters, not run on the controller. Ansible renders
any string from an inventory script as a template unless it is marked unsafe, so every
string of every variable leaves here in Ansible's JSON form `{"__ansible_unsafe": ...}`
(`as_ansible`); `plain` undoes it for readers that are not Ansible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inventory.store import Inventory, Site

UNSAFE = "__ansible_unsafe"


def site_vars(site: Site) -> dict[str, Any]:
    """Host variables every terminal of a site carries (the `dvc_` prefix avoids clashes)."""
    place = site.place
    return {
        "dvc_site_code": site.code,
        "dvc_site_name": site.name,
        "dvc_unit_code": place.code,
        "dvc_unit_name": place.name,
        "dvc_unit_type": place.type,
        "dvc_level": place.level,
        "dvc_district_code": place.district_code,
        "dvc_district_name": place.district_name,
        "dvc_phases": list(site.phases),
        "dvc_equipment": site.equipment.model_dump(),
        "dvc_officials": [a.model_dump() for a in site.accounts],
    }


def unsafe(value: Any) -> Any:
    """The value with every string in it, at any depth, marked for Ansible not to template."""
    if isinstance(value, str):
        return {UNSAFE: value}
    if isinstance(value, Mapping):
        return {str(k): unsafe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unsafe(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """`unsafe` undone: the values as they were, for readers that are not Ansible."""
    if isinstance(value, Mapping):
        if set(value) == {UNSAFE}:
            return value[UNSAFE]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def as_ansible(listing: Mapping[str, Any]) -> dict[str, Any]:
    """The `--list` document as Ansible must read it: every group's and host's variables
    marked unsafe; group members and children (names Ansible never renders) as they are."""
    document: dict[str, Any] = {}
    for name, group in listing.items():
        if name == "_meta":
            hostvars = group.get("hostvars", {})
            document[name] = {"hostvars": {h: unsafe(v) for h, v in hostvars.items()}}
        else:
            document[name] = {k: unsafe(v) if k == "vars" else v for k, v in group.items()}
    return document


def export(inv: Inventory, sites: list[Site] | None = None) -> dict[str, Any]:
    """Ansible's JSON inventory (`--list`) for the given sites (default: all), marked unsafe."""
    return as_ansible(listing(inv, sites))


def listing(inv: Inventory, sites: list[Site] | None = None) -> dict[str, Any]:
    """Ansible's JSON inventory format for the given sites, values as plain Python data."""
    chosen = list(inv.sites.values()) if sites is None else sites
    groups: dict[str, dict[str, Any]] = {
        "all": {"children": ["datacenter", "terminals"]},
        "datacenter": {"hosts": []},
        "terminals": {"hosts": []},
    }
    hostvars: dict[str, dict[str, Any]] = {}

    def add(group: str, host: str) -> None:
        if group not in groups:
            groups[group] = {"hosts": []}
            groups["all"]["children"].append(group)
        groups[group]["hosts"].append(host)

    for site in chosen:
        for index, host in enumerate(site.terminal_hosts, start=1):
            hostvars[host] = {**site_vars(site), "dvc_terminal_index": index}
            groups["terminals"]["hosts"].append(host)
            add(f"district_{site.place.district_code}", host)
            add(f"level_{site.place.level}", host)
            for phase in site.phases:
                add(f"phase_{phase}", host)
    groups["_meta"] = {"hostvars": hostvars}
    return groups
