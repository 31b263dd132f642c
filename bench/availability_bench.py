"""Benchmark: the availability exporter against Debian's blackbox_exporter, in one run.

Both probe the same 2,676 health endpoints served by a local nginx on 127.0.0.1, over HTTP
and then over HTTPS (one TLS endpoint, an ECDSA P-256 certificate from a CA made for the
run, which both verify; a fresh connection and a full handshake per probe on both sides).
The exporter sweeps on its own; blackbox_exporter is driven as Prometheus drives it, one
/probe request per target. CPU comes from /proc for each process (the driver's own CPU is
reported apart), so the figures compare the work each prober does per probe.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from bench.blackbox_stand import BlackboxStand, ProbeDriver
from bench.nginx_stand import NginxStand, free_port, wait_for_port
from bench.procstat import cpu_seconds, memory_bytes
from checks.export import write
from dvc_rollout.errors import EnvironmentProblem
from exporters.availability.config import SWEEP_MARGIN_SECONDS, config_from_mapping
from exporters.availability.targets import build_targets, labels_from_inventory, render_targets_file
from infra.lab import tls

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SWEEP_LOG = re.compile(r"sweep (\d+): (\d+)/(\d+) up in ([0-9.]+)s")
TARGETS = {"cpu_ratio": 0.5, "sweep_seconds": 1.0, "rss_bytes": 100 * 2**20, "scrape_seconds": 0.1}


def scrape_seconds(port: int, path: str, times: int, gzip: bool = False) -> dict[str, float]:
    """Wall time of full GETs of `path` (fresh connection each), median and worst."""
    taken: list[float] = []
    size = 0
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    for _ in range(times):
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", path, headers=headers)
            size = len(connection.getresponse().read())
        finally:
            connection.close()
        taken.append(time.perf_counter() - started)
    return {"median": statistics.median(taken), "max": max(taken), "bytes": size}


def run_exporter(
    workdir: Path,
    reuse: bool,
    args: argparse.Namespace,
    config: Path,
    targets: Path,
    name: str = "",
) -> dict[str, Any]:
    """Run the exporter for warm-up plus `args.sweeps` sweeps; measure CPU, RSS and scrapes."""
    port = free_port()
    log_path = workdir / f"exporter-{name or ('reuse' if reuse else 'fresh')}.log"
    command = [
        sys.executable, "-m", "exporters.availability", "--listen", f"127.0.0.1:{port}",
        "--config", str(config), "--targets", str(targets), "--interval", str(args.interval),
        "--timeout", str(args.timeout), "--concurrency", str(args.concurrency),
        "--reuse-connections" if reuse else "--no-reuse-connections",
    ]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
    try:
        wait_for_port(port)
        wait_for_sweeps(log_path, 2, args.interval * 2 + 30)  # warm-up: imports, first connections
        cpu_start = cpu_seconds(process.pid)
        time.sleep(args.interval * args.sweeps)
        cpu_used = cpu_seconds(process.pid) - cpu_start
        sweeps = wait_for_sweeps(log_path, 2 + args.sweeps, args.interval * 2 + 10)[
            2 : 2 + args.sweeps
        ]
        memory = memory_bytes(process.pid)
        scrape = scrape_seconds(port, "/metrics", args.scrapes)
        scrape_gzip = scrape_seconds(port, "/metrics", args.scrapes, gzip=True)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    probes = sum(total for _, total, _ in sweeps)
    return {
        "connections": "reuse" if reuse else "fresh",
        "sweeps": len(sweeps),
        "probes": probes,
        "up": sum(up for up, _, _ in sweeps),
        "cpu_seconds": cpu_used,
        "cpu_per_probe_seconds": cpu_used / probes,
        "sweep_seconds": [seconds for _, _, seconds in sweeps],
        "rss_bytes": memory["rss"],
        "peak_rss_bytes": memory["peak_rss"],
        "scrape_seconds": scrape,
        "scrape_gzip_seconds": scrape_gzip,
    }


def run_https(
    workdir: Path,
    args: argparse.Namespace,
    nginx: NginxStand,
    targets: Path,
    labels: list[dict[str, str]],
    ca_cert: str,
) -> dict[str, Any]:
    """Both probers against the stand's TLS endpoint, verifying the run's CA, fresh
    connections (a full handshake per probe) on both sides."""
    ca_file = workdir / "ca.pem"
    ca_file.write_text(ca_cert, encoding="ascii")
    mapping = {
        "host": nginx.tls_host,
        "default": {"url": "https://{host}/dvc/{unit_code}/{service_code}/health"},
        "probe": {"tls_ca_file": str(ca_file)},
    }
    config = workdir / "availability-https.yml"
    config.write_text(json.dumps(mapping), encoding="utf-8")  # JSON is YAML
    urls = [t.url for t in build_targets(labels, config_from_mapping(mapping))]
    # A full handshake per probe: a sweep of every endpoint takes several seconds on
    # 2 cores (both probers ran about 400 handshakes a second in the same stand), more
    # than the HTTP run's 2-second timeout allows. Targets a sweep does not reach are
    # reported down (by design), which would make the CPU comparison one of unequal work.
    slower = argparse.Namespace(
        **{**vars(args), "interval": args.https_interval, "timeout": args.https_timeout}
    )
    exporter = run_exporter(workdir, False, slower, config, targets, name="https")
    return {
        "settings": {"interval": slower.interval, "timeout": slower.timeout},
        "exporter": exporter,
        "blackbox": run_blackbox(urls, slower, ca_cert),
    }


def wait_for_sweeps(log_path: Path, count: int, within: float) -> list[tuple[int, int, float]]:
    """(up, targets, seconds) of the first `count` sweeps in the exporter's log."""
    deadline = time.monotonic() + within
    while True:
        found = [
            (int(m[2]), int(m[3]), float(m[4])) for m in SWEEP_LOG.finditer(log_path.read_text())
        ]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise EnvironmentProblem(
                f"the exporter logged {len(found)} of {count} sweeps; see {log_path}"
            )
        time.sleep(0.1)


