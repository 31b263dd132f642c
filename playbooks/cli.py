"""`dvc-rollout configure`: run the playbooks against a stack and report per host."""

from __future__ import annotations

import argparse
import json
import sys

from dvc_rollout import argtypes
from playbooks import runner
from playbooks import stack as stackfiles


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def configure(args: argparse.Namespace) -> int:
    """Run site.yml; exit 1 if any host failed or was unreachable."""
    options = runner.RunOptions(
        stack=args.stack, limit=args.limit, check=args.check, diff=args.diff
    )
    result = runner.run(options, progress=None if args.quiet else _progress)
    if args.json:
        json.dump(result.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(runner.format_summary(result))
    if result.redacted:
        print(
            f"dvc-rollout: warning: masked secrets in {result.redacted} artifact file(s); "
            "a task is missing `no_log: true`",
            file=sys.stderr,
        )
    if not result.hosts:
        print(
            f"dvc-rollout: no host ran: ansible-playbook stopped early ({result.status}); "
            f"read {result.artifacts / 'stdout'}, and check --limit and the stack",
            file=sys.stderr,
        )
        return 1
    return 0 if result.ok else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "configure",
        help="configure the switchboard, monitoring and terminals with Ansible",
        description=(
            "Run playbooks/site.yml through ansible-runner against a stack's hosts. Prints "
            "progress on stderr and a per-host summary (ok/changed/failed/unreachable); "
            "artifacts stay in state/ansible/artifacts/<run id>. Exits 1 if any host "
            "failed or was unreachable."
        ),
    )
    parser.add_argument(
        "--stack",
        type=argtypes.stack_name,
        default=stackfiles.DEFAULT_STACK,
        help="stack whose recorded outputs list the hosts (default: lab)",
    )
    parser.add_argument(
        "--limit",
        metavar="GROUP",
        type=argtypes.text(),
        help="only these hosts/groups (Ansible --limit pattern)",
    )
    parser.add_argument("--check", action="store_true", help="dry run: change nothing")
    parser.add_argument("--diff", action="store_true", help="show file changes")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(handler=configure)
