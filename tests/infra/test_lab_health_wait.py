"""`lab up` waits for health and, when a container never gets there, says which and why."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import images
from infra.lab import engine, health
from infra.lab.docker_mocks import DockerMocks
from infra.lab.errors import LabNotHealthy
from infra.lab.handle import LabHandle
from infra.lab.inprocess import run_program

pytestmark = pytest.mark.lab

PROGRAM = """
import pulumi
import pulumi_docker as docker
from infra.components import common

stack = pulumi.get_stack()
image = docker.RemoteImage("img", name="{tag}", keep_locally=True)
net = docker.Network("net", name=f"dvc-{{stack}}-net", labels=common.network_labels(stack))
docker.Container(
    "sick",
    name=f"dvc-{{stack}}-sick",
    image=image.image_id,
    networks_advanced=common.attach([net.name], f"dvc-{{stack}}-sick"),
    healthcheck=docker.ContainerHealthcheckArgs(
        tests=["CMD-SHELL", "echo never-ready; exit 1"], interval="1s", retries=1
    ),
    restart="unless-stopped",
    labels=common.container_labels(stack, "sick"),
)
"""


@pytest.fixture
def sick_stack(lab: LabHandle, tmp_path: Path) -> Iterator[str]:
    """A one-container stack whose healthcheck always fails (lab images already built)."""
    stack = f"test-sick-{os.getpid()}"
    package = tmp_path / "sickprog"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(PROGRAM.format(tag=images.image_tag("smsc-sim")))
    sys.path.insert(0, str(tmp_path))
    try:
        run_program(DockerMocks(stack), stack=stack, config={}, module="sickprog.__main__")
        yield stack
    finally:
        sys.path.remove(str(tmp_path))
        engine.remove_stack(stack)


def test_unhealthy_container_is_named_with_its_last_health_log(sick_stack: str) -> None:
    with pytest.raises(
        LabNotHealthy, match=rf"dvc-{sick_stack}-sick: running/unhealthy.*never-ready"
    ):
        health.wait_healthy(sick_stack, timeout=20, poll=0.5)
