"""`dvc-rollout staging up | status | down`: the staging data-center host from the command line."""

from __future__ import annotations

import argparse
import json
import sys

DEFAULT_STACK = "staging"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _up(args: argparse.Namespace) -> int:
    from infra.staging import lifecycle
    from infra.staging.host import from_stack

    found = lifecycle.up(from_stack(args.stack), progress=_say)
    if args.json:
        print(json.dumps(found))
    else:
        print(f"staging host {args.stack!r} is up: DOCKER_HOST={found['docker_host']}")
        print(
            f"registry: {found['registry']} (push with `dvc-rollout lab build --push "
            f"--stack {args.stack}`)"
        )
    return 0


def _status(args: argparse.Namespace) -> int:
    from infra.staging import lifecycle
    from infra.staging.host import from_stack

    report = lifecycle.status(from_stack(args.stack))
    healthy = bool(report["reachable"] and report["registry_up"])
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key in ("engine", "sshd", "reachable", "registry_up"):
            print(f"{key:<12} {'yes' if report[key] else 'no'}")
        if report.get("problem"):
            print(f"problem      {report['problem']}")
    return 0 if healthy else 1


def _down(args: argparse.Namespace) -> int:
    from infra.lab import stackfile
    from infra.staging import lifecycle
    from infra.staging.host import StagingHost, from_stack

    host = from_stack(args.stack)
    others = []
    for path in stackfile.REPO_ROOT.glob("Pulumi.*.yaml"):
        other = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if other == args.stack:
            continue
        try:
            candidate: StagingHost = from_stack(other)
        except Exception:  # not a staging stack
            continue
        if candidate.user == host.user and candidate.run_dir.exists():
            others.append(other)
    lifecycle.down(host, others_using_account=bool(others), progress=_say)
    print(f"staging host {args.stack!r} removed")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `staging` and its subcommands to the `dvc-rollout` parser."""
    staging = subparsers.add_parser(
        "staging",
        help="start, inspect and remove the staging data-center host (reached over ssh)",
        description="A second Docker engine on this machine, reachable only over ssh as a "
        "key-only deploy account forced to the engine's API, with the data center's "
        "registry on it. The stack file (Pulumi.<stack>.yaml) says where: dockerHost, "
        "registry, stagingHost.",
    )
    sub = staging.add_subparsers(dest="staging_command", metavar="SUBCOMMAND", required=True)
    for name, handler, text in (
        ("up", _up, "start the host: engine, sshd, registry (as root; idempotent)"),
        ("status", _status, "is each part up, and reachable over ssh? (exit 1 if not)"),
        ("down", _down, "remove the host and everything in it"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--stack", default=DEFAULT_STACK, help=f"staging stack (default {DEFAULT_STACK})"
        )
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")
        p.set_defaults(handler=handler)
