"""The one contract between stages: a stack's outputs, typed, with the kind of estate it is.

The Pulumi program (`infra/__main__.py`) exports exactly these fields; `lab up` records
them in `<state>/<stack>/outputs.json` through `save`; the Ansible inventory, the check
selection and the sign-off read them back through `load` and nothing else. Each reader
asks the model what the stack is (`kind`) instead of guessing from the outputs' shape:
a production stack's outputs may list no container, and a check of it must never pick
the lab's.

- `lab`: the data center and simulated desks on this machine's Docker engine, reached
  through Docker.
- `staging`: the same parts on a data-center Docker host reached only over ssh
  (`docker_host: ssh://…`), images from its registry, desks configured and checked
  over ssh as production's are.
- `production`: the city's data-center host; desks are real PCs reached over ssh.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dvc_rollout import statedir
from dvc_rollout.errors import EnvironmentProblem, UsageError

Kind = Literal["lab", "staging", "production"]
KINDS: tuple[str, ...] = get_args(Kind)
OUTPUTS_FILE = "outputs.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Telco(_Strict):
    """One mobile operator's SMSC link as the program configured Kannel for it."""

    id: str
    name: str
    protocol: Literal["http", "smpp"]
    host: str = ""
    port: int = 0
    system_id: str = ""


class SampleDistrict(_Strict):
    code: str
    name: str
    sites: list[str]


class Sample(_Strict):
    """The districts and desks the stack covers (production: every district, no desk)."""

    districts: list[SampleDistrict]
    telcos: list[str]
    sms_smsc: str


class Networks(_Strict):
    dmz: str
    app: str
    data: str
    mgmt: str
    districts: dict[str, str]


class InternalEndpoints(_Strict):
    """Addresses as the stack's containers reach each other (names on its networks)."""

    nginx: str
    # The portal front over HTTPS, when the stack gave it a certificate (the lab's own CA).
    nginx_https: str = ""
    portal: str
    postgres: str
    kannel_admin: str
    kannel_sendsms: str
    prometheus: str
    alertmanager: str
    ntp: str


class Containers(_Strict):
    """Role -> container name on the stack's Docker host."""

    postgres: str
    kannel: str
    portal: str
    nginx: str
    prometheus: str
    alertmanager: str
    ntp: str
    webhook: str | None = None
    smtp: str | None = None
    # The lab's dead-man's switch (the recorder's image, hearing the watchdog).
    deadman: str | None = None
    smsc_sim: dict[str, str] = Field(default_factory=dict)
    terminals: dict[str, str] = Field(default_factory=dict)
    exporters: dict[str, str] = Field(default_factory=dict)


class Alerting(_Strict):
    """How the stack's Alertmanager reaches people: its SMS relay and its smarthost."""

    sms_relay_url: str
    smtp_smarthost: str = ""
    smtp_from: str = ""
    smtp_auth_username: str = ""
    smtp_require_tls: bool | None = None


class PrometheusShard(_Strict):
    """A shard Prometheus: it scrapes its availability replicas, the stack's (global)
    Prometheus federates it (exporters/federation.py)."""

    shard: str  # "i/n", as the replicas it scrapes were given it (`--shard i/n`)
    container: str
    target: str  # HOST:PORT as the global Prometheus reaches it
    scrape_targets: dict[str, list[str]]


class Database(_Strict):
    name: str
    user: str


class Credentials(_Strict):
    """The stack's secrets as `lab up` records them for the lab's own tools (0600 file)."""

    db_password: str
    kannel_admin_password: str
    kannel_status_password: str
    sendsms_user: str
    sendsms_password: str
    portal_admin_token: str


