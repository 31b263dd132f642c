"""Federation for real, without Docker: two availability replicas (`--shard 1/2`, `2/2`),
a shard Prometheus for each and a global one federating both, configured by the renderers
the stacks use. The global server holds every pair exactly once, the shards' recording
rules and its own, evidence the sign-off counts as complete; and when one district's
services go down, its alerts fire on the global server for that district only (the
shards alert no one).

Bounded: every wait has a deadline and fails at once, with the processes' logs, when
one of them exits."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

import inventory
from exporters import federation, rule_files, scrape_config
from exporters.availability.targets import render_targets_file, shard_of
from infra.sample import choose
from infra.stackconfig import availability_targets
from signoff.adapters import Prometheus, PrometheusMetrics
from signoff.evidence import EvidenceUnavailable, Window

INTERVAL = 1  # seconds: scrapes and rule evaluations
SWEEP = ("--interval", "2", "--timeout", "1")  # the replicas' sweeps (timeout + 0.5 s margin)
FOR_DIVISOR = 16  # alerts' `for:` divided, as the lab does (DvcDistrictOutage 2m -> 7.5 s)
WINDOW = 8  # seconds of evidence the sign-off judges
DOWN_DISTRICT = "017"
#: The alerts on the availability job's series, all the global server's.
AVAILABILITY_ALERTS = (
    "DvcServiceDown",
    "DvcDistrictOutage",
    "DvcDistrictErrorBudgetBurn",
    "DvcServiceErrorBudgetBurn",
    "DvcExporterStale",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Portal(http.server.BaseHTTPRequestHandler):
    """Every pair's health URL (`/dvc/<unit>/<service>/health`) answers as the portal does:
    up, or 503 for the units in `down`."""

    down: ClassVar[set[str]] = set()
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's client expects of nginx

    def do_GET(self) -> None:
        unit = self.path.split("/")[2] if self.path.startswith("/dvc/") else ""
        failing = unit in self.down
        body = b"unavailable" if failing else b'{"status": "ok"}'
        self.send_response(503 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


class _PortalServer(http.server.ThreadingHTTPServer):
    # The replicas open a connection per pair at once; the default backlog (5) drops the
    # rest, whose SYN is retried after the probes' 1 s timeout.
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def _portal(down: set[str]) -> Iterator[str]:
    handler = type("Portal", (_Portal,), {"down": down})
    server = _PortalServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class _Running:
    """The processes of the test, each with its log: a wait fails at once if one exits."""

    procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = field(default_factory=dict)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} ({log})\n{log.read_text(errors='replace')[-1500:]}"
            for name, (_, log) in self.procs.items()
            if log.exists()
        )

    def wait(self, what: str, ready: Callable[[], bool], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            gone = [n for n, (p, _) in self.procs.items() if p.poll() is not None]
            if gone:
                pytest.fail(f"waiting for {what}: {', '.join(gone)} exited\n{self.logs()}")
            try:
                if ready():
                    return
            except (OSError, EvidenceUnavailable):
                pass  # not answering yet
            time.sleep(0.3)
        pytest.fail(f"{what}: not within {timeout:.0f} s\n{self.logs()}")


@contextmanager
def _running() -> Iterator[_Running]:
    running = _Running()
    try:
        yield running
    finally:
        for proc, _ in running.procs.values():
            proc.terminate()
        for proc, _ in running.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _start(running: _Running, name: str, argv: list[str], tmp: Path) -> None:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    running.procs[name] = (proc, log)


def _prometheus(
    tmp: Path, name: str, config: dict[str, Any], tier: federation.Tier
) -> tuple[list[str], str]:
    """argv and URL of one Prometheus with `config` and the rule files of its tier."""
    rules = tmp / f"{name}-rules"
    rules.mkdir()
    for file, text in rule_files.rule_files(FOR_DIVISOR, tier=tier).items():
        (rules / file).write_text(text, encoding="utf-8")
    config["rule_files"] = [f"{rules}/*.yml"]
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    port = _free_port()
    argv = [
        "prometheus",
        f"--config.file={path}",
        f"--storage.tsdb.path={tmp / f'{name}-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return argv, f"http://127.0.0.1:{port}"


def _query(url: str, promql: str) -> list[tuple[dict[str, str], float]]:
    return Prometheus(url, timeout=10).query(promql)


def _firing(url: str, alert: str) -> set[tuple[str, ...]]:
    """(district_code, unit_code, service) of each firing `alert` on the server at `url`."""
    found = _query(url, f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
    keys = ("district_code", "unit_code", "service")
    return {tuple(m.get(k, "") for k in keys) for m, _ in found}


def test_two_shards_under_a_global_server_hold_every_pair_once_and_alert_per_district(
    tmp_path: Path,
) -> None:
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is missing: `apt-get install prometheus` (infra/packages/test.txt)")
    inv = inventory.load()
    # CI's staging sample (Pulumi.staging-ci.yaml): two districts, their desks and one commune
    sample = choose(inv, ["016", DOWN_DISTRICT], 0, {"016": ["00376"]})
    pairs = availability_targets(inv, sample, lab_parts=True)
    targets = tmp_path / "targets.json"
    targets.write_text(render_targets_file(pairs), encoding="utf-8")
    interval = f"{INTERVAL}s"
    down: set[str] = set()
    with ExitStack() as stack:
        portal = stack.enter_context(_portal(down))
        running = stack.enter_context(_running())
        (tmp_path / "availability.yml").write_text(f"host: {portal}\n", encoding="utf-8")
        replicas, shards = [], []
        for i in (1, 2):
            port = _free_port()
            replicas.append(f"127.0.0.1:{port}")
            _start(
                running,
                f"availability-{i}",
                [sys.executable, "-m", "exporters.availability", "--listen",
                 f"127.0.0.1:{port}", "--config", str(tmp_path / "availability.yml"),
                 "--targets", str(targets), *SWEEP, "--shard", f"{i}/2"],
                tmp_path,
            )  # fmt: skip
            config = scrape_config.render(
                {"availability": [replicas[-1]]}, scrape_interval=interval
            )
            argv, url = _prometheus(tmp_path, f"shard-{i}", config, "shard")
            shards.append(url)
            _start(running, f"shard-{i}", argv, tmp_path)
        config = scrape_config.render(
            {}, scrape_interval=interval, federate=[u.removeprefix("http://") for u in shards]
        )
        argv, global_url = _prometheus(tmp_path, "global", config, "global")
        _start(running, "global", argv, tmp_path)

        wanted = {(p["unit_code"], p["service"]) for p in pairs}

        def every_pair_federated() -> bool:
            found = _query(global_url, "dvc_service_up == 1")
            return {(m["unit_code"], m["service"]) for m, _ in found} == wanted

        running.wait("the global server holds every pair up", every_pair_federated)
        started = time.monotonic()

        # Each pair exactly once, each from one of the two replicas, both replicas used.
        once = _query(global_url, "count by (unit_code, service) (dvc_service_up)")
        assert len(once) == len(wanted) and all(v == 1 for _, v in once)
        per_replica = dict(
            (m["instance"], v)
            for m, v in _query(global_url, "count by (instance) (dvc_service_up)")
        )
        assert sorted(per_replica) == sorted(replicas) and sum(per_replica.values()) == len(wanted)
        # Each shard server holds only its own replica's pairs.
        for url, replica in zip(shards, replicas, strict=True):
            held = {m["instance"] for m, _ in _query(url, "dvc_service_up")}
            assert held == {replica}
        # The shards' recording rules, federated; the global server's own on top of them.
        running.wait(
            "the shards' per-pair ratios reach the global server",
            lambda: len(_query(global_url, "dvc:service_availability:ratio_1h")) == len(wanted),
        )
        running.wait(
            "the global server records the districts' ratios",
            lambda: len(_query(global_url, "dvc:district_availability:ratio_1h")) == 2,
        )
        # Whether a shard server, or a replica behind it, answers: both seen from the global.
        up = _query(global_url, 'up{job="availability"}')
        instances = {m["instance"] for m, v in up if v == 1}
        assert instances == {*replicas, *(u.removeprefix("http://") for u in shards)}

        # The sign-off reads the global server as it reads a single one: full coverage.
        time.sleep(max(0.0, WINDOW + 2 * INTERVAL - (time.monotonic() - started)))
        units = sorted({u for u, _ in wanted})
        metrics = PrometheusMetrics(global_url)
        window = Window(text=f"{WINDOW}s", seconds=WINDOW)
        found = {
            **metrics.availability(1, units, datetime.now(UTC), window),
            **metrics.availability(2, units, datetime.now(UTC), window),
        }
        assert set(found) == wanted
        short = {k: (s.samples, s.expected_samples) for k, s in found.items() if s.coverage < 0.9}
        assert not short, f"pairs the sign-off would find short of samples: {short}"
        assert all(s.ratio == 1.0 for s in found.values())
        for alert in AVAILABILITY_ALERTS:  # (others fire: no Kannel, database, … here)
            assert not _firing(global_url, alert), alert

        # One district goes down: its pairs are spread over both shards, its alerts fire on
        # the global server, for that district and its pairs only.
        failing = {
            (p["unit_code"], p["service"]) for p in pairs if p["district_code"] == DOWN_DISTRICT
        }
        assert {shard_of(p, 2) for p in pairs if p["district_code"] == DOWN_DISTRICT} == {1, 2}
        down.update(u for u, _ in failing)
        running.wait(
            f"DvcDistrictOutage firing for district {DOWN_DISTRICT} on the global server",
            lambda: bool(_firing(global_url, "DvcDistrictOutage")),
        )
        assert {d for d, _, _ in _firing(global_url, "DvcDistrictOutage")} == {DOWN_DISTRICT}
        running.wait(
            "DvcServiceDown firing for each of the district's pairs on the global server",
            lambda: {(u, s) for _, u, s in _firing(global_url, "DvcServiceDown")} == failing,
        )
        assert {d for d, _, _ in _firing(global_url, "DvcServiceDown")} == {DOWN_DISTRICT}
        assert not _firing(global_url, "DvcExporterStale")  # the replicas still report
        for url in shards:  # the shards evaluate no alert: only the global server notifies
            assert not _query(url, "ALERTS")
