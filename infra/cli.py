"""`dvc-rollout lab build | up | status | down`: the local lab from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from dvc_rollout import argtypes

STACK_ENV = "DVC_LAB_STACK"
# A district has at most a few dozen communes; more desks than that is a typo.
UNITS_PER_DISTRICT_MAX = 64


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _print_endpoints(outputs: dict[str, Any]) -> None:
    endpoints = outputs.get("endpoints") or {}
    print("endpoints:")
    for key, value in endpoints.items():
        if isinstance(value, dict):
            for sub, url in value.items():
                print(f"  {key}.{sub:<12} {url}")
        else:
            print(f"  {key:<20} {value}")
    networks = outputs.get("networks") or {}
    if networks:
        districts = networks.get("districts") or {}
        plain = [v for k, v in networks.items() if k != "districts"]
        print(f"networks: {', '.join(plain + list(districts.values()))}")


def _build(args: argparse.Namespace) -> int:
    from infra import images

    tags = images.build(args.names or None, progress=_say)
    if args.json:
        print(json.dumps(tags, indent=2))
    else:
        for name, tag in tags.items():
            print(f"{name:<14} {tag}")
    return 0


def _sample(args: argparse.Namespace) -> Any:
    from infra.lab.lifecycle import Sample

    districts = [d.strip() for d in args.sample.split(",") if d.strip()] if args.sample else None
    return Sample(districts=districts, units_per_district=args.units_per_district)


def _up(args: argparse.Namespace) -> int:
    from infra.lab import lifecycle

    outputs = lifecycle.up(args.stack, _sample(args), timeout=args.timeout, progress=_say)
    public = {k: v for k, v in outputs.items() if k != "credentials"}
    if args.json:
        print(json.dumps(public, indent=2, ensure_ascii=False))
    else:
        print(f"lab {args.stack!r} is up and healthy")
        _print_endpoints(public)
    return 0


def _status(args: argparse.Namespace) -> int:
    from infra.lab import lifecycle

    report = lifecycle.status(args.stack)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0 if report["healthy"] else 1
    if not report["containers"]:
        print(f"lab {args.stack!r} is not up (run `dvc-rollout lab up`)")
        return 1
    for c in report["containers"]:
        note = f"  ({c['last_check']})" if c["health"] != "healthy" and c["last_check"] else ""
        print(f"{c['name']:<32} {c['state']:<10} {c['health']}{note}")
    _print_endpoints(report)
    return 0 if report["healthy"] else 1


def _down(args: argparse.Namespace) -> int:
    from infra.lab import lifecycle

    removed = lifecycle.down(args.stack, progress=_say)
    summary = {
        "containers": len(removed.containers),
        "networks": len(removed.networks),
        "volumes": len(removed.volumes),
    }
    if args.json:
        print(json.dumps({"stack": args.stack, "removed": summary}))
    else:
        print(
            f"lab {args.stack!r} removed: {summary['containers']} container(s), "
            f"{summary['networks']} network(s), {summary['volumes']} volume(s)"
        )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `lab` and its subcommands to the `dvc-rollout` parser."""
    lab = subparsers.add_parser(
        "lab",
        help="build, start, inspect and remove the local Docker lab",
        description="The data center program realised on the local Docker engine.",
    )
    sub = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--stack",
            type=argtypes.stack_name,
            default=os.environ.get(STACK_ENV, "lab"),
            help=f"stack name (default: ${STACK_ENV} or 'lab'); names every resource dvc-<stack>-*",
        )
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")

    build = sub.add_parser("build", help="build the lab's images that are missing")
    build.add_argument(
        "names", nargs="*", type=argtypes.text(40), help="images to build (default: all)"
    )
    build.add_argument("--json", action="store_true", help="print name -> tag as JSON")
    build.set_defaults(handler=_build)

    up = sub.add_parser("up", help="build missing images, bring the lab up, wait until healthy")
    common(up)
    up.add_argument(
        "--sample",
        type=argtypes.text(),
        help="districts in the lab, comma-separated codes or names (default: the stack file's)",
    )
    up.add_argument(
        "--units-per-district",
        type=argtypes.integer(1, UNITS_PER_DISTRICT_MAX, "a number of desks"),
        help="commune desks simulated per sampled district, 1 to "
        f"{UNITS_PER_DISTRICT_MAX} (default: the stack file's)",
    )
    up.add_argument(
        "--timeout",
        type=argtypes.seconds(0, 3600),
        default=300.0,
        help="seconds to wait for health, up to 3600 (default 300)",
    )
    up.set_defaults(handler=_up)

    status = sub.add_parser("status", help="containers with their health, and the endpoints")
    common(status)
    status.set_defaults(handler=_status)

    down = sub.add_parser("down", help="remove the stack's containers, networks and volumes")
    common(down)
    down.set_defaults(handler=_down)
