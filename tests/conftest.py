"""Session-wide fixtures shared by every part's tests."""

from __future__ import annotations

import os
import secrets
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    from infra.lab import credentials, engine, lifecycle

    stack = os.environ.get("DVC_TEST_LAB_STACK") or f"test-{os.getpid()}"
    try:
        outputs = lifecycle.up(stack, timeout=600, progress=lambda line: None)
        yield LabHandle(stack, outputs)
    finally:
        lifecycle.down(stack)
        left = engine.stack_resources(stack)
        shutil.rmtree(credentials.state_dir(stack), ignore_errors=True)
        if not left.empty:
            pytest.fail(f"lab down left resources of stack {stack}: {left}")


@dataclass(frozen=True)
class Hostile:
    """Inventory text as a hostile editor would type it, and what it would leave if it ran.

    `name` is a valid unit name (NFC, one line, at most 200 characters) holding Jinja2
    expressions and statements, shell substitutions, quotes, `|`, `;` and HTML; each
    piece that ran would create one of `markers`. A test passes `name` through a part
    of the rollout and checks that no marker exists and `name` arrived as typed.
    """

    markers: tuple[Path, ...]
    name: str

    def ran(self) -> list[str]:
        """The markers that exist: each is a piece of the name that ran as code."""
        return [str(m) for m in self.markers if m.exists()]


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    """A hostile unit name whose markers are files straight under /tmp (which exists on the
    controller and in every container; short paths keep the name within 200 characters)."""
    stem = f"/tmp/pw{secrets.token_hex(4)}-"
    m = tuple(Path(f"{stem}{i}") for i in range(4))
    name = (
        f"Xã {{{{ lookup('pipe','touch {m[0]}') }}}}{{% set x=lookup('pipe','touch {m[1]}') %}}"
        f"$(touch {m[2]})`touch {m[3]}`;\"'|<script>alert(1)</script>"
    )
    assert len(name) <= 200 and unicodedata.is_normalized("NFC", name), name
    yield Hostile(m, name)
    for marker in m:
        marker.unlink(missing_ok=True)
