"""Benchmark: `dvc-rollout check` throughput in sites per second, serial against parallel.

Checks every terminal a lab stack runs (at least 12; e.g. `dvc-rollout lab up --sample
016,017,018 --units-per-district 3` gives 3 districts x (district site + 3 communes))
with the same runner `dvc-rollout check` uses, first serially (`-n 0`), then with each
worker count asked for, each `--repeat` times in turn (the median is reported). Results
go to a throwaway store, not the real one.

`--backend ssh` reaches the desks the way production does, over ssh as the check account
(the lab's desks run sshd; `dvc-rollout configure` authorised the stack's key), and
`--rtt-ms N` puts a simulated WAN link of that round-trip time between the checks and
every desk (bench/wan_link.py), so the figures can be read for an estate whose desks are
a district or commune link away; the README gives each.

The lab shares the machine's cores with the checks: commands run inside its terminals,
the Docker engine relays them. So each run also records the CPU seconds the whole
machine spent busy, less what the idle lab uses (measured first). From the serial run's
CPU seconds per site follows the ceiling of any parallel run on this machine: spare
cores / CPU per site. A speed-up above (spare cores x serial wall time / serial CPU
time) cannot come from parallelism on these cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import inventory
from bench.procstat import machine_busy_seconds
from checks import lab, sshconfig
from checks.export import write
from checks.results import Store
from checks.runner import run
from checks.selection import Backend, Options, Target, terminal_targets
from dvc_rollout.errors import EnvironmentProblem, UsageError

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
ALL_SITES = 434


def lab_targets(stack: str, backend: Backend = "docker", ssh_config: str = "") -> list[Target]:
    """Every terminal the stack runs, each checked against its site's first phase."""
    records = os.environ.get("DVC_INVENTORY_RECORDS") or None
    inv = inventory.load(records=records)
    env = lab.environment(stack)
    targets: list[Target] = []
    for site in sorted(inv.sites.values(), key=lambda s: s.code):
        phase = site.phases[0]
        options = Options(
            backend=backend,
            stack=stack,
            portal_url=env.portal_url,
            ntp_server=env.ntp_server,
            go_live=inv.phase(phase).go_live.isoformat(),
            lab_hosts=env.terminals,
            ssh_config=ssh_config,
            kind="lab",
        )
        targets += terminal_targets([site], phase, options)
    return targets


@contextlib.contextmanager
def wan_link(stack: str, rtt_ms: float) -> Iterator[str]:
    """An ssh_config reaching the stack's desks through a simulated WAN link (or directly
    at 0 ms); the relays stop when the block ends."""
    desks = sshconfig.desk_addresses(lab.environment(stack).containers)
    with tempfile.TemporaryDirectory(prefix="dvc-wan-") as tmp, contextlib.ExitStack() as link:
        if rtt_ms > 0:
            desks = link.enter_context(_relays(desks, rtt_ms))
        yield str(sshconfig.write_lab_config(stack, desks, Path(tmp) / "ssh_config"))


