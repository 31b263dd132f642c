"""The rule files as a Prometheus server installs them, with `for:` scaled down for the lab.

Production keeps the `for:` durations of exporters/rules/*.yml. A lab drill that waited
3 minutes per alert would take half an hour, so the lab installs the same rules with
every `for:` divided by a factor (at least `minimum`), which keeps their order (the
district outage still fires before the unit alerts it holds back).

    python -m exporters.rule_files --for-divisor 8 --out DIR   # writes DIR/<name>.yml

`--tier shard|global` writes what one server of a federated layout evaluates
(exporters/federation.py); the default, `single`, is every rule.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from dvc_rollout.errors import ExitStatus, UsageError, run_command
from exporters import federation

RULES_DIR = Path(__file__).resolve().parent / "rules"
_FOR = re.compile(r"^(?P<head>[ \t]+for:[ \t]*)(?P<value>\S+)[ \t]*$", re.MULTILINE)
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class RuleFileError(UsageError):
    """A `for:` duration or an argument the renderer cannot use."""


def seconds(duration: str) -> float:
    """A Prometheus duration (`2m`, `1h30m`, `500ms`) in seconds."""
    parts = _PART.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise RuleFileError(f"{duration!r} is not a Prometheus duration such as 2m or 1h30m")
    return sum(int(n) * _SECONDS[u] for n, u in parts)


def scale_for(text: str, divisor: float, minimum: int = 5) -> str:
    """The rule file text with each `for:` divided by `divisor`, in whole seconds."""
    if divisor < 1:
        raise RuleFileError(f"--for-divisor {divisor!r} must be 1 or more")

    def shorter(match: re.Match[str]) -> str:
        value = max(minimum, math.ceil(seconds(match["value"]) / divisor))
        return f"{match['head']}{value}s"

    return _FOR.sub(shorter, text)


def rule_files(
    divisor: float = 1,
    source: Path = RULES_DIR,
    tier: federation.Tier = "single",
    minimum: int = 5,
) -> dict[str, str]:
    """File name -> text of every rule file in `source` a server of `tier` evaluates
    (scaled when divisor > 1, no `for:` below `minimum` seconds)."""
    found = sorted(source.glob("*.yml"))
    if not found:
        raise RuleFileError(f"no rule files in {source}: they ship in exporters/rules/*.yml")
    texts = {}
    for path in found:
        text = federation.split(path.read_text(encoding="utf-8"), tier, path.name)
        if text is not None:
            texts[path.name] = text
    if divisor == 1:
        return texts
    return {name: scale_for(text, divisor, minimum) for name, text in texts.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exporters.rule_files",
        description="Write the project's rule files, `for:` divided for a lab.",
    )
    parser.add_argument("--for-divisor", type=float, default=1.0, help="e.g. 8: 2m -> 15s")
    parser.add_argument("--source", type=Path, default=RULES_DIR, help="folder of rule files")
    parser.add_argument("--out", type=Path, required=True, help="folder to write them to")
    parser.add_argument(
        "--tier",
        choices=federation.TIERS,
        default="single",
        help="the server's place: single (every rule), shard or global (exporters/federation.py)",
    )
    args = parser.parse_args(argv)

    def write() -> int:
        files = rule_files(args.for_divisor, args.source, federation.check_tier(args.tier))
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (args.out / name).write_text(text, encoding="utf-8")
        return ExitStatus.OK

    return run_command("rule_files", write)


if __name__ == "__main__":
    sys.exit(main())
