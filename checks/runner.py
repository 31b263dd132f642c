"""Run the checks over a selection with pytest(-xdist) and summarise readiness per site.

pytest runs in a child process so a crash, a killed worker or Ctrl-C cannot take the
store down with it: the child's plugin appends every result as it arrives, and the
run stays `incomplete` unless the child saw every check through.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.results import Estate, Result, Store
from checks.selection import Target, write_targets

CHECKS_DIR = Path(__file__).resolve().parent
REPO_ROOT = CHECKS_DIR.parent
SUITES = ("terminal", "datacenter")


@dataclass
class SiteVerdict:
    """How one site (or the data center) came out of a run."""

    site_code: str
    unit: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failing: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if self.errors or not (self.passed or self.skipped):
            return "error"
        return "passed"

    @property
    def ready(self) -> bool:
        return self.status == "passed"


@dataclass
class RunSummary:
    run_id: int
    exit_status: int
    complete: bool
    sites: list[SiteVerdict]

    @property
    def ready(self) -> bool:
        return self.complete and all(s.ready for s in self.sites)


# The check session loads only the plugins it uses (its child runs with
# PYTEST_DISABLE_PLUGIN_AUTOLOAD): every xdist worker would otherwise import each
# installed plugin, e.g. hypothesis's (half a second of CPU per worker for nothing).
PLUGINS = ("-p", "xdist.plugin", "-p", "testinfra.plugin")


def child_env() -> dict[str, str]:
    """The environment `pytest_command` is meant to run in (it names its plugins itself)."""
    return {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def pytest_command(
    targets_file: Path, db: Path, run_id: int, workers: str, extra: Sequence[str] = ()
) -> list[str]:
    """The child pytest command line; `workers` "0" runs serially, else `-n workers`.

    Run it with `child_env()`.
    """
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(str(CHECKS_DIR / s) for s in SUITES),
        "-c",
        str(CHECKS_DIR / "pytest.ini"),
        "--rootdir",
        str(REPO_ROOT),
        *PLUGINS,
        "-p",
        "checks.plugin",
        "--dvc-targets",
        str(targets_file),
        "--dvc-db",
        str(db),
        "--dvc-run",
        str(run_id),
    ]
    if workers not in ("0", ""):
        # checks.plugin schedules by host (checks/scheduling.py), a kind of loadscope.
        command += ["-n", workers, "--dist", "loadscope", "--max-worker-restart", "0"]
    return [*command, *extra]


def run(
    targets: Sequence[Target],
    selection: dict[str, Any],
    *,
    store: Store,
    workers: str = "auto",
    quiet: bool = False,
    extra: Sequence[str] = (),
    estate: Estate | None = None,
    docker_host: str = "",
) -> RunSummary:
    """Check every target once; results land in the store whatever happens to the child.

    The run records `estate`, the estate its hosts belong to; without one its results are
    evidence for no sign-off. `docker_host` is the engine its `docker://` hosts are on
    ("" = this machine's, or `$DOCKER_HOST`).
    """
    run_id = store.start_run({**selection, "workers": workers, "hosts": len(targets)}, estate)
    targets_file = store.path.parent / "check-targets" / f"run-{run_id}.json"
    write_targets(targets, targets_file)
    command = pytest_command(targets_file, store.path, run_id, workers, extra)
    env = child_env()
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    output = subprocess.DEVNULL if quiet else None
    with subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=output) as child:
        try:
            status = child.wait()
        except KeyboardInterrupt:
            status = child.wait()
            raise
    return summarise(store, run_id, targets, status)


def summarise(
    store: Store, run_id: int, targets: Sequence[Target], exit_status: int = 0
) -> RunSummary:
    """Per-site verdicts of one run; a selected site with no result counts as an error."""
    verdicts: dict[str, SiteVerdict] = {}
    for t in targets:
        verdicts.setdefault(t.site_code, SiteVerdict(t.site_code, t.unit))
    for r in store.results(run_id):
        add(verdicts.setdefault(r.site_code, SiteVerdict(r.site_code, r.unit)), r)
    run = store.run(run_id)
    return RunSummary(
        run_id, exit_status, run is not None and run.status == "complete", list(verdicts.values())
    )


def add(verdict: SiteVerdict, result: Result) -> None:
    if result.outcome == "passed":
        verdict.passed += 1
    elif result.outcome == "skipped":
        verdict.skipped += 1
    else:
        if result.outcome == "failed":
            verdict.failed += 1
        else:
            verdict.errors += 1
        verdict.failing.append(f"{result.check_id}@{result.host}")
        verdict.messages.append(f"{result.check_id} ({result.host}): {result.message}")