@contextlib.contextmanager
def _relays(
    desks: dict[str, tuple[str, int]], rtt_ms: float
) -> Iterator[dict[str, tuple[str, int]]]:
    """bench/wan_link in a child process; each desk's address on 127.0.0.1 through it."""
    specs = [f"{h}={a}:{p}" for h, (a, p) in desks.items()]
    relay = subprocess.Popen(
        [sys.executable, "-m", "bench.wan_link", "--rtt-ms", str(rtt_ms), *specs],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert relay.stdout is not None and relay.stdin is not None
    try:
        ports = json.loads(relay.stdout.readline() or "{}")
        if set(ports) != set(desks):
            raise EnvironmentProblem(f"bench/wan_link did not start (exit {relay.poll()})")
        yield {h: ("127.0.0.1", int(p)) for h, p in ports.items()}
    finally:
        relay.stdin.close()
        relay.wait(timeout=10)


def idle_load(seconds: float = 10.0) -> float:
    """CPU seconds per second the machine (the idle lab included) spends busy unasked."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / seconds


def measure(targets: list[Target], workers: str, store: Store, idle: float) -> dict[str, Any]:
    """One check run over every target, as `dvc-rollout check` makes it."""
    sites = len({t.site_code for t in targets})
    load_before = os.getloadavg()[0]
    busy_before = machine_busy_seconds()
    started = time.perf_counter()
    summary = run(targets, {"bench": True}, store=store, workers=workers, quiet=True)
    seconds = time.perf_counter() - started
    busy = machine_busy_seconds() - busy_before - idle * seconds
    outcomes = Counter(r.outcome for r in store.results(summary.run_id))
    return {
        "workers": workers,
        "sites": sites,
        "hosts": len(targets),
        "checks": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "ready_sites": sum(s.ready for s in summary.sites),
        "complete": summary.complete,
        "seconds": round(seconds, 3),
        "sites_per_second": round(sites / seconds, 3),
        "cpu_seconds_per_site": round(busy / sites, 3),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/readiness", description=__doc__)
    parser.add_argument("--stack", default="lab", help="lab stack whose terminals to check")
    parser.add_argument("--workers", default="2,3,4,6", help="parallel worker counts to try")
    parser.add_argument("--min-sites", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each worker count")
    parser.add_argument(
        "--backend", choices=("docker", "ssh"), default="docker", help="how desks are reached"
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        help="with --backend ssh: round-trip time of a simulated WAN link to every desk",
    )
    args = parser.parse_args(argv)
    if args.rtt_ms and args.backend != "ssh":
        parser.error("--rtt-ms needs --backend ssh (Docker's exec does not cross a network)")
    with contextlib.ExitStack() as stack:
        ssh_config = ""
        if args.backend == "ssh":
            ssh_config = stack.enter_context(wan_link(args.stack, args.rtt_ms))
        return bench(args, lab_targets(args.stack, args.backend, ssh_config))


def bench(args: argparse.Namespace, targets: list[Target]) -> int:
    sites = len({t.site_code for t in targets})
    if sites < args.min_sites:
        raise UsageError(
            f"stack {args.stack!r} runs terminals at {sites} site(s), fewer than {args.min_sites}: "
            f"bring up a bigger sample, e.g. `dvc-rollout lab up --stack {args.stack} "
            "--sample 016,017,018 --units-per-district 3` and `dvc-rollout configure`"
        )
    counts = ["0", *(w.strip() for w in args.workers.split(","))]
    idle = idle_load()
    link = f", simulated WAN link {args.rtt_ms:g} ms round trip" if args.rtt_ms else ""
    print(f"backend {args.backend}{link}", flush=True)
    print(f"idle lab: {idle:.2f} CPU s/s busy of {os.cpu_count()} cores", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {w: [] for w in counts}
    with tempfile.TemporaryDirectory(prefix="dvc-readiness-bench-") as tmp:
        store = Store(Path(tmp) / "results.sqlite")
        for _ in range(args.repeat):
            for workers in counts:
                row = measure(targets, workers, store, idle)
                runs[workers].append(row)
                print(
                    f"-n {row['workers']:<5} {row['sites']} sites, {row['checks']} checks in "
                    f"{row['seconds']:7.1f}s = {row['sites_per_second']:.2f} sites/s, "
                    f"{row['cpu_seconds_per_site']:.2f} CPU s/site "
                    f"(ready {row['ready_sites']}/{row['sites']})",
                    flush=True,
                )
    rows = [_median(runs[w]) for w in counts]
    serial = rows[0]
    for row in rows:
        row["speedup_vs_serial"] = round(row["sites_per_second"] / serial["sites_per_second"], 2)
        row["minutes_for_434_sites"] = round(ALL_SITES / row["sites_per_second"] / 60, 1)
    best = max(rows, key=lambda r: r["sites_per_second"])
    spare = (os.cpu_count() or 1) - idle
    ceiling = spare / serial["cpu_seconds_per_site"]
    print(f"{'workers':>8} {'sites/s':>8} {'x serial':>9} {'CPU s/site':>11} {'434 sites':>10}")
    for row in rows:
        print(
            f"{row['workers']:>8} {row['sites_per_second']:>8.2f} "
            f"{row['speedup_vs_serial']:>8.2f}x {row['cpu_seconds_per_site']:>11.2f} "
            f"{row['minutes_for_434_sites']:>8.1f}m"
        )
    print(
        f"ceiling on this machine: {spare:.2f} spare cores / {serial['cpu_seconds_per_site']:.2f} "
        f"CPU s per site = {ceiling:.2f} sites/s "
        f"({ceiling / serial['sites_per_second']:.2f}x serial)"
    )
    report = {
        "benchmark": "readiness",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "stack": args.stack,
        "backend": args.backend,
        "rtt_ms": args.rtt_ms,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "repeat": args.repeat,
        "idle_cpu_seconds_per_second": round(idle, 3),
        "runs": rows,
        "all_runs": runs,
        "ceiling": {
            "sites_per_second": round(ceiling, 2),
            "speedup_vs_serial": round(ceiling / serial["sites_per_second"], 2),
        },
        "best": {
            "workers": best["workers"],
            "sites_per_second": best["sites_per_second"],
            "speedup_vs_serial": best["speedup_vs_serial"],
            "minutes_for_434_sites": best["minutes_for_434_sites"],
        },
        "targets": {
            "speedup_vs_serial": 4.0,
            "sites_per_second": 2.0,
            "met": best["speedup_vs_serial"] >= 4.0 and best["sites_per_second"] >= 2.0,
        },
    }
    path = write(json.dumps(report, indent=2) + "\n", "readiness", "json", RESULTS_DIR)
    print(f"written {path.relative_to(ROOT)}")
    return 0


def _median(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (a whole run, so its figures belong together)."""
    ordered = sorted(rows, key=lambda r: r["sites_per_second"])
    return dict(ordered[(len(ordered) - 1) // 2])
