"""Which hosts a check run covers, chosen from the inventory and reached through one backend.

The same checks run everywhere; a `Target` carries everything a check needs to know
about one host (who it should be, which site it serves, which officials work there),
plus the testinfra host spec that is the only thing that differs between the lab
(`docker://`) and production (`ssh://`, `ansible://`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from checks.checkset import DATACENTER
from checks.results import Estate
from dvc_rollout.errors import UsageError
from dvc_rollout.stack_outputs import Kind
from inventory.store import Inventory, Site

Backend = Literal["docker", "ssh", "ansible"]
BACKENDS: tuple[Backend, ...] = ("docker", "ssh", "ansible")
# Data-center roles checked, in the order they are reported.
DATACENTER_ROLES: tuple[str, ...] = ("postgres", "kannel", "portal", "nginx", "prometheus")


@dataclass(frozen=True)
class Target:
    """One host to check and everything its checks compare against."""

    kind: Literal["terminal", "datacenter"]
    host: str
    uri: str
    expected_hostname: str
    site_code: str
    site_name: str
    unit: str
    unit_code: str
    district: str = ""
    district_code: str = ""
    phase: str = ""
    go_live: str = ""
    role: str = ""
    officials: tuple[str, ...] = ()
    portal_url: str = ""
    ntp_server: str = ""
    print_test: bool = False
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The pytest parameter id: the host name, or `datacenter-<role>`."""
        return self.host if self.kind == "terminal" else f"{DATACENTER}-{self.role}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        values = dict(data)
        values["officials"] = tuple(values.get("officials", ()))
        return cls(**values)


@dataclass(frozen=True)
class Options:
    """How hosts are reached and what they are compared against."""

    backend: Backend = "docker"
    stack: str = "lab"
    portal_url: str = ""
    ntp_server: str = ""
    go_live: str = ""
    ansible_inventory: str = ""
    datacenter: bool = True
    datacenter_facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    lab_hosts: frozenset[str] | None = None
    ssh_config: str = ""
    # What the stack is (its recorded outputs' kind, or its file's declaration): never
    # guessed from the backend or from what happens to be recorded.
    kind: Kind = "production"
    # The engine the stack's containers run on ("" = this machine's).
    docker_host: str = ""
    # Print a test page on a real desk's printer too (one sheet per desk per run): the
    # sign-off needs `printer.test_page_prints` passed, or a waiver that names it.
    print_test_pages: bool = False

    @property
    def in_lab(self) -> bool:
        """The hosts are the lab's containers on this machine's engine."""
        return self.kind == "lab"

    @property
    def stand_ins(self) -> bool:
        """The desks are the stack's containers (lab, staging): named after the stack, and
        with a PDF printer whose test page the checks may print."""
        return self.kind != "production"


def estate(options: Options, targets: Sequence[Target]) -> Estate:
    """The estate a run of `targets` checks, and where: recorded with every run."""
    return Estate(
        stack=options.stack,
        kind=options.kind,
        where={
            "backend": options.backend,
            "ssh_config": options.ssh_config,
            "ansible_inventory": options.ansible_inventory,
            "docker_host": options.docker_host,
            "hosts": {t.id: t.uri for t in targets},
        },
    )


def resolve_sites(
    inv: Inventory,
    phase: int,
    districts: Sequence[str] = (),
    units: Sequence[str] = (),
) -> list[Site]:
    """The phase's sites, narrowed to districts/units given by code or by name."""
    inv.phase(phase)  # an unknown phase fails with the phases the plan has
    district_codes = [_code(inv, d, "district") for d in districts]
    sites = inv.sites_in(phase, district_codes or None)
    if units:
        wanted = {_code(inv, u, "unit") for u in units}
        sites = [s for s in sites if s.code in wanted]
        if not sites:
            raise UsageError(
                f"no site of phase {phase} matches units {list(units)}: phase {phase} covers "
                f"{inv.phase(phase).level}-level sites (see `dvc-rollout inventory show`)"
            )
    return sorted(sites, key=lambda s: s.code)


def _code(inv: Inventory, query: str, kind: Literal["district", "unit"]) -> str:
    table: Mapping[str, object] = inv.districts if kind == "district" else inv.places
    if query in table:
        return query
    return inv.find(query, kind=kind).code


def host_uri(backend: Backend, host: str, options: Options) -> str:
    """The testinfra host spec for one host; the container name is `dvc-<stack>-<host>`."""
    if backend == "docker":
        return f"docker://dvc-{options.stack}-{host}"
    if backend == "ssh":
        if options.ssh_config:
            return f"ssh://{host}?ssh_config={quote(options.ssh_config)}"
        return f"ssh://{host}"
    if not options.ansible_inventory:
        raise UsageError(
            "--backend ansible needs --ansible-inventory PATH "
            "(write one with `dvc-rollout inventory export ansible`)"
        )
    return f"ansible://{host}?ansible_inventory={quote(options.ansible_inventory)}"


def expected_hostname(host: str, options: Options) -> str:
    """The name the PC reports: stand-in containers carry the stack prefix, real PCs do not."""
    return f"dvc-{options.stack}-{host}" if options.stand_ins else host


def terminal_targets(sites: Iterable[Site], phase: int, options: Options) -> list[Target]:
    """One target per terminal of each site (the inventory's `term-<code>-<n>`)."""
    found = []
    for site in sites:
        for host in site.terminal_hosts:
            if options.lab_hosts is not None and host not in options.lab_hosts:
                continue
            place = site.place
            found.append(
                Target(
                    kind="terminal",
                    host=host,
                    uri=host_uri(options.backend, host, options),
                    expected_hostname=expected_hostname(host, options),
                    site_code=site.code,
                    site_name=site.name,
                    unit=place.name,
                    unit_code=place.code,
                    district=place.district_name,
                    district_code=place.district_code,
                    phase=str(phase),
                    go_live=options.go_live,
                    officials=tuple(a.username for a in site.accounts),
                    portal_url=options.portal_url,
                    ntp_server=options.ntp_server,
                    print_test=options.stand_ins or options.print_test_pages,
                )
            )
    return found


def datacenter_targets(phase: int, options: Options) -> list[Target]:
    """The data-center hosts, one per role; they count as one pseudo-site `datacenter`.

    In a lab or staging only the desks run sshd: the data-center containers are reached
    through their Docker host (this machine's, or staging's over ssh) whichever backend
    the desks use. Production's are reached like its desks.
    """
    backend: Backend = "docker" if options.stand_ins else options.backend
    return [
        Target(
            kind="datacenter",
            host=role,
            uri=host_uri(backend, role, options),
            expected_hostname=expected_hostname(role, options),
            site_code=DATACENTER,
            site_name="Data center",
            unit=DATACENTER,
            unit_code=DATACENTER,
            phase=str(phase),
            go_live=options.go_live,
            role=role,
            facts=dict(options.datacenter_facts.get(role, {})),
        )
        for role in DATACENTER_ROLES
    ]


def write_targets(targets: Sequence[Target], path: Path) -> None:
    """Hand the selection to the pytest process (and its xdist workers) as a JSON file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(t) for t in targets], ensure_ascii=False, indent=1))


def read_targets(path: Path) -> list[Target]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read the check targets {path} ({exc}): run the checks with "
            "`dvc-rollout check`, which writes this file"
        ) from exc
    return [Target.from_dict(item) for item in raw]
