"""`dvc-rollout signoff` (GO/NO-GO with reports) and `dvc-rollout status serve` (on-call page)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dvc_rollout import argtypes
from dvc_rollout.errors import UsageError
from signoff.criteria import Thresholds
from signoff.evidence import EstateRef, Window
from signoff.times import HANOI

DEFAULT_PROMETHEUS = "http://127.0.0.1:9090"
DEFAULT_ALERTMANAGER = "http://127.0.0.1:9093"
PROMETHEUS_ENV = "DVC_PROMETHEUS_URL"
ALERTMANAGER_ENV = "DVC_ALERTMANAGER_URL"
RECORDS_ENV = "DVC_INVENTORY_RECORDS"
# The estate a sign-off judges unless told otherwise: the real one, never a lab.
DEFAULT_STACK = "production"
# Evidence windows and the oldest readiness result accepted: a second to a year.
window_type = argtypes.duration(what="a window")
max_age_type = argtypes.duration(what="an age")
# How often Prometheus scrapes the exporters: a second to a day.
interval_type = argtypes.duration(longest=86400, what="a scrape interval")


def parse_window(text: str | argtypes.Duration) -> Window:
    """`24h`, `90m`, `7d`, `600s` -> a Window (Prometheus duration syntax, one unit)."""
    try:
        found = text if isinstance(text, argtypes.Duration) else window_type(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"window {exc}") from None
    return Window(text=found.text, seconds=found.seconds)


def parse_as_of(text: str | datetime | None) -> datetime:
    """An ISO date or date-time; without a zone it is Hanoi time (the plan's clock).

    Without one it is now to the microsecond, as the results store records: cut to the
    second, a `dvc-rollout check` that finished in the same second would be left out and
    the site judged on its previous run.
    """
    if text is None:
        return datetime.now(UTC)
    if isinstance(text, datetime):
        return text
    try:
        return argtypes.instant(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--as-of {exc}") from None


def _lab(stack: str) -> dict[str, Any]:
    """A simulated stack's recorded outputs (its sample, its endpoints), or a clear error."""
    from dvc_rollout import stack_outputs

    try:
        from infra.lab import lifecycle
    except ImportError as exc:
        raise UsageError(f"--lab needs the lab part (infra.lab): {exc}") from None
    outputs = stack_outputs.recorded(stack)
    if outputs is None:
        raise UsageError(f"stack {stack!r} has no saved outputs: run `dvc-rollout lab up` first")
    # A restarted container gets new ephemeral host ports: ask the engine, not the file.
    live = {k: v for k, v in lifecycle.live_endpoints(outputs).items() if v}
    public = outputs.public()
    return {**public, "endpoints": {**public["endpoints"], **live}}


def _districts(inv: Any, wanted: list[str] | None, lab: dict[str, Any] | None) -> list[str] | None:
    if wanted:
        return [w if w in inv.districts else inv.find(w, kind="district").code for w in wanted]
    if lab is not None:
        return [str(d["code"]) for d in (lab.get("sample") or {}).get("districts", [])]
    return None


def _units(inv: Any, wanted: list[str] | None, lab: dict[str, Any] | None) -> list[str] | None:
    if wanted:
        return [w if w in inv.sites else inv.find(w, kind="unit").code for w in wanted]
    if lab is not None:
        return [str(s) for d in (lab.get("sample") or {}).get("districts", []) for s in d["sites"]]
    return None


def _estate(args: argparse.Namespace) -> EstateRef:
    """The estate judged: `--lab STACK`, else `--stack` (default production, never a lab).

    Its kind is the stack's (dvc_rollout/stack_outputs.py: recorded, else declared by its
    stack file), never guessed: a lab is signed off only with --lab, anything else only
    with --stack.
    """
    from dvc_rollout import stack_outputs

    if args.lab and args.stack:
        raise UsageError("give --lab STACK or --stack STACK, not both")
    stack = args.lab or args.stack or DEFAULT_STACK
    kind = stack_outputs.kind_of(stack)
    if args.lab and kind != "lab":
        raise UsageError(
            f"stack {stack!r} is a {kind} estate, not a lab: sign it off with --stack {stack}"
        )
    if not args.lab and kind == "lab":
        raise UsageError(
            f"stack {stack!r} is a lab: sign it off with --lab {stack} (a lab's evidence is "
            "judged as a lab sample, never as the real estate)"
        )
    return EstateRef(stack=stack, kind=kind)


def _sampled(estate: EstateRef) -> dict[str, Any] | None:
    """A simulated estate's outputs: its sample and endpoints scope the sign-off."""
    return _lab(estate.stack) if estate.kind != "production" else None


def _selection(args: argparse.Namespace, estate: EstateRef) -> str:
    if args.unit:
        return "unit"
    if args.district:
        return "district"
    return "phase" if estate.kind == "production" else estate.kind


def _thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(
        readiness_max_age=timedelta(seconds=args.readiness_max_age.seconds),
        availability_min=args.min_availability,
        min_coverage=args.min_coverage,
    )


def _signoff(args: argparse.Namespace) -> int:
    import inventory
    from checks.checkset import terminal_checks
    from signoff import files, history, report_json, waivers
    from signoff.adapters import (
        AlertmanagerMaintenance,
        PrometheusMetrics,
        ResultsStoreReadiness,
    )
    from signoff.decision import decide
    from signoff.evidence import gather
    from signoff.report_meta import ReportMeta

    if args.phase is None:
        raise UsageError("give --phase N (1: district sites, 2: commune sites)")
    window = parse_window(args.window)
    as_of = parse_as_of(args.as_of)
    thresholds = _thresholds(args)
    scrape = float(args.scrape_interval.seconds) if args.scrape_interval else None
    estate = _estate(args)
    lab = _sampled(estate)
    inv = inventory.load(args.inventory, records=args.records or os.environ.get(RECORDS_ENV))
    inv.phase(args.phase)
    districts = _districts(inv, args.district, lab)
    prometheus = (
        args.prometheus
        or ((lab or {}).get("endpoints") or {}).get("prometheus")
        or os.environ.get(PROMETHEUS_ENV)
        or DEFAULT_PROMETHEUS
    )
    results = Path(args.results) if args.results else _default_results()
    checks = terminal_checks()
    found = (
        waivers.load(
            args.waivers,
            [s.code for s in inv.sites_in(args.phase)],
            as_of.astimezone(HANOI).date(),
            checks,
        )
        if args.waivers
        else ()
    )
    evidence = gather(
        inv,
        args.phase,
        as_of,
        window,
        ResultsStoreReadiness(results),
        PrometheusMetrics(prometheus, scrape_interval=scrape),
        estate=estate,
        expected_checks=sorted(checks),
        districts=districts,
        only=_units(inv, args.unit, lab),
        selection=_selection(args, estate),
        maintenance=AlertmanagerMaintenance(
            args.alertmanager
            or ((lab or {}).get("endpoints") or {}).get("alertmanager")
            or os.environ.get(ALERTMANAGER_ENV)
            or DEFAULT_ALERTMANAGER
        ),
    )
    if not evidence.sites:
        raise UsageError(
            f"phase {args.phase} has no site in the selection: check --district, --unit, --lab"
        )
    decision = decide(evidence, thresholds, found)
    generated = datetime.now(UTC).replace(microsecond=0)
    folder = Path(args.reports) if args.reports else files.default_dir()
    meta = ReportMeta(
        generated_at=generated,
        previous=history.previous(folder, decision),
        approvals=(),
    )
    paths = files.write(decision, meta, folder, pdf=not args.no_pdf)
    out = sys.stderr if args.json else sys.stdout
    _summary(decision, meta, paths, out)
    if args.json:
        report = report_json.build(decision, meta)
        report["files"] = {k: str(v) for k, v in paths.items()}
        print(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False))
    return 0 if decision.verdict == "GO" else 1


