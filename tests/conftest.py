"""Session-wide fixtures shared by every part's tests."""

from __future__ import annotations

import os
import secrets
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvc_rollout import stack_outputs
from dvc_rollout.stack_outputs import StackOutputs
from infra.lab.handle import LabHandle
from tests.configured import CONFIGURED_MODULES, ConfiguredSession, configure_once

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
    # The modules that share the configured lab run first, in CONFIGURED_MODULES' order
    # (tests/configured.py): the drills after them rewrite the monitoring config in place.
    # A stable sort: every other test keeps its order.
    first = {module: n for n, module in enumerate(CONFIGURED_MODULES)}
    items.sort(key=lambda item: first.get(item.nodeid.split("::")[0], len(first)))


@pytest.fixture(autouse=True)
def _no_engine_over_ssh(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test not marked `docker` cannot reach a Docker engine over ssh either.

    `make check` points DOCKER_HOST nowhere, which covers this machine's engine; a stack
    whose outputs name `ssh://…` (staging's) would still be dialled, and answered
    whenever someone's staging host is up here: such a test then passed or failed on
    what else ran on the machine. Without the docker mark every engine is unreachable.
    """
    if request.node.get_closest_marker("docker"):
        return
    from infra.lab import engine
    from infra.lab.errors import LabEngineProblem

    def unreachable(host: str = "", timeout: int = 120) -> object:
        raise LabEngineProblem(
            f"the Docker engine of {host or 'this machine'} does not answer: this test is "
            "not marked docker (tests/conftest.py), so it reaches no engine"
        )

    monkeypatch.setattr(engine, "connect", unreachable)


#: The desks' admin key a test stack's program is given (staging's are made by `lab up`).
TEST_ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestOnlyNotAKey test-admin"


@pytest.fixture(scope="session")
def program_outputs() -> Callable[..., StackOutputs]:
    """A stack's real outputs, no engine: its program run in-process under recording mocks.

    `program_outputs(stack, file=None)` runs the program with the config of
    `Pulumi.<file or stack>.yaml` (test secrets, a test admin key) as stack `stack`, and
    parses what it exports through the contract (dvc_rollout/stack_outputs.py). Runs are
    cached per (stack, file); nothing is written to the state folder.
    """
    from infra.lab import stackfile
    from infra.lab.inprocess import run_program
    from infra.lab.recording import RecordingMocks
    from infra.stackconfig import SECRET_KEYS

    cache: dict[tuple[str, str], StackOutputs] = {}

    def outputs(stack: str, file: str | None = None) -> StackOutputs:
        key = (stack, file or stack)
        if key not in cache:
            config = stackfile.load(file or stack)
            config.update({f"dvc-rollout:{k}": f"not-a-real-{k}" for k in SECRET_KEYS})
            if config.get("dvc-rollout:kind") == "staging":  # `lab up` makes staging's key
                config.setdefault("dvc-rollout:deskAdminKey", TEST_ADMIN_KEY)
            run = run_program(
                RecordingMocks(),
                stack=stack,
                config=config,
                secret_keys=[f"dvc-rollout:{k}" for k in SECRET_KEYS],
            )
            cache[key] = stack_outputs.parse(run.outputs, f"the program of stack {stack}")
        return cache[key]

    return outputs


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
    from dvc_rollout import statedir
    from infra.lab import engine, lifecycle

    stack = os.environ.get("DVC_TEST_LAB_STACK") or f"test-{os.getpid()}"
    try:
        outputs = lifecycle.up(stack, timeout=600, progress=lambda line: None)
        yield LabHandle(stack, outputs)
    finally:
        lifecycle.down(stack)
        left = engine.stack_resources(stack)
        shutil.rmtree(statedir.stack_dir(stack), ignore_errors=True)
        if not left.empty:
            pytest.fail(f"lab down left resources of stack {stack}: {left}")


@pytest.fixture(scope="session")
def configured_lab(lab: LabHandle) -> ConfiguredSession:
    """The session lab after its first `dvc-rollout configure` (tests/configured.py)."""
    return configure_once(lab)


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
