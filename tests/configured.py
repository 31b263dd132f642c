"""The session lab after one `dvc-rollout configure`, shared by every module that needs it.

Configuring the lab is the longest step of the Docker tests (~100 s of Ansible on two
cores), and the readiness checks, the configure tests and the sign-off each need a
configured lab. They used to configure it three times, each with officials of its own;
they now share one run, with the officials `lab up` records for its sample
(`LabHandle.records_file`), and `tests/conftest.py` runs them first, before the drills
that rewrite Prometheus' and Alertmanager's config in place.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # the runner (and Ansible's) import is paid by the tests that configure
    from infra.lab.handle import LabHandle
    from playbooks import runner

#: The password of the lab's HTTP telco, from the environment as production's come (and
#: looked for in every artifact by the leak check).
SMSC_PASSWORD = "smsc-Pw-for-the-leak-check-7f3a"

#: The modules that use the configured lab, in the order they run (tests/conftest.py).
#: The configure tests first: their first run is the lab's first configure, and their
#: second run must meet what it left, not what the drills installed since.
CONFIGURED_MODULES = (
    "tests/playbooks/test_configure_lab.py",
    "tests/playbooks/test_hostile_names_lab.py",
    "tests/checks/test_readiness_lab.py",
    "tests/signoff/test_signoff_lab.py",
)


@dataclass
class ConfiguredSession:
    """The lab configured once, and how to configure it again the same way."""

    lab: LabHandle
    env: dict[str, str]
    first: runner.RunResult | None = None
    configured_at: float = 0.0
    runs: list[runner.RunResult] = field(default_factory=list)

    @property
    def records(self) -> Path:
        return self.lab.records_file

    def officials(self) -> dict[str, list[dict[str, Any]]]:
        """Site code -> the synthetic officials' accounts `lab up` recorded for it."""
        data = yaml.safe_load(self.records.read_text(encoding="utf-8"))
        found: dict[str, list[dict[str, Any]]] = {}
        for account in data["accounts"]:
            found.setdefault(str(account["unit"]), []).append(account)
        return found

    @contextmanager
    def environment(self) -> Iterator[None]:
        """The records and the SMSC password in os.environ, for a run in this process."""
        saved = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def configure(self, **options: Any) -> runner.RunResult:
        """One `configure` run on the lab with the session's records and secrets."""
        from playbooks import runner

        with self.environment():
            result = runner.run(runner.RunOptions(stack=self.lab.stack, **options))
        self.runs.append(result)
        return result


def configure_once(lab: LabHandle) -> ConfiguredSession:
    """The lab's first configure run, on every host, with the lab's records."""
    # An HTTP telco: the lab's SMPP simulator would refuse a bind with a password it lacks.
    telco = next(t.id for t in lab.model.telcos if t.protocol != "smpp")
    env = {
        "DVC_INVENTORY_RECORDS": str(lab.records_file),
        f"SMSC_{telco.upper().replace('-', '_')}_PASSWORD": SMSC_PASSWORD,
    }
    session = ConfiguredSession(lab, env)
    session.first = session.configure()
    session.configured_at = time.time()
    return session