def _default_results() -> Path:
    """The checks' results store: `$DVC_STATE_DIR/results.sqlite` (default `state/`)."""
    from dvc_rollout import statedir

    return statedir.results_db()


def _summary(decision: Any, meta: Any, paths: dict[str, Path], out: Any) -> None:
    from signoff.times import hanoi

    ev = decision.evidence
    print(
        f"sign-off {ev.plan} phase {ev.phase}, estate {ev.estate.name}, as of "
        f"{hanoi(ev.as_of)} (window {ev.window.text}): {decision.scope_en()}",
        file=out,
    )
    print(f"  {decision.scope_vi()}", file=out)
    for f in decision.datacenter:
        print(f"  datacenter {f.criterion:<12} {f.outcome:<7} {f.reason}", file=out)
    for d in decision.districts:
        go = sum(1 for s in d.sites if s.verdict == "GO")
        print(f"  {d.code} {d.name:<24} {d.verdict:<5} ({go}/{len(d.sites)} sites GO)", file=out)
    problems = decision.problems()
    problems = [(site, f) for site, f in problems if site != "datacenter"]
    for site, f in problems[:40]:
        print(f"    {site:<10} {f.criterion:<12} {f.outcome:<7} {f.reason}", file=out)
    if len(problems) > 40:
        print(f"    ... and {len(problems) - 40} more (see the reports)", file=out)
    if meta.previous is not None:
        print(
            f"  since {meta.previous.name}: {len(meta.previous.changes)} site(s) changed verdict",
            file=out,
        )
    for fmt, path in paths.items():
        print(f"  report {fmt:<4} {path}", file=out)


