"""The inventory as an Ansible dynamic inventory, so playbooks target the same sites.

Groups follow how the rollout is run: `terminals` (every one-stop-desk PC),
`district_<code>`, `level_<district|commune>`, `phase_<n>`, and an empty `datacenter`
group that a stack (lab or production) fills with its own hosts and connection vars.
"""

from __future__ import annotations

from typing import Any

from inventory.store import Inventory, Site


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


def export(inv: Inventory, sites: list[Site] | None = None) -> dict[str, Any]:
    """Ansible's JSON inventory format (`--list`) for the given sites (default: all)."""
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