def run_blackbox(urls: list[str], args: argparse.Namespace, ca_cert: str = "") -> dict[str, Any]:
    """Drive blackbox_exporter through warm-up plus `args.sweeps` rounds of /probe calls."""
    with BlackboxStand(args.timeout, ca_cert) as blackbox:
        pid = blackbox.process.pid if blackbox.process else 0
        driver = ProbeDriver(blackbox.base, urls, args.concurrency)

        async def rounds() -> tuple[list[Any], float, float]:
            try:
                await driver.sweep(args.timeout * 2)
                cpu_start, own_start = cpu_seconds(pid), time.process_time()
                done = [await driver.sweep(args.timeout * 2) for _ in range(args.sweeps)]
                return done, cpu_seconds(pid) - cpu_start, time.process_time() - own_start
            finally:
                driver.close()

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            sweeps, cpu_used, driver_cpu = runner.run(rounds())
        memory = memory_bytes(pid)
        scrape = scrape_seconds(blackbox.port, "/metrics", args.scrapes)
    probes = len(urls) * len(sweeps)
    return {
        "version": blackbox_version(),
        "sweeps": len(sweeps),
        "probes": probes,
        "up": sum(s.succeeded for s in sweeps),
        "cpu_seconds": cpu_used,
        "cpu_per_probe_seconds": cpu_used / probes,
        "driver_cpu_seconds": driver_cpu,
        "driver_cpu_per_probe_seconds": driver_cpu / probes,
        "sweep_seconds": [s.wall_seconds for s in sweeps],
        "rss_bytes": memory["rss"],
        "peak_rss_bytes": memory["peak_rss"],
        "scrape_seconds": scrape,
    }


