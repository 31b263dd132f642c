"""A stack's address plan: one subnet per district, one fixed address per desk.

Real desk PCs keep their addresses, and the controller (Ansible, the checks) reaches them
by address over the district links. A stack that stands in for such an estate (staging)
gives its desks the same property: `dvc-rollout:districtSubnets` (e.g. `10.214.0.0/16`)
is cut into one /24 per district, numbered by the district's place among all 18 (so
dropping a district from the sample moves no other), and each desk gets a fixed address
from its site's place in the district. The lower quarter of each /24 is left to the
engine for the data-center containers that join a district network (time server, nginx).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dvc_rollout.errors import UsageError
from inventory.store import Inventory, Site

DISTRICT_PREFIX = 24
# Addresses .1-.63 of a district: the gateway and the engine's own allocations.
ENGINE_RANGE_PREFIX = 26
FIRST_DESK = 64


@dataclass(frozen=True)
class DistrictPlan:
    """One district's subnet, the range the engine allocates from, and its gateway."""

    subnet: str
    engine_range: str
    gateway: str


def _subnets(plan: str) -> list[ipaddress.IPv4Network]:
    try:
        network = ipaddress.IPv4Network(plan)
    except ValueError as exc:
        raise UsageError(
            f"dvc-rollout:districtSubnets {plan!r} is not an IPv4 network: {exc}"
        ) from None
    if network.prefixlen > 16:
        raise UsageError(
            f"dvc-rollout:districtSubnets {plan!r}: give at least a /16 (one /24 per district)"
        )
    return list(network.subnets(new_prefix=DISTRICT_PREFIX))


def district(plan: str, code: str, inv: Inventory) -> DistrictPlan | None:
    """The subnet of district `code`, by its place among all districts (None: no plan)."""
    if not plan:
        return None
    ordered = sorted(inv.districts)
    if code not in ordered:
        raise UsageError(f"district {code!r} is not one of the inventory's districts")
    subnet = _subnets(plan)[ordered.index(code) + 1]  # the plan's first /24 stays unused
    engine_range = next(subnet.subnets(new_prefix=ENGINE_RANGE_PREFIX))
    return DistrictPlan(str(subnet), str(engine_range), str(subnet.network_address + 1))


def desks(plan: DistrictPlan | None, site: Site, inv: Inventory) -> dict[str, str]:
    """Fixed addresses of a site's simulated terminals (none without a plan).

    The district's own desk comes first, then its communes' by code: a site keeps its
    address whichever sites the sample holds.
    """
    if plan is None:
        return {}
    district_code = site.place.district_code
    communes = sorted(
        s.code for s in inv.sites_in(districts=[district_code]) if s.code != district_code
    )
    order = [district_code, *communes]
    subnet = ipaddress.IPv4Network(plan.subnet)
    found = {}
    for n, host in enumerate(site.terminal_hosts):
        offset = FIRST_DESK + order.index(site.code) + n * len(order)
        address = subnet.network_address + offset
        if address >= subnet.broadcast_address:
            raise UsageError(f"district subnet {plan.subnet} has no room for {host}")
        found[host] = str(address)
    return found
