"""Spread every check over the selected hosts: one test per (check, host).

Terminal checks (checks/terminal/) run on every selected terminal; data-center checks
(checks/datacenter/) run on the data-center hosts, narrowed by a module's `ROLES`.
"""

from __future__ import annotations

from typing import Any

import pytest
import testinfra

from checks import dockershell, sshshell
from checks.hosts import HostUnreachable, cached_silence
from checks.plugin import targets_of
from checks.selection import Target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    kind = metafunc.definition.path.parent.name
    roles = getattr(metafunc.module, "ROLES", None)
    targets = [
        t
        for t in targets_of(metafunc.config)
        if t.kind == kind and (roles is None or t.role in roles)
    ]
    # The id is the host: checks/scheduling.py sends all of a host's checks to one worker.
    metafunc.parametrize("target", [pytest.param(t, id=t.id) for t in targets])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Drop checks with no host to run on (e.g. no data-center host selected)."""
    items[:] = [i for i in items if isinstance(_params(i).get("target"), Target)]


def _params(item: pytest.Item) -> dict[str, Any]:
    callspec = getattr(item, "callspec", None)
    return dict(callspec.params) if callspec is not None else {}


_HOSTS: dict[str, Any] = {}
dockershell.install()
sshshell.install()


def pytest_sessionfinish() -> None:
    """Close the kept shells: their ssh clients must not outlive the run."""
    sshshell.close_all()
    dockershell.close_all()


@pytest.fixture
def any_host(target: Target) -> Any:
    """The testinfra host for this target, answering or not (for the `pc.answers` check)."""
    if target.uri not in _HOSTS:
        _HOSTS[target.uri] = testinfra.get_host(target.uri)
    return _HOSTS[target.uri]


@pytest.fixture
def host(any_host: Any, target: Target) -> Any:
    """The testinfra host, once it has answered; otherwise every check errors saying so."""
    reason = cached_silence(target.uri, any_host)
    if reason:
        raise HostUnreachable(f"{target.host} does not answer ({reason}): see check pc.answers")
    return any_host
