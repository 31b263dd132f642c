"""`dvc-rollout lab build | up | status | down`: the local lab from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from dvc_rollout import argtypes
from dvc_rollout.errors import UsageError

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

    if args.push:
        return _push(args)
    _print_images(images.build(args.names or None, progress=_say), args.json)
    return 0


def _print_images(found: dict[str, str], as_json: bool) -> None:
    """Image name -> its tag or reference, as JSON or one line each."""
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        for name, tag in found.items():
            print(f"{name:<14} {tag}")


def _push(args: argparse.Namespace) -> int:
    """Push the stack's images (or the named ones) to its registry, or --registry's."""
    from infra.images import distribution
    from infra.lab import lifecycle, stackfile

    registry = args.registry or str(stackfile.load(args.stack).get("dvc-rollout:registry") or "")
    if not registry:
        raise UsageError(
            f"stack {args.stack!r} names no registry (dvc-rollout:registry in its stack file): "
            "give --registry HOST:PORT or --stack of a stack that pulls from one"
        )
    names = args.names
    if not names:
        config, secret_keys = lifecycle.stack_config(args.stack)
        names = lifecycle.needed_images(args.stack, config, secret_keys)
    _print_images(distribution.push(names, registry, progress=_say), args.json)
    return 0


def _preview(args: argparse.Namespace) -> int:
    from infra.lab import deployment, lifecycle

    if lifecycle.uses_cli():
        raise UsageError(
            "with the Pulumi CLI on PATH, Pulumi's engine keeps the state: run "
            f"`pulumi preview -s {args.stack}` (or set DVC_LAB_ENGINE=inprocess)"
        )
    changes = lifecycle.preview(args.stack, _sample(args))
    counts = deployment.summary(changes)
    if args.json:
        print(
            json.dumps(
                {
                    "stack": args.stack,
                    "summary": counts,
                    "changes": [
                        {
                            "action": c.action,
                            "kind": c.resource.kind,
                            "name": c.resource.name,
                            "urn": c.resource.urn,
                            "reason": c.reason,
                        }
                        for c in changes
                        if c.action != "same"
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    marks = {"create": "+", "replace": "~", "delete": "-"}
    for c in changes:
        if c.action != "same":
            print(
                f"{marks[c.action]} {c.action:<8} {c.resource.kind:<9} {c.resource.name:<40} "
                f"{c.reason}"
            )
    print(
        f"preview of stack {args.stack!r}: {counts['create']} to create, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, "
        f"{counts['same']} unchanged"
    )
    return 0


def _sample(args: argparse.Namespace) -> Any:
    from infra.lab.lifecycle import Sample

    districts = [d.strip() for d in args.sample.split(",") if d.strip()] if args.sample else None
    return Sample(districts=districts, units_per_district=args.units_per_district)


def _up(args: argparse.Namespace) -> int:
    from infra.lab import lifecycle

    outputs = lifecycle.up(args.stack, _sample(args), timeout=args.timeout, progress=_say)
    public = outputs.public()
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

    build = sub.add_parser(
        "build",
        help="build the lab's images that are missing (--push: and push them to a registry)",
    )
    build.add_argument(
        "names",
        nargs="*",
        type=argtypes.text(40),
        help="images (default: all; with --push, the stack's)",
    )
    build.add_argument("--json", action="store_true", help="print name -> tag as JSON")
    build.add_argument(
        "--push",
        action="store_true",
        help="push the content-tagged images to the registry the stack's Docker host pulls "
        "from (dvc-rollout:registry), building what is missing",
    )
    build.add_argument(
        "--stack",
        type=argtypes.stack_name,
        default=os.environ.get(STACK_ENV, "lab"),
        help="with --push: the stack whose registry and images (default $DVC_LAB_STACK or lab)",
    )
    build.add_argument(
        "--registry", type=argtypes.text(100), help="with --push: HOST:PORT instead of the stack's"
    )
    build.set_defaults(handler=_build)

    def sampled(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--sample",
            type=argtypes.text(),
            help="districts in the lab, comma-separated codes or names (default: the stack file's)",
        )
        p.add_argument(
            "--units-per-district",
            type=argtypes.integer(1, UNITS_PER_DISTRICT_MAX, "a number of desks"),
            help="commune desks simulated per sampled district, 1 to "
            f"{UNITS_PER_DISTRICT_MAX} (default: the stack file's)",
        )

    up = sub.add_parser("up", help="build missing images, bring the lab up, wait until healthy")
    common(up)
    sampled(up)
    up.add_argument(
        "--timeout",
        type=argtypes.seconds(0, 3600),
        default=300.0,
        help="seconds to wait for health, up to 3600 (default 300)",
    )
    up.set_defaults(handler=_up)

    preview = sub.add_parser(
        "preview",
        help="what `up` would create, replace and delete (the in-process deployer's plan)",
    )
    common(preview)
    sampled(preview)
    preview.set_defaults(handler=_preview)

    status = sub.add_parser("status", help="containers with their health, and the endpoints")
    common(status)
    status.set_defaults(handler=_status)

    down = sub.add_parser("down", help="remove the stack's containers, networks and volumes")
    common(down)
    down.set_defaults(handler=_down)
