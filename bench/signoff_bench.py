"""Benchmark: a city-wide `dvc-rollout signoff --phase 1` and `--phase 2`, against a goal of 10 s.

The evidence is the city's, at full size:
- a real Prometheus (Debian's) holding 24 h of every one of the 2,676 unit-service pairs'
  `dvc_service_up`, plus the SMS end-to-end and citizen-database series, written as
  OpenMetrics and backfilled with `promtool tsdb create-blocks-from openmetrics`; one
  sample a minute (`--interval`, 60 s: 3.9 M samples; the production default of 15 s
  would be 4x that). Prometheus scrapes three jobs of that interval (at addresses where
  nothing listens), so the sign-off reads each job's interval from the targets API as it
  does in production;
- a sealed results store with a production run per phase that checked every device of
  all 434 sites (one terminal each, every check of checks/terminal/ passed);
- officials' accounts, training and helpdesk staffing recorded for every site.
Each sign-off runs as the command an operator types (`dvc-rollout signoff --phase N`,
a new process: inventory load, store verification, Prometheus queries, the reports and
their PDF), `--repeat` times; the median is reported, with and without the PDF.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import inventory
from bench.prometheus_stand import serve
from checks.checkset import terminal_checks
from checks.export import write
from checks.results import Estate, Result, Store

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
CLI = ROOT / ".venv" / "bin" / "dvc-rollout"
GOAL_SECONDS = 10.0
JOBS = ("availability", "kannel", "citizen-db")


def _labels(values: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in values.items())


def write_history(path: Path, start: int, end: int, interval: int) -> int:
    """Every pair's `dvc_service_up` (all 1), SMS and DB series, one sample per interval."""
    inv = inventory.load()
    steps = range(start, end + 1, interval)
    samples = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("# TYPE dvc_service_up gauge\n")
        for pair in inv.pairs():
            labels = _labels({"job": "availability", **pair.labels})
            out.writelines(f"dvc_service_up{{{labels}}} 1 {t}\n" for t in steps)
            samples += len(steps)
        out.write("# TYPE dvc_sms_e2e_success gauge\n")
        out.writelines(
            f'dvc_sms_e2e_success{{job="kannel",smsc="loopback"}} 1 {t}\n' for t in steps
        )
        out.write("# TYPE dvc_citizen_db_up gauge\n")
        out.writelines(f'dvc_citizen_db_up{{job="citizen-db"}} 1 {t}\n' for t in steps)
        out.write("# EOF\n")
    return samples + 2 * len(steps)


def write_store(path: Path, started: datetime) -> dict[str, int]:
    """One sealed production run per phase, every check of every site's terminal passed."""
    stamp = started.isoformat(timespec="microseconds")
    store = Store(path, clock=lambda: stamp)
    inv = inventory.load()
    checks = sorted(terminal_checks())
    counts: dict[str, int] = {}
    for number in sorted(inv.phases):
        sites = inv.sites_in(number)
        hosts = {h: f"ssh://{h}" for s in sites for h in s.terminal_hosts}
        estate = Estate("production", "production", {"backend": "ssh", "hosts": hosts})
        run = store.start_run({"phase": number, "bench": True}, estate)
        store.add_many(
            Result(
                run,
                stamp,
                s.code,
                s.place.name,
                h,
                c,
                "passed",
                unit_code=s.code,
                district=s.place.district_name,
                district_code=s.place.district_code,
                phase=str(number),
            )
            for s in sites
            for h in s.terminal_hosts
            for c in checks
        )
        store.finish_run(run, {h: checks for h in hosts})
        counts[f"phase{number}_results"] = len(hosts) * len(checks)
    return counts


def write_records(path: Path) -> int:
    """One official, one training session and two helpdesk staff per site (synthetic)."""
    inv = inventory.load()
    sites = sorted(inv.sites)
    lines = [
        "# Synthetic records for bench/signoff: every site has what the criteria ask.",
        "accounts:",
    ]
    lines += [
        f'  - {{unit: "{s}", username: bench.official.{s}, full_name: Cán bộ thử nghiệm {s}}}'
        for s in sites
    ]
    lines.append("training:")
    lines += [
        f'  - {{unit: "{s}", date: 2017-07-01, attendees: 2, topic: Tập huấn thử nghiệm}}'
        for s in sites
    ]
    lines.append("helpdesk:")
    lines += [f'  - {{unit: "{s}", staff: 2, volunteers: 1}}' for s in sites]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(sites)


def signoff(phase: int, argv: list[str], pdf: bool) -> dict[str, Any]:
    """One `dvc-rollout signoff --phase N` as a new process: wall time, verdict, files."""
    command = [str(CLI), "signoff", f"--phase={phase}", *argv, "--json"]
    if not pdf:
        command.append("--no-pdf")
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"signoff --phase {phase} failed ({done.returncode}): {done.stderr}")
    report = json.loads(done.stdout)
    return {
        "seconds": round(took, 2),
        "exit": done.returncode,
        "verdict": report["verdict"],
        "scope": report["scope"]["words_en"],
        "problems": len(report["problems"]),
        "bytes": {k: Path(v).stat().st_size for k, v in report["files"].items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=int, default=60, help="scrape interval, s (60)")
    parser.add_argument("--repeat", type=int, default=3, help="sign-offs per phase and mode (3)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder, print it")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "interval_s": args.interval,
        "window": "24h",
        "goal_s": GOAL_SECONDS,
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench-signoff-"))
    try:
        as_of = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
        end = int(as_of.timestamp())
        start = end - 24 * 3600 - 10 * 60
        t = time.monotonic()
        history = tmp / "history.om"
        figures["samples"] = write_history(history, start, end, args.interval)
        figures["openmetrics_mb"] = round(history.stat().st_size / 1e6)
        figures["write_openmetrics_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        data = tmp / "data"
        subprocess.run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                str(history),
                str(data),
            ],
            check=True,
            capture_output=True,
        )
        history.unlink()
        figures["backfill_s"] = round(time.monotonic() - t, 1)
        print(
            f"backfilled {figures['samples']:,} samples ({figures['openmetrics_mb']} MB of "
            f"OpenMetrics) in {figures['backfill_s']} s",
            flush=True,
        )
        store = tmp / "results.sqlite"
        figures["store"] = write_store(store, as_of - timedelta(hours=2))
        records = tmp / "records.yaml"
        figures["sites"] = write_records(records)
        with serve(data, JOBS, args.interval) as url:
            common = [
                f"--as-of={as_of.isoformat()}",
                f"--prometheus={url}",
                f"--results={store}",
                f"--records={records}",
                f"--reports={tmp / 'reports'}",
            ]
            for phase in (1, 2):
                for pdf in (True, False):
                    runs = [signoff(phase, common, pdf) for _ in range(args.repeat)]
                    median = statistics.median(r["seconds"] for r in runs)
                    key = f"phase{phase}" + ("" if pdf else "_no_pdf")
                    figures[key] = {
                        **runs[-1],
                        "seconds": median,
                        "all": [r["seconds"] for r in runs],
                    }
                    print(
                        f"signoff --phase {phase}{'' if pdf else ' --no-pdf'}: {median:.2f} s "
                        f"median of {args.repeat} ({runs[-1]['verdict']}, {runs[-1]['scope']}; "
                        f"goal <= {GOAL_SECONDS:g} s)",
                        flush=True,
                    )
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    path = write(
        json.dumps(figures, indent=2, ensure_ascii=False) + "\n", "signoff", "json", RESULTS_DIR
    )
    print(f"written {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
