"""Debian's Prometheus serving history backfilled with promtool: for the sign-off's bench and tests.

The history is written as OpenMetrics and turned into blocks with `promtool tsdb
create-blocks-from openmetrics`. Prometheus also scrapes the named jobs at the history's
interval, at an address where nothing listens: the series' values all come from the
backfill, and the targets API reports each job's scrape interval as a real one does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dvc_rollout.errors import EnvironmentProblem
from signoff.adapters import Prometheus
from signoff.evidence import EvidenceUnavailable


class StandError(EnvironmentProblem):
    """The stand could not be built or started; the message says why."""


def backfill(history: Path, data: Path) -> None:
    """Blocks for `data` from the OpenMetrics file `history`."""
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            raise StandError(f"{tool} is not installed: apt-get install prometheus")
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(history), str(data)],
        check=True,
        capture_output=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(data: Path, jobs: tuple[str, ...], interval_seconds: int) -> Iterator[str]:
    """Prometheus on `data`, its URL once ready and every job is among its targets."""
    config = data.parent / "prometheus.yml"
    log = data.parent / "prometheus.log"
    config.write_text(
        "global: {}\nscrape_configs:\n"
        + "".join(
            f"  - job_name: {job}\n    scrape_interval: {interval_seconds}s\n"
            '    static_configs: [{targets: ["127.0.0.1:1"]}]\n'
            for job in jobs
        )
    )
    port = _free_port()
    with log.open("w") as err:
        proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                    pass
                # Targets are discovered a few seconds after start.
                if len(Prometheus(url).scrape_intervals()) == len(jobs):
                    break
            except (OSError, EvidenceUnavailable):
                pass  # not up yet
            if time.monotonic() > deadline or proc.poll() is not None:
                raise StandError(f"prometheus did not get ready: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)
