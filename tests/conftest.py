"""Session-wide fixtures shared by every part's tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from infra.lab.handle import LabHandle

#: Fixtures that reach the Docker engine (tests/infra/conftest.py): a test using one needs Docker.
DOCKER_FIXTURES = frozenset({"docker_client", "images_built", "images_net", "kit"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `docker` every test that needs the engine, so `make check` can leave them out.

    A `lab` test needs Docker by definition; so does any test using a fixture of
    DOCKER_FIXTURES. `make check` runs `-m "not docker"` with DOCKER_HOST pointing
    nowhere, so a test that reaches the engine some other way fails there instead of
    being selected quietly.
    """
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("lab") or uses & DOCKER_FIXTURES:
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def lab() -> Iterator[LabHandle]:
    """ONE real lab for the whole run, torn down at the end with nothing left behind.

    The stack is `test-<pid>` (ephemeral 127.0.0.1 ports, the lab stack file's default
    sample: 2 districts x (district desk + 3 commune desks)), brought up with the same
    code as `dvc-rollout lab up`, so it is healthy when yielded. The object yielded is
    an `infra.lab.handle.LabHandle`: `.stack`, `.endpoints` (host URLs), `.internal`
    (container-to-container URLs), `.containers` (role -> name, incl. `terminals` and
    `smsc_sim`), `.networks`, `.sample`, `.credentials`, `.database`, and helpers
    `.exec(container, argv)`, `.psql(sql)`, `.sampled_units()`, `.terminals`.
    At teardown `lab down` runs and the fixture fails if any container, network or
    volume with the stack's label remains.
    """
    from infra.lab import engine, lifecycle, secrets

    stack = os.environ.get("DVC_TEST_LAB_STACK") or f"test-{os.getpid()}"
    try:
        outputs = lifecycle.up(stack, timeout=600, progress=lambda line: None)
        yield LabHandle(stack, outputs)
    finally:
        lifecycle.down(stack)
        left = engine.stack_resources(stack)
        shutil.rmtree(secrets.state_dir(stack), ignore_errors=True)
        if not left.empty:
            pytest.fail(f"lab down left resources of stack {stack}: {left}")
