"""The production path, for real, on CI's staging sample (Pulumi.staging-ci.yaml).

A staging host on this machine (a second engine reached only over ssh, its registry),
the images pushed to that registry and pulled by the host, the program deployed through
`ssh://`, the desks configured and checked over ssh, and a GO signed off on the staging
estate's own evidence. The machine's own engine is left as it was.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dvc_rollout import statedir
from dvc_rollout.cli import main
from dvc_rollout.stack_outputs import StackOutputs
from infra import lab_monitoring
from infra.images import distribution
from infra.lab import engine, lifecycle
from infra.staging import lifecycle as staging_host
from infra.staging.host import StagingHost, from_stack

pytestmark = pytest.mark.lab
STACK = "staging-ci"
MIN_WINDOW = 60  # seconds of evidence the sign-off judges, after configure settled


@dataclass
class Staging:
    host: StagingHost
    outputs: StackOutputs
    records: str
    configured_at: float


def _cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture(scope="module")
def staging() -> Iterator[Staging]:
    host = from_stack(STACK)
    try:
        staging_host.up(host)
        config, secret_keys = lifecycle.stack_config(STACK)
        distribution.push(lifecycle.needed_images(STACK, config, secret_keys), host.registry)
        outputs = lifecycle.up(STACK, timeout=600)
        records = str(statedir.stack_dir(STACK) / "records.yaml")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DVC_INVENTORY_RECORDS", records)
            assert _cli("configure", "--stack", STACK, "--quiet") == 0
        yield Staging(host, outputs, records, time.time())
    finally:
        others = from_stack("staging").run_dir.exists()
        staging_host.down(host, others_using_account=others)


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
    remote = engine.connect(host.docker_host)
    names = {c.name for c in remote.containers.list()}
    assert set(staging.outputs.containers.terminals.values()) <= names
    local = {c.name for c in engine.client().containers.list(all=True)}
    assert not names & local  # the stack lives on the staging engine only
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0


def test_every_image_comes_from_the_registry(staging: Staging) -> None:
    remote = engine.connect(staging.host.docker_host)
    for container in remote.containers.list(filters={"label": f"dvc-rollout.stack={STACK}"}):
        assert container.attrs["Config"]["Image"].startswith(f"{staging.host.registry}/")


def test_desks_are_checked_over_ssh_and_the_estate_signs_off_go(staging: Staging) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVC_INVENTORY_RECORDS", staging.records)
        for phase in ("1", "2"):
            assert _cli("check", "--phase", phase, "--stack", STACK, "--backend", "ssh") == 0
        ready_at = staging.configured_at + lab_monitoring.settle_seconds() + MIN_WINDOW
        time.sleep(max(0.0, ready_at - time.time()))
        window = int(time.time() - staging.configured_at - lab_monitoring.settle_seconds())
        for phase in ("1", "2"):
            verdict = _cli("signoff", "--phase", phase, "--stack", STACK, "--window", f"{window}s")
            assert verdict == 0, f"phase {phase}: NO-GO on the staging estate"
