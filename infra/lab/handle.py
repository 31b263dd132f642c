"""A running lab as tests and tools see it: outputs, endpoints, names, credentials.

Built from `lab up`'s stack outputs so every later part (playbooks, exporters, checks,
sign-off) addresses the same lab the same way, whatever the stack is called and
whichever host ports the engine picked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvc_rollout.stack_outputs import StackOutputs
from infra.lab import engine, records


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str


@dataclass
class LabHandle:
    """One lab stack that is up and healthy.

    Attributes:
        stack: the stack name; every resource is named `dvc-<stack>-*` and labelled
            `dvc-rollout.stack=<stack>`.
        model: the recorded outputs (dvc_rollout/stack_outputs.py).
        outputs: the same as plain data (everything below comes from them).
        endpoints: host URLs on 127.0.0.1 — `nginx`, `portal`, `kannel_admin`,
            `kannel_sendsms`, `prometheus`, `alertmanager`, `webhook`, `ntp` (udp://), and
            `smsc_sim` (telco id -> URL).
        internal: URLs/hosts as containers reach each other (`http://dvc-<stack>-portal:8080`...).
        containers: role -> container name (`postgres`, `kannel`, `portal`, `nginx`,
            `prometheus`, `alertmanager`, `webhook`, `ntp`, `smsc_sim` {telco: name},
            `terminals` {term-<site>-<n>: name}).
        networks: `dmz`, `app`, `data`, `mgmt` -> name, `districts` {code: name}.
        sample: `districts` [{code, name, sites}], `telcos`, `sms_smsc`.
        credentials: `db_password`, `kannel_admin_password`, `kannel_status_password`,
            `sendsms_user`, `sendsms_password`, `portal_admin_token`.
        database: `name`, `user`.
    """

    stack: str
    model: StackOutputs
    outputs: dict[str, Any] = field(init=False)
    endpoints: dict[str, Any] = field(init=False)
    internal: dict[str, Any] = field(init=False)
    containers: dict[str, Any] = field(init=False)
    networks: dict[str, Any] = field(init=False)
    sample: dict[str, Any] = field(init=False)
    credentials: dict[str, Any] = field(init=False)
    database: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.outputs = o = self.model.model_dump(mode="json")
        self.endpoints = dict(o.get("endpoints") or {})
        self.internal = dict(o.get("internal_endpoints") or {})
        self.containers = dict(o.get("containers") or {})
        self.networks = dict(o.get("networks") or {})
        self.sample = dict(o.get("sample") or {})
        self.credentials = dict(o.get("credentials") or {})
        self.database = dict(o.get("database") or {})

    @property
    def terminals(self) -> dict[str, str]:
        """Inventory terminal host name -> container name."""
        return dict(self.containers.get("terminals") or {})

    @property
    def records_file(self) -> Path:
        """The synthetic officials' records `lab up` wrote (use as DVC_INVENTORY_RECORDS)."""
        return records.records_path(self.stack)

    def sampled_units(self) -> list[str]:
        """Every site (district and commune) code simulated in the lab."""
        return [s for d in self.sample.get("districts", []) for s in d["sites"]]

    def exec(
        self,
        container: str,
        command: list[str],
        user: str = "",
        environment: dict[str, str] | None = None,
    ) -> ExecResult:
        """Run a command in one of the lab's containers (no shell unless you ask for one)."""
        code, output = engine.run_in(
            container, command, self.model.docker_host, user=user, environment=environment
        )
        return ExecResult(code, output)

    def psql(self, sql: str) -> str:
        """Run one SQL statement in the citizen database as the application role."""
        result = self.exec(
            self.containers["postgres"],
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                self.database["user"],
                "-d",
                self.database["name"],
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            environment={"PGPASSWORD": str(self.credentials["db_password"])},
        )
        if result.exit_code != 0:
            raise RuntimeError(f"psql failed ({result.exit_code}): {result.output}")
        return result.output
