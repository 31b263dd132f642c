"""Benchmark: `dvc-rollout check` throughput in sites per second, serial against parallel.

Checks every terminal a lab stack runs (at least 12; e.g. `dvc-rollout lab up --sample
016,017,018 --units-per-district 3` gives 3 districts x (district site + 3 communes))
with the same runner `dvc-rollout check` uses, first serially (`-n 0`), then with each
worker count asked for. Results go to a throwaway store, not the real one. The machine's
load average is recorded because the lab shares its cores with everything else.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import inventory
from checks import lab
from checks.results import Store
from checks.runner import run
from checks.selection import Options, Target, terminal_targets

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
ALL_SITES = 434


def lab_targets(stack: str) -> list[Target]:
    """Every terminal the stack runs, each checked against its site's first phase."""
    records = os.environ.get("DVC_INVENTORY_RECORDS") or None
    inv = inventory.load(records=records)
    env = lab.environment(stack)
    targets: list[Target] = []
    for site in sorted(inv.sites.values(), key=lambda s: s.code):
        phase = site.phases[0]
        options = Options(
            stack=stack,
            portal_url=env.portal_url,
            ntp_server=env.ntp_server,
            go_live=inv.phase(phase).go_live.isoformat(),
            lab_hosts=env.terminals,
        )
        targets += terminal_targets([site], phase, options)
    return targets


def measure(targets: list[Target], workers: str, store: Store) -> dict[str, Any]:
    sites = len({t.site_code for t in targets})
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    summary = run(targets, {"bench": True}, store=store, workers=workers, quiet=True)
    seconds = time.perf_counter() - started
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
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/readiness", description=__doc__)
    parser.add_argument("--stack", default="lab", help="lab stack whose terminals to check")
    parser.add_argument("--workers", default="auto,4,8", help="parallel worker counts to try")
    parser.add_argument("--min-sites", type=int, default=12)
    args = parser.parse_args(argv)
    targets = lab_targets(args.stack)
    sites = len({t.site_code for t in targets})
    if sites < args.min_sites:
        print(
            f"stack {args.stack!r} runs terminals at {sites} site(s), fewer than {args.min_sites}: "
            f"bring up a bigger sample, e.g. `dvc-rollout lab up --stack {args.stack} "
            "--sample 016,017,018 --units-per-district 3` and `dvc-rollout configure`"
        )
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="dvc-readiness-bench-") as tmp:
        store = Store(Path(tmp) / "results.sqlite")
        for workers in ["0", *args.workers.split(",")]:
            row = measure(targets, workers.strip(), store)
            rows.append(row)
            print(
                f"-n {row['workers']:<5} {row['sites']} sites, {row['checks']} checks in "
                f"{row['seconds']:7.1f}s = {row['sites_per_second']:.2f} sites/s "
                f"(ready {row['ready_sites']}/{row['sites']}, load {row['load_average_before']})",
                flush=True,
            )
    serial = rows[0]["sites_per_second"]
    for row in rows:
        row["speedup_vs_serial"] = round(row["sites_per_second"] / serial, 2)
        row["minutes_for_434_sites"] = round(ALL_SITES / row["sites_per_second"] / 60, 1)
    best = max(rows, key=lambda r: r["sites_per_second"])
    print(f"{'workers':>8} {'sites/s':>8} {'x serial':>9} {'434 sites':>10}")
    for row in rows:
        print(
            f"{row['workers']:>8} {row['sites_per_second']:>8.2f} "
            f"{row['speedup_vs_serial']:>8.2f}x {row['minutes_for_434_sites']:>8.1f}m"
        )
    report = {
        "benchmark": "readiness",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "stack": args.stack,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "runs": rows,
        "best": {
            "workers": best["workers"],
            "sites_per_second": best["sites_per_second"],
            "speedup_vs_serial": best["speedup_vs_serial"],
            "minutes_for_434_sites": best["minutes_for_434_sites"],
        },
        "targets": {"speedup_vs_serial": 4.0, "sites_per_second": 2.0},
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"readiness-{stamp}.json"
    with path.open("x", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    print(f"written {path.relative_to(ROOT)}")
    return 0
