"""The host a check belongs to, as the scheduler reads it from the check's node id."""

from __future__ import annotations

import pytest

from checks.scheduling import host_of


@pytest.mark.parametrize(
    ("nodeid", "host"),
    [
        ("checks/terminal/test_printer.py::test_queue_enabled[term-016-1]", "term-016-1"),
        (
            "checks/datacenter/test_listeners.py::test_listens[datacenter-postgres]",
            "datacenter-postgres",
        ),
        ("checks/terminal/test_pc.py::test_answers", "checks/terminal/test_pc.py::test_answers"),
    ],
)
def test_the_scope_of_a_check_is_its_host(nodeid: str, host: str) -> None:
    assert host_of(nodeid) == host
