"""How xdist hands out checks: every check of one host to the same worker.

A worker keeps a host's connection (its kept shell) and what it learned about the host
for all of that host's checks; spread over workers, every worker would open a
connection to every host. xdist's `--dist loadgroup` was meant for this, but with
pytest 9.2 its group marks are silently ignored (it renames node ids, which pytest no
longer reads back: pytest-dev/pytest-xdist#1386). So the check session brings its own
scheduler: `loadscope` whose scope is the host, read from the check's parameter id
(`…::test_queue_enabled[term-016-1]` -> `term-016-1`).
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling


def host_of(nodeid: str) -> str:
    """The target id a check's node id ends with, or the node id if it names none."""
    if nodeid.endswith("]") and "[" in nodeid:
        return nodeid[nodeid.rindex("[") + 1 : -1]
    return nodeid


class HostScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's load-scope scheduling with one scope per host."""

    def _split_scope(self, nodeid: str) -> str:
        return host_of(nodeid)


def make(config: Any, log: Any) -> HostScheduling:
    return HostScheduling(config, log)
