"""Fixtures for testing the lab images for real: built once, run on a throwaway network.

Everything these fixtures create carries the labels `dvc-rollout.test=images` and
`dvc-rollout.test-run=<uuid>`, and is removed by those labels at the end, so parallel
runs never remove each other's containers.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from infra import images

RUN_ID = uuid.uuid4().hex[:10]
LABELS = {"dvc-rollout.test": "images", "dvc-rollout.test-run": RUN_ID}
LABEL_FILTER = [f"{key}={value}" for key, value in LABELS.items()]
SECOND = 1_000_000_000  # Docker healthcheck durations are in nanoseconds.


def _remove_everything(client: Any) -> None:
    for container in client.containers.list(all=True, filters={"label": LABEL_FILTER}):
        container.remove(force=True, v=True)
    for network in client.networks.list(filters={"label": LABEL_FILTER}):
        network.remove()


@pytest.fixture(scope="session")
def images_built() -> dict[str, str]:
    """Every lab image, built once per run (a no-op when the tags already exist)."""
    return images.build()


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="module")
def images_net(docker_client: Any) -> Iterator[str]:
    """A user-defined network (container names resolve on it), removed with its containers."""
    name = f"dvc-images-test-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    docker_client.networks.create(name, driver="bridge", labels=LABELS)
    try:
        yield name
    finally:
        _remove_everything(docker_client)


class Kit:
    """What the image tests need: start containers on the test network, wait, and talk HTTP."""

    def __init__(self, client: Any, tags: dict[str, str], network: str) -> None:
        self.client = client
        self.tags = tags
        self.network = network

    def run(
        self,
        image: str,
        role: str,
        *,
        env: dict[str, str] | None = None,
        ports: tuple[str, ...] = (),
        files: dict[str, bytes] | None = None,
        health: str | None = None,
    ) -> Any:
        """Start an image with its contract health command; the container name is returned
        in `.name` and resolves on the test network.

        Ports are published on 127.0.0.1 only (ephemeral host ports); `files` are
        uploaded before the start, as the Pulumi program does.
        """
        command = health if health is not None else images.HEALTH_COMMANDS.get(image)
        container = self.client.containers.create(
            self.tags[image],
            name=f"dvc-test-{role}-{RUN_ID}",
            environment=env or {},
            labels=LABELS,
            network=self.network,
            ports={port: ("127.0.0.1", None) for port in ports},
            healthcheck=(
                {
                    "test": ["CMD-SHELL", command],
                    "interval": SECOND,
                    "timeout": 10 * SECOND,
                    "retries": 300,
                }
                if command
                else None
            ),
        )
        for path, data in (files or {}).items():
            folder, _, filename = path.rpartition("/")
            container.put_archive(folder or "/", _tar(filename, data))
        container.start()
        return container

    @staticmethod
    def wait_healthy(container: Any, timeout: float = 180) -> None:
        """Wait for Docker's health status; fail with the container's log if it never comes."""
        deadline = time.monotonic() + timeout
        status = "unknown"
        while time.monotonic() < deadline:
            container.reload()
            state = container.attrs["State"]
            status = state.get("Health", {}).get("Status", state["Status"])
            if status == "healthy":
                return
            if state["Status"] in ("exited", "dead"):
                break
            time.sleep(0.5)
        log = container.logs(tail=40).decode("utf-8", "replace")
        pytest.fail(f"{container.name} is {status}, not healthy; its log ends:\n{log}")

    @staticmethod
    def host_url(container: Any, port: str) -> str:
        """`http://127.0.0.1:<published port>` of a container port."""
        container.reload()
        binding = container.attrs["NetworkSettings"]["Ports"][port][0]
        if binding["HostIp"] != "127.0.0.1":
            pytest.fail(f"{container.name} published {port} on {binding['HostIp']}")
        return f"http://127.0.0.1:{binding['HostPort']}"

    @staticmethod
    def http(
        method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """One HTTP request; returns (status, body text) for every status, errors included."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8")

    @staticmethod
    def poll(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
        """Call `check` until it returns something truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.5)
        pytest.fail(f"timed out waiting for {what}")

    @staticmethod
    def sh(container: Any, command: str) -> tuple[int, str]:
        """Run a shell command in a container; (exit code, output)."""
        code, output = container.exec_run(["sh", "-c", command])
        return int(code), output.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def kit(docker_client: Any, images_built: dict[str, str], images_net: str) -> Kit:
    return Kit(docker_client, images_built, images_net)


def _tar(filename: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(filename)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
