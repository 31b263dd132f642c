"""The production path, for real, on CI's staging sample (Pulumi.staging-ci.yaml).

A staging host on this machine (a second engine reached only over ssh, its registry),
the images pushed to that registry and pulled by the host, the program deployed through
`ssh://`, the desks configured and checked over ssh, and a GO signed off on the staging
estate's own evidence. The machine's own engine is left as it was.

Bounded: every step is the `dvc-rollout` command an operator runs (`make staging`), run
by `infra.staging.steps.Steps` within its budget, killed with its process group past it, and
failing with the step's name and the end of its output. The setup as a whole has a
budget too; a host left by an earlier killed run is removed first, and the teardown
(`staging down`, bounded as well) always runs.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dvc_rollout import stack_outputs, statedir
from dvc_rollout.stack_outputs import StackOutputs
from infra import lab_monitoring
from infra.lab import engine
from infra.staging import daemon
from infra.staging.host import StagingHost, from_stack
from infra.staging.steps import Steps

pytestmark = pytest.mark.lab
STACK = "staging-ci"
MIN_WINDOW = 60  # seconds of evidence the sign-off judges, after configure settled
#: Each step's budget in seconds: a few times its time on this 2-core machine under a
#: loaded `make test`, so a slow run passes and a stalled one fails in minutes.
BUDGETS = {
    "staging down": 120,
    "staging up": 180,
    "lab build --push": 600,
    "lab up": 420,
    "configure": 420,
    "check": 240,
    "signoff": 180,
}
#: The setup's budget (host up to desks configured): each step gets at most what is left.
SETUP_BUDGET = 1200
ENGINE_TIMEOUT = 30  # seconds for one Docker API call to the staging engine over ssh


def _leftovers(host: StagingHost) -> bool:
    """Whether an earlier (killed) run left this host's runtime, data or bridge behind."""
    bridge = subprocess.run(
        ["ip", "link", "show", host.bridge], capture_output=True, timeout=10, check=False
    )
    return host.run_dir.exists() or host.data_root.parent.exists() or bridge.returncode == 0


@dataclass
class Staging:
    host: StagingHost
    outputs: StackOutputs
    records: str
    configured_at: float
    steps: Steps


@pytest.fixture(scope="module")
def staging() -> Iterator[Staging]:
    host = from_stack(STACK)
    # Kept in the state folder (pytest's own tmp keeps only its last 3 runs, xdist's too).
    logs = statedir.root() / "test-logs" / f"{STACK}-{time.strftime('%Y%m%dT%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)
    steps = Steps(logs, BUDGETS)
    records = str(statedir.stack_dir(STACK) / "records.yaml")
    try:
        if _leftovers(host):
            steps.run("staging down", "staging", "down", "--stack", STACK)
        steps.deadline = time.monotonic() + SETUP_BUDGET
        steps.run("staging up", "staging", "up", "--stack", STACK)
        # The engine stopped (a crash, a reboot) and `staging up` again: the fault that
        # deleted this machine's docker0 when the engine restarted over its kept data.
        daemon.stop(host)
        steps.run("staging up", "staging", "up", "--stack", STACK)
        docker0 = subprocess.run(["ip", "link", "show", "docker0"], capture_output=True, timeout=10)
        assert docker0.returncode == 0, "restarting the staging host deleted docker0"
        steps.run("lab build --push", "lab", "build", "--push", "--stack", STACK)
        health = str(BUDGETS["lab up"] - 60)  # health waits leave a minute to deploy
        steps.run("lab up", "lab", "up", "--stack", STACK, "--timeout", health)
        outputs = stack_outputs.load(STACK)
        env = {"DVC_INVENTORY_RECORDS": records}
        steps.run("configure", "configure", "--stack", STACK, "--quiet", env=env)
        steps.deadline = float("inf")  # the tests' own steps have their budgets alone
        yield Staging(host, outputs, records, time.time(), steps)
    finally:
        steps.deadline = float("inf")
        steps.run("staging down", "staging", "down", "--stack", STACK)


def test_the_host_is_reached_only_over_ssh_and_leaves_the_machines_engine_alone(
    staging: Staging,
) -> None:
    host = staging.host
    # The deploy key opens the engine's API and nothing else: no command runs.
    shell = subprocess.run(
        ["ssh", "-p", str(host.ssh_port), f"{host.user}@127.0.0.1", "id"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert "uid=" not in shell.stdout
    remote = engine.connect(host.docker_host, timeout=ENGINE_TIMEOUT)
    names = {c.name for c in remote.containers.list()}
    assert set(staging.outputs.containers.terminals.values()) <= names
    local = {c.name for c in engine.connect(timeout=ENGINE_TIMEOUT).containers.list(all=True)}
    assert not names & local  # the stack lives on the staging engine only
    docker0 = subprocess.run(["ip", "link", "show", "docker0"], capture_output=True, timeout=10)
    assert docker0.returncode == 0


def test_every_image_comes_from_the_registry(staging: Staging) -> None:
    remote = engine.connect(staging.host.docker_host, timeout=ENGINE_TIMEOUT)
    found = remote.containers.list(filters={"label": f"dvc-rollout.stack={STACK}"})
    assert found
    for container in found:  # created from the image's id: its tags say where it came from
        tags = remote.images.get(container.attrs["Image"]).tags
        assert tags and all(t.startswith(f"{staging.host.registry}/") for t in tags), tags


def test_desks_are_checked_over_ssh_and_the_estate_signs_off_go(staging: Staging) -> None:
    env = {"DVC_INVENTORY_RECORDS": staging.records}
    for phase in ("1", "2"):
        staging.steps.run(
            f"check phase {phase}",
            "check", "--phase", phase, "--stack", STACK, "--backend", "ssh",
            kind="check", env=env,
        )  # fmt: skip
    # The evidence window: from configure's settling to now, at least MIN_WINDOW long
    # (a bounded sleep: settle_seconds() is a few scrape intervals).
    ready_at = staging.configured_at + lab_monitoring.settle_seconds() + MIN_WINDOW
    time.sleep(min(max(0.0, ready_at - time.time()), MIN_WINDOW + 300))
    window = int(time.time() - staging.configured_at - lab_monitoring.settle_seconds())
    for phase in ("1", "2"):
        staging.steps.run(
            f"signoff phase {phase}",
            "signoff", "--phase", phase, "--stack", STACK, "--window", f"{window}s",
            kind="signoff", env=env,
        )  # fmt: skip