class StackOutputs(_Strict):
    """Everything one stage hands the next about a stack."""

    kind: Kind
    stack: str
    # Where the containers run: "" is this machine's engine, else e.g. ssh://deploy@host.
    docker_host: str = ""
    # The registry the stack's images are pulled from ("" = images built on the host).
    registry: str = ""
    # Host URLs published on the Docker host's 127.0.0.1 (smsc_sim: telco -> URL).
    endpoints: dict[str, Any]
    internal_endpoints: InternalEndpoints
    networks: Networks
    containers: Containers
    # Desk host name -> the address the controller reaches it at over ssh ("" or absent:
    # the host name itself, resolved by the estate's DNS or ssh_config).
    hosts: dict[str, str] = Field(default_factory=dict)
    telcos: list[Telco]
    # Where Alertmanager's default route posts ("" until on-call receivers are filled).
    webhook: str = ""
    # Where Alertmanager sends the always-firing watchdog: a dead-man's switch that pages
    # when the heartbeats stop ("" = none set: configure renders no heartbeat route).
    heartbeat_url: str = ""
    alerting: Alerting
    # Job -> [HOST:PORT] the stack's Prometheus scrapes itself; with shards (below) it is
    # the global server and federates the availability job from them instead.
    scrape_targets: dict[str, list[str]]
    prometheus_shards: list[PrometheusShard] = Field(default_factory=list)
    sms_probe_url: str
    monitoring_timings: dict[str, Any]
    sample: Sample
    database: Database
    credentials: Credentials | None = None

    @property
    def simulated(self) -> bool:
        """Containers stand in for the desks and simulators for the telcos (lab, staging)."""
        return self.kind != "production"

    @property
    def local_engine(self) -> bool:
        """The containers run on this machine's own engine, reached without ssh (the lab)."""
        return self.kind == "lab"

    @property
    def own_check_key(self) -> bool:
        """The desks' check account takes the stack's own key (made here), not the estate's."""
        return self.kind != "production"

    def sampled_sites(self) -> list[str]:
        """Every site (district and commune) the stack covers with a desk."""
        return [s for d in self.sample.districts for s in d.sites]

    def public(self) -> dict[str, Any]:
        """The outputs without the credentials, as JSON-ready data."""
        return self.model_dump(exclude={"credentials"}, mode="json")


def path(stack: str) -> Path:
    return statedir.stack_dir(stack) / OUTPUTS_FILE


def parse(data: Any, source: str) -> StackOutputs:
    """Validate outputs; a mismatch names the source and each wrong field."""
    try:
        return StackOutputs.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise UsageError(
            f"{source} does not hold a stack's outputs ({problems}): bring the stack up "
            "again (`dvc-rollout lab up --stack …`) to record them"
        ) from None


def save(stack: str, outputs: Mapping[str, Any]) -> StackOutputs:
    """Validate the program's outputs and record them (mode 0600: credentials inside)."""
    model = parse(dict(outputs), f"the outputs of stack {stack!r}")
    if model.stack != stack:
        raise UsageError(f"outputs of stack {model.stack!r} cannot be recorded as {stack!r}")
    target = path(stack)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(model.model_dump(mode="json"), handle, indent=2, ensure_ascii=False)
    os.replace(tmp, target)
    return model


def recorded(stack: str) -> StackOutputs | None:
    """The stack's recorded outputs, or None when it has none (never brought up here)."""
    where = path(stack)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"{where} is unreadable ({exc.strerror}): fix its permissions") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} is not JSON ({exc}): bring the stack up again") from None
    found = parse(data, str(where))
    if found.stack != stack:
        raise UsageError(f"{where} holds the outputs of stack {found.stack!r}, not {stack!r}")
    return found


def load(stack: str) -> StackOutputs:
    """The stack's recorded outputs; a stack never brought up here is an error saying so."""
    found = recorded(stack)
    if found is None:
        raise EnvironmentProblem(
            f"no outputs of stack {stack!r} at {path(stack)}: bring the stack up first "
            f"(`dvc-rollout lab up --stack {stack}`, or `make lab`), or pass the right --stack"
        )
    return found


def forget(stack: str) -> None:
    """Remove the record once the stack is down."""
    path(stack).unlink(missing_ok=True)


def declared_kind(stack: str) -> Kind:
    """The kind the stack's file declares (`dvc-rollout:kind` in Pulumi.<stack>.yaml).

    For a stack with no recorded outputs (e.g. production provisioned by the Pulumi CLI
    elsewhere): the declaration, never a guess from a name or a shape.
    """
    from infra.lab import stackfile

    value = stackfile.load(stack).get("dvc-rollout:kind")
    if value not in KINDS:
        raise UsageError(
            f"{stackfile.stack_file(stack)}: dvc-rollout:kind is {value!r}; "
            f"declare one of {', '.join(KINDS)}"
        )
    kind: Kind = value
    return kind


def kind_of(stack: str) -> Kind:
    """What the stack is: its recorded outputs' kind, else its file's declaration."""
    found = recorded(stack)
    return found.kind if found is not None else declared_kind(stack)