def _approve(args: argparse.Namespace) -> int:
    from signoff import approvals

    paths = approvals.approve(
        Path(args.report),
        name=args.name,
        role=args.role,
        results=Path(args.results) if args.results else None,
        reports=Path(args.reports) if args.reports else None,
        pdf=not args.no_pdf,
    )
    for fmt, path in paths.items():
        print(f"approved report {fmt:<4} {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from signoff import approvals

    found = approvals.verify(
        Path(args.report), results=Path(args.results) if args.results else None
    )
    print(found.summary())
    return 0 if found.ok else 1


def _status_serve(args: argparse.Namespace) -> int:
    from signoff import status

    results = Path(args.results) if args.results else _default_results()
    status.serve(
        args.listen,
        status.Sources(
            prometheus=args.prometheus or os.environ.get(PROMETHEUS_ENV) or DEFAULT_PROMETHEUS,
            alertmanager=args.alertmanager
            or os.environ.get(ALERTMANAGER_ENV)
            or DEFAULT_ALERTMANAGER,
            results=results,
            refresh_seconds=args.refresh,
        ),
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `signoff` and `status serve` to the `dvc-rollout` command."""
    p = subparsers.add_parser(
        "signoff",
        help="GO/NO-GO for every site of a phase, with HTML/JSON/Markdown reports",
        description="Judge every site of a phase of one estate against the go-live criteria, "
        "fail-closed (missing, stale, partial, unreadable or foreign evidence is NO-GO), and "
        "write reports under reports/. Exit status 0 only for GO, 1 for NO-GO, 2 for bad "
        "input (e.g. an expired waiver, a threshold out of range) or an unreadable store.",
    )
    p.add_argument("--phase", type=argtypes.phase, help="plan phase number (1 or 2)")
    p.add_argument(
        "--as-of",
        type=argtypes.instant,
        help="judge the evidence at this time (ISO, 2000 to 2099; default now; no zone = Hanoi)",
    )
    p.add_argument(
        "--window",
        type=window_type,
        default="24h",
        help="evidence window for metrics, 1s to 366d (default 24h)",
    )
    p.add_argument(
        "--waivers", type=argtypes.existing_file, help="YAML file of approved exceptions"
    )
    p.add_argument(
        "--district",
        action="append",
        type=argtypes.text(),
        help="only this district (code or name, repeatable); default: the whole phase",
    )
    p.add_argument(
        "--unit",
        action="append",
        type=argtypes.text(),
        help="only this site (code or name, repeatable)",
    )
    p.add_argument(
        "--lab",
        metavar="STACK",
        type=argtypes.stack_name,
        help="judge a lab stack: its sample, its Prometheus, its runs",
    )
    p.add_argument(
        "--stack",
        type=argtypes.stack_name,
        help=f"the estate judged: only its check runs count (default {DEFAULT_STACK}; "
        "a lab is signed off with --lab)",
    )
    for flag, kind, text in (
        (
            "--prometheus",
            argtypes.url,
            f"Prometheus URL (default ${PROMETHEUS_ENV} or {DEFAULT_PROMETHEUS})",
        ),
        (
            "--results",
            argtypes.path,
            "readiness results store (default $DVC_STATE_DIR/results.sqlite)",
        ),
        (
            "--alertmanager",
            argtypes.url,
            f"Alertmanager URL, for the maintenance windows (default ${ALERTMANAGER_ENV} or "
            f"{DEFAULT_ALERTMANAGER})",
        ),
        ("--reports", argtypes.path, "folder for the reports (default reports/)"),
        ("--inventory", argtypes.existing_dir, "inventory folder (default the packaged one)"),
        ("--records", argtypes.existing_file, f"records.yaml to use (default ${RECORDS_ENV})"),
    ):
        p.add_argument(flag, type=kind, help=text)
    p.add_argument(
        "--scrape-interval",
        type=interval_type,
        help="the exporters' scrape interval, e.g. 15s (default: from Prometheus' targets)",
    )
    p.add_argument("--no-pdf", action="store_true", help="do not print the HTML report to PDF")
    p.add_argument(
        "--readiness-max-age",
        type=max_age_type,
        default="24h",
        help="oldest readiness result accepted, 1s to 366d (default 24h)",
    )
    p.add_argument(
        "--min-availability",
        type=argtypes.threshold,
        default=0.99,
        help="availability threshold, above 0 up to 1 (default 0.99)",
    )
    p.add_argument(
        "--min-coverage",
        type=argtypes.threshold,
        default=0.9,
        help="share of the samples expected over the window a series must hold, above 0 "
        "up to 1 (default 0.9)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    p.set_defaults(handler=_signoff)
    sub = p.add_subparsers(dest="signoff_command", metavar="ACTION")
    approve = sub.add_parser(
        "approve",
        help="record a board member's approval of a report (bound to its evidence SHA-256)",
        description="Check REPORT's evidence against its SHA-256, append the approval to "
        "the results store's sealed chain, and write the report again with every approval "
        "of that evidence listed (new files; the original is never changed).",
    )
    approve.add_argument(
        "report",
        type=argtypes.existing_file,
        help="the sign-off report (.json, or its .html/.md/.pdf)",
    )
    approve.add_argument(
        "--name", required=True, type=argtypes.text(), help="who approves (full name)"
    )
    approve.add_argument(
        "--role", required=True, type=argtypes.text(), help="their role on the go-live board"
    )
    approve.add_argument(
        "--results", type=argtypes.path, help="results store (default: the one the report names)"
    )
    approve.add_argument(
        "--reports", type=argtypes.path, help="folder for the approved report (default reports/)"
    )
    approve.add_argument("--no-pdf", action="store_true", help="do not print the PDF")
    approve.set_defaults(handler=_approve)
    check = sub.add_parser(
        "verify",
        help="re-check a report: its evidence SHA-256, the store's seals and the approvals",
        description="Exit 0 when the report's evidence matches its SHA-256, the runs it used "
        "are still sealed in an intact chain and every approval listed is recorded; else 1.",
    )
    check.add_argument(
        "report",
        type=argtypes.existing_file,
        help="the sign-off report (.json, or its .html/.md/.pdf)",
    )
    check.add_argument(
        "--results", type=argtypes.path, help="results store (default: the one the report names)"
    )
    check.set_defaults(handler=_verify)

    s = subparsers.add_parser("status", help="live status page for on-call")
    sub = s.add_subparsers(dest="status_command", metavar="ACTION", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve the page (loopback by default)",
        description="Serve a self-refreshing page: districts × services from Prometheus, "
        "active alerts from Alertmanager, readiness by district from the results store.",
    )
    serve.add_argument(
        "--listen",
        type=argtypes.listen_address,
        default="127.0.0.1:8090",
        help="host:port (default 127.0.0.1:8090)",
    )
    serve.add_argument(
        "--prometheus", type=argtypes.url, help=f"Prometheus URL (default {DEFAULT_PROMETHEUS})"
    )
    serve.add_argument(
        "--alertmanager",
        type=argtypes.url,
        help=f"Alertmanager URL (default {DEFAULT_ALERTMANAGER})",
    )
    serve.add_argument("--results", type=argtypes.path, help="readiness results store")
    serve.add_argument(
        "--refresh",
        type=argtypes.integer(1, 3600, "a number of seconds"),
        default=15,
        help="seconds between refreshes, 1 to 3600 (default 15)",
    )
    serve.set_defaults(handler=_status_serve)