def blackbox_version() -> str:
    done = subprocess.run(
        ["prometheus-blackbox-exporter", "--version"], capture_output=True, text=True, check=False
    )
    first = (done.stdout or done.stderr).splitlines()
    return first[0] if first else "unknown"


def https_verdict(exporter: dict[str, Any], blackbox: dict[str, Any]) -> dict[str, Any]:
    """CPU per probe over HTTPS, fresh connections on both sides: the same ≤ 0.5× target."""
    ratio = exporter["cpu_per_probe_seconds"] / blackbox["cpu_per_probe_seconds"]
    return {"value": ratio, "target": TARGETS["cpu_ratio"], "met": ratio <= TARGETS["cpu_ratio"]}


def answered_verdict(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every probe of every run came back up: the stand serves every endpoint, so a probe
    that failed (a sweep that ran out of time, a refused handshake) means the runs did
    unequal work and their CPU per probe cannot be compared."""
    share = min(run["up"] / run["probes"] for run in runs)
    return {"value": share, "target": 1.0, "met": share >= 1.0, "at_least": True}


def verdicts(exporter: dict[str, Any], blackbox: dict[str, Any]) -> dict[str, Any]:
    """Each target of the issue with the measured figure and whether it is met."""
    ratio = exporter["cpu_per_probe_seconds"] / blackbox["cpu_per_probe_seconds"]
    sweep = max(exporter["sweep_seconds"])
    rss = exporter["peak_rss_bytes"]
    scrape = exporter["scrape_seconds"]["max"]
    return {
        "cpu_per_probe_ratio": {"value": ratio, "target": TARGETS["cpu_ratio"],
                                "met": ratio <= TARGETS["cpu_ratio"]},
        "sweep_seconds_max": {"value": sweep, "target": TARGETS["sweep_seconds"],
                              "met": sweep <= TARGETS["sweep_seconds"]},
        "peak_rss_bytes": {"value": rss, "target": TARGETS["rss_bytes"],
                           "met": rss <= TARGETS["rss_bytes"]},
        "scrape_seconds_max": {"value": scrape, "target": TARGETS["scrape_seconds"],
                               "met": scrape <= TARGETS["scrape_seconds"]},
    }  # fmt: skip


def table(report: dict[str, Any]) -> str:
    """The figures side by side, per probe in microseconds, then the targets."""
    runs = [(f"exporter ({r['connections']})", r) for r in report["exporter"]]
    runs.append(("blackbox_exporter", report["blackbox"]))
    https = report.get("https")
    if https:
        runs.append(("exporter (https, fresh)", https["exporter"]))
        runs.append(("blackbox (https)", https["blackbox"]))
    blackbox_cpu = report["blackbox"]["cpu_per_probe_seconds"]
    lines = [
        f"{'prober':<22}{'CPU µs/probe':>13}{'× blackbox':>11}{'sweep s (med/max)':>19}"
        f"{'peak RSS MB':>12}{'scrape ms':>10}{'up/probes':>14}",
    ]
    for name, run in runs:
        cpu = run["cpu_per_probe_seconds"]
        peer = https["blackbox"] if https and "https" in name else None
        blackbox_cpu = (peer or report["blackbox"])["cpu_per_probe_seconds"]
        sweeps = run["sweep_seconds"]
        lines.append(
            f"{name:<22}{cpu * 1e6:>13.1f}{cpu / blackbox_cpu:>11.2f}"
            f"{statistics.median(sweeps):>10.3f}/{max(sweeps):<8.3f}"
            f"{run['peak_rss_bytes'] / 2**20:>12.1f}{run['scrape_seconds']['max'] * 1e3:>10.1f}"
            f"{str(run['up']) + '/' + str(run['probes']):>14}"
        )
    driver = report["blackbox"]["driver_cpu_per_probe_seconds"]
    lines.append(
        f"(driver of blackbox /probe calls, not counted above: {driver * 1e6:.1f} µs/probe)"
    )
    lines.append("")
    for name, verdict in report["verdicts"].items():
        mark = "met" if verdict["met"] else "NOT MET"
        sense = "≥" if verdict.get("at_least") else "≤"
        lines.append(
            f"{name:<22}{verdict['value']:>14.4g}  target {sense} {verdict['target']:g}  {mark}"
        )
    return "\n".join(lines)


def write_results(report: dict[str, Any]) -> Path:
    """Save the report under bench/results/ with a timestamped name, never overwriting."""
    return write(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", "availability", "json", RESULTS
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/availability", description=__doc__)
    parser.add_argument("--sweeps", type=int, default=5, help="measured sweeps per prober")
    parser.add_argument("--interval", type=float, default=3.0, help="exporter sweep interval")
    parser.add_argument("--timeout", type=float, default=2.0, help="probe timeout, both probers")
    parser.add_argument("--concurrency", type=int, default=64, help="probes in flight, both")
    parser.add_argument("--scrapes", type=int, default=10, help="timed /metrics scrapes")
    parser.add_argument("--no-reuse-run", action="store_true", help="skip the reuse-mode run")
    parser.add_argument("--no-https", action="store_true", help="skip the HTTPS comparison")
    parser.add_argument(
        "--https-interval",
        type=float,
        default=12.0,
        help="exporter sweep interval for the HTTPS comparison",
    )
    parser.add_argument(
        "--https-timeout",
        type=float,
        default=10.0,
        help="probe timeout, both probers, for the HTTPS comparison",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.sweeps <= 50 or not 1 <= args.scrapes <= 100:
        parser.error("--sweeps must be 1..50 and --scrapes 1..100")
    for interval, timeout, flag in (
        (args.interval, args.timeout, "--interval"),
        (args.https_interval, args.https_timeout, "--https-interval"),
    ):
        if timeout <= 0 or interval < timeout + SWEEP_MARGIN_SECONDS:
            parser.error(
                f"{flag} must be at least its timeout plus {SWEEP_MARGIN_SECONDS:g}s "
                "(the exporter's sweep margin)"
            )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    labels = labels_from_inventory()
    ca = tls.make_ca("DVC bench CA")
    server = tls.issue(ca, ["127.0.0.1"])
    https: dict[str, Any] = {}
    with (
        NginxStand(tls=(server.cert, server.key)) as nginx,
        tempfile.TemporaryDirectory(prefix="dvc-bench-") as tmp,
    ):
        workdir = Path(tmp)
        config = workdir / "availability.yml"
        config.write_text(f"host: {nginx.host}\n", encoding="utf-8")
        targets = workdir / "targets.json"
        targets.write_text(render_targets_file(labels), encoding="utf-8")
        urls = [t.url for t in build_targets(labels, config_from_mapping({"host": nginx.host}))]
        modes = [False] if args.no_reuse_run else [False, True]
        exporter_runs = [run_exporter(workdir, reuse, args, config, targets) for reuse in modes]
        blackbox = run_blackbox(urls, args)
        if not args.no_https:
            https = run_https(workdir, args, nginx, targets, labels, ca.cert)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                 "load_average_1m_at_end": os.getloadavg()[0]},
        "settings": {"targets": len(urls), "sweeps": args.sweeps, "interval": args.interval,
                     "timeout": args.timeout, "concurrency": args.concurrency},
        "exporter": exporter_runs,
        "blackbox": blackbox,
        "verdicts": verdicts(exporter_runs[0], blackbox),
    }  # fmt: skip
    if https:
        report["https"] = https
        report["verdicts"]["https_cpu_per_probe_ratio"] = https_verdict(
            https["exporter"], https["blackbox"]
        )
    compared = [
        *exporter_runs,
        blackbox,
        *([https["exporter"], https["blackbox"]] if https else []),
    ]
    report["verdicts"]["every_probe_up"] = answered_verdict(compared)
    print(table(report))
    print(f"\nwrote {write_results(report).relative_to(ROOT)}")
    return 0 if all(v["met"] for v in report["verdicts"].values()) else 1
