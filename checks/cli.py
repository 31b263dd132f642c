"""`dvc-rollout check`: are the sites ready for go-live? Plus `check export` and `check history`.

The command picks hosts from the inventory, runs the testinfra checks on them in
parallel, keeps every result, and exits non-zero unless every selected site is ready.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import inventory
from checks import export, lab, sshconfig
from checks.results import Estate, Store, StoreError, default_path
from checks.runner import RunSummary, run
from checks.selection import (
    BACKENDS,
    Options,
    Target,
    datacenter_targets,
    estate,
    resolve_sites,
    terminal_targets,
)
from dvc_rollout import argtypes
from dvc_rollout.errors import EnvironmentProblem, UsageError

# The same variable the Ansible inventory reads, so checks expect the accounts it creates.
RECORDS_ENV = "DVC_INVENTORY_RECORDS"
# `--workers auto` over a network: workers per core (see `workers_for`).
NETWORK_WORKERS_PER_CORE = 4


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check that sites are ready for go-live (testinfra, results kept)",
        description="Check every selected site's terminals (and the data center) with "
        "testinfra; results are appended to the store; exit 1 if any site is not ready.",
    )
    parser.add_argument(
        "--phase", type=argtypes.phase, help="plan phase whose sites to check (1 or 2)"
    )
    parser.add_argument(
        "--district",
        action="append",
        default=[],
        type=argtypes.text(),
        help="district code or name",
    )
    parser.add_argument(
        "--unit", action="append", default=[], type=argtypes.text(), help="unit (site) code or name"
    )
    parser.add_argument(
        "--stack",
        type=argtypes.stack_name,
        default="lab",
        help="stack whose lab to check (default lab)",
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default="docker", help="how hosts are reached"
    )
    parser.add_argument(
        "--ansible-inventory",
        type=argtypes.existing_path,
        help="inventory for --backend ansible",
    )
    parser.add_argument(
        "--ssh-config",
        type=argtypes.existing_file,
        help="ssh_config for --backend ssh (default: ssh's own; a lab stack's is written)",
    )
    parser.add_argument("--portal-url", type=argtypes.url, help="the portal the desks must open")
    parser.add_argument(
        "--ntp-server",
        type=argtypes.text(253),
        help="the time server the desks must use",
    )
    parser.add_argument(
        "--records",
        type=argtypes.existing_file,
        default=os.environ.get(RECORDS_ENV) or None,
        help=f"records.yaml with the officials (default ${RECORDS_ENV} or the inventory's)",
    )
    parser.add_argument("--no-datacenter", action="store_true", help="check terminals only")
    parser.add_argument(
        "--print-test-pages",
        action="store_true",
        help="print one test page on each desk's printer outside a lab too (a sign-off "
        "needs printer.test_page_prints passed, or a waiver naming it)",
    )
    parser.add_argument(
        "-n",
        "--workers",
        type=argtypes.workers,
        default="auto",
        help="parallel workers, 0 = serial (auto: one per core with Docker; over ssh or "
        f"Ansible {NETWORK_WORKERS_PER_CORE} per core, as many as hosts at most)",
    )
    parser.add_argument(
        "--db",
        type=argtypes.new_file,
        help="results store, in a folder that exists (default state/results.sqlite)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=_check)
    sub = parser.add_subparsers(dest="check_command", metavar="SUBCOMMAND")

    exp = sub.add_parser("export", help="write a run's results as JSON or JUnit XML")
    which = exp.add_mutually_exclusive_group()
    which.add_argument(
        "--run",
        type=argtypes.integer(1, 999_999_999, "a run id"),
        help="run id (default: the latest run)",
    )
    which.add_argument("--latest", action="store_true", help="the newest result per site/check")
    exp.add_argument("--format", choices=export.FORMATS, default="json")
    exp.add_argument("--output-dir", type=argtypes.path, default=export.REPORTS_DIR)
    exp.add_argument(
        "--db", type=argtypes.sqlite_store, help="results store (default state/results.sqlite)"
    )
    exp.set_defaults(handler=_export)

    hist = sub.add_parser("history", help="list check runs, or one site's outcomes per run")
    hist.add_argument("--site", type=argtypes.text(), help="site (unit) code or name")
    hist.add_argument(
        "--db", type=argtypes.sqlite_store, help="results store (default state/results.sqlite)"
    )
    hist.add_argument("--json", action="store_true")
    hist.set_defaults(handler=_history)

    ver = sub.add_parser(
        "verify",
        help="recompute the results store's seal chain (exit 0 intact, 1 broken, 2 unreadable)",
        description="Recompute every run's and approval's seal from the rows as they are now "
        "and walk the chain: a result changed, added or removed after its run was sealed "
        "breaks it. Exit 0 when intact, 1 when broken (the first broken run is named), "
        "2 when the store is missing or unreadable.",
    )
    ver.add_argument(
        "--db", type=argtypes.sqlite_store, help="results store (default state/results.sqlite)"
    )
    ver.add_argument("--json", action="store_true", help="print what was found as JSON")
    ver.set_defaults(handler=_verify)


def select(args: argparse.Namespace) -> tuple[list[Target], dict[str, Any], Estate]:
    """The targets the arguments name, with what the checks compare against."""
    if args.phase is None:
        raise UsageError("give --phase N (1: district sites, 2: commune sites)")
    if args.ssh_config and args.backend != "ssh":
        raise UsageError("--ssh-config is for --backend ssh: add it, or drop --ssh-config")
    inv = inventory.load(records=args.records) if args.records else inventory.load()
    sites = resolve_sites(inv, args.phase, args.district, args.unit)
    env = lab.environment(args.stack)
    if args.backend == "docker" and env.kind != "lab":
        raise UsageError(
            f"stack {args.stack!r} is a {env.kind} estate: its desks are reached over ssh, not "
            "through this machine's Docker: use --backend ssh (or --backend ansible)"
        )
    ssh_config = str(Path(args.ssh_config).resolve()) if args.ssh_config else ""
    if args.backend == "ssh" and not ssh_config and env.kind != "production":
        ssh_config = str(sshconfig.write_stack_config(args.stack, env))
    options = Options(
        backend=args.backend,
        stack=args.stack,
        portal_url=args.portal_url or env.portal_url,
        ntp_server=args.ntp_server or env.ntp_server,
        go_live=inv.phase(args.phase).go_live.isoformat(),
        ansible_inventory=str(args.ansible_inventory or ""),
        datacenter_facts=env.datacenter_facts,
        lab_hosts=env.terminals,
        ssh_config=ssh_config,
        kind=env.kind,
        docker_host=env.docker_host,
        print_test_pages=args.print_test_pages,
    )
    if not options.portal_url:
        raise UsageError("give --portal-url URL: the portal address the desks must open")
    targets = terminal_targets(sites, args.phase, options)
    if not targets:
        raise UsageError(
            f"none of the {len(sites)} selected site(s) has a terminal in stack {args.stack!r}: "
            "pick sites from the lab sample (`dvc-rollout lab status`) or another --backend"
        )
    if not args.no_datacenter:
        targets += datacenter_targets(args.phase, options)
    selection = {
        "phase": args.phase,
        "districts": args.district,
        "units": args.unit,
        "stack": args.stack,
        "backend": args.backend,
        "ssh_config": ssh_config if args.backend == "ssh" else "",
        "sites": sorted({t.site_code for t in targets}),
    }
    return targets, selection, estate(options, targets)


def workers_for(requested: str, backend: str, hosts: int, cores: int | None) -> str:
    """The worker count to run with: `auto` means what suits the backend.

    Lab containers share the machine's cores, so one worker per core (xdist's own auto).
    Desks over ssh or Ansible are a link away: each worker mostly waits on round trips,
    so more workers than cores pay off (bench/readiness: best at 4 to 8 per core for
    20-100 ms links); never more workers than hosts.
    """
    if requested != "auto" or backend == "docker":
        return requested
    return str(max(1, min(NETWORK_WORKERS_PER_CORE * (cores or 1), hosts)))


def _check(args: argparse.Namespace) -> int:
    targets, selection, checked = select(args)
    store = Store(args.db) if args.db else Store()
    sites = len({t.site_code for t in targets})
    hosts = sum(t.kind == "terminal" for t in targets)
    workers = workers_for(args.workers, args.backend, hosts, os.cpu_count())
    print(
        f"checking {len(targets)} host(s) at {sites} site(s) with {workers} worker(s)",
        file=sys.stderr,
    )
    summary = run(
        targets,
        selection,
        store=store,
        workers=workers,
        quiet=args.json,
        estate=checked,
        docker_host=str(checked.where.get("docker_host") or ""),
    )
    if args.json:
        print(json.dumps(_summary_json(summary), ensure_ascii=False, indent=2))
    else:
        print(table(summary))
    if summary.exit_status not in (0, 1) and not summary.complete:
        raise EnvironmentProblem(
            f"the check run {summary.run_id} stopped early (pytest exit {summary.exit_status}); "
            "its results so far are kept and it is marked incomplete: fix the cause and re-run"
        )
    return 0 if summary.ready else 1


def table(summary: RunSummary) -> str:
    lines = [f"{'site':<11} {'unit':<28} {'status':<7} {'pass':>4} {'fail':>4} {'err':>4}  failing"]
    for s in sorted(summary.sites, key=lambda s: (s.ready, s.site_code)):
        lines.append(
            f"{s.site_code:<11} {s.unit[:28]:<28} {s.status:<7} {s.passed:>4} {s.failed:>4} "
            f"{s.errors:>4}  {', '.join(s.failing)}"
        )
    bad = [s for s in summary.sites if not s.ready]
    for s in bad:
        lines.extend(f"  {s.site_code}: {m}" for m in _worth_reading(s.messages))
    state = "complete" if summary.complete else "INCOMPLETE"
    ready = len(summary.sites) - len(bad)
    lines.append(f"run {summary.run_id} ({state}): {ready}/{len(summary.sites)} site(s) ready")
    return "\n".join(lines)


def _worth_reading(messages: list[str]) -> list[str]:
    """A PC that does not answer makes every other check error: show just that."""
    silent = [m for m in messages if m.startswith("pc.answers ")]
    return silent or messages


def _summary_json(summary: RunSummary) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "complete": summary.complete,
        "ready": summary.ready,
        "sites": [{**asdict(s), "status": s.status, "ready": s.ready} for s in summary.sites],
    }


def _existing_store(given: Path | None) -> Store:
    """The results store a read-only command reads, opened read-only: never created."""
    try:
        return Store(given if given is not None else default_path(), read_only=True)
    except StoreError as exc:
        raise UsageError(f"{exc}, or name one with --db") from None


def _export(args: argparse.Namespace) -> int:
    store = _existing_store(args.db)
    if args.latest:
        path = export.export(store.latest(), None, args.format, args.output_dir)
    else:
        run_id = args.run if args.run is not None else store.latest_run_id()
        found = store.run(run_id) if run_id is not None else None
        if found is None:
            raise UsageError(
                f"no check run {run_id} in {store.path}: see `dvc-rollout check history`"
            )
        path = export.export(store.results(found.run_id), found, args.format, args.output_dir)
    print(path)
    return 0


def _verify(args: argparse.Namespace) -> int:
    path = args.db if args.db else default_path()
    try:
        found = Store(path, read_only=True).verify()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(
            json.dumps(
                {
                    **asdict(found),
                    "intact": found.intact,
                    "breaks": [
                        {"seq": b.seq, "run_id": b.run_id, "reason": b.reason} for b in found.breaks
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(found.summary())
        for problem in found.breaks:
            print(f"  {problem}")
    return 0 if found.intact else 1


def _history(args: argparse.Namespace) -> int:
    store = _existing_store(args.db)
    site = args.site
    if site is not None and not site.isdigit() and site != "datacenter":
        site = inventory.load().find(site, kind=None).code
    rows = []
    for r in store.runs(site):
        results = store.results(r.run_id, site)
        counts = {o: sum(x.outcome == o for x in results) for o in ("passed", "failed", "error")}
        rows.append(
            {
                **asdict(r),
                **counts,
                "failing": sorted(
                    {
                        f"{x.site_code}:{x.check_id}"
                        for x in results
                        if x.outcome in ("failed", "error")
                    }
                ),
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print(f"{'run':>4} {'started':<27} {'status':<10} {'pass':>5} {'fail':>5} {'err':>4}  failing")
    for row in rows:
        print(
            f"{row['run_id']:>4} {row['started'][:26]:<27} {row['status']:<10} "
            f"{row['passed']:>5} {row['failed']:>5} {row['error']:>4}  "
            f"{', '.join(row['failing'][:6])}"
        )
    return 0
