"""The staging path as bounded steps: each command in its own session, within a budget.

The staging test (tests/staging/test_staging_lab.py) runs the `dvc-rollout` commands an
operator runs (`make staging`) through `Steps`. Each runs in a session of its own with a
time budget; past it the whole process group (ansible-playbook, ssh, pytest workers under
it) is killed and the step fails naming itself, its budget and the end of its output,
kept in a log file. A stalled ssh channel to the staging engine (the Docker SDK's ssh
transport reads its pipe with no timeout), registry push or Ansible run then fails in
minutes instead of hanging CI until it is killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dvc_rollout.errors import DvcRolloutError

TAIL_LINES = 40
KILL_WAIT = 30  # seconds to reap a killed group's leader (SIGKILL cannot be ignored)


class StepFailed(DvcRolloutError):
    """A step failed or ran past its budget; the message says which, why, and its output."""


def dvc_rollout() -> list[str]:
    """The `dvc-rollout` of the Python running the tests (the project's venv)."""
    beside = Path(sys.executable).with_name("dvc-rollout")
    found = str(beside) if beside.exists() else shutil.which("dvc-rollout")
    if not found:
        raise StepFailed(f"no dvc-rollout beside {sys.executable} or on PATH: run `make venv`")
    return [found]


@dataclass
class Steps:
    """Runs steps of `program`, each within its budget and what is left of `deadline`."""

    logs: Path
    budgets: Mapping[str, float]
    program: list[str] = field(default_factory=dvc_rollout)
    deadline: float = float("inf")  # an overall budget (time.monotonic()), if any
    count: int = 0

    def run(
        self, step: str, *args: str, kind: str = "", env: Mapping[str, str] | None = None
    ) -> float:
        """Run `program args` as `step` (budget of `kind`, else of `step`); its seconds."""
        self.count += 1
        log = self.logs / f"{self.count:02d}-{step.replace(' ', '-')}.log"
        budget = min(self.budgets[kind or step], self.deadline - time.monotonic())
        if budget <= 0:
            raise StepFailed(f"{step}: no time left of the overall budget to start it")
        command = " ".join([Path(self.program[-1]).name, *args])
        started = time.monotonic()
        with log.open("wb") as out:
            child = subprocess.Popen(
                [*self.program, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
            code: int | None = None
            try:
                code = child.wait(timeout=budget)
            except subprocess.TimeoutExpired:
                pass
            finally:  # on time, late or interrupted: nothing of it is left running
                kill_group(child)
        took = time.monotonic() - started
        if code is None:
            raise StepFailed(
                f"{step}: still running after {budget:.0f} s (its budget), killed with its "
                f"process group: `{command}`; its output ({log}) ends:\n{tail(log)}"
            )
        print(f"step {step!r}: exit {code} in {took:.1f} s ({log})", file=sys.stderr)
        if code != 0:
            raise StepFailed(
                f"{step}: `{command}` exited {code} after {took:.0f} s; "
                f"its output ({log}) ends:\n{tail(log)}"
            )
        return took


def kill_group(child: subprocess.Popen[bytes]) -> None:
    """Kill the child's whole session and reap the child."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=KILL_WAIT)


def tail(log: Path) -> str:
    """The log's `error:` lines (a command's one-line reason), then its last lines."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [line for line in lines if "error:" in line][-5:]
    shown = [*errors, "--- last lines:", *lines[-TAIL_LINES:]] if errors else lines[-TAIL_LINES:]
    return "\n".join(shown) or "(no output)"
