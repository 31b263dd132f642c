"""The probe targets: one per (unit, service) pair, with its labels, URL and expected answer.

Label sets come either from the inventory (on the host, where pydantic 2 is installed) or
from a targets file that the host wrote with

    python -m exporters.availability.targets --phase 1 --phase 2 > targets.json

so the exporter's Debian container never imports `inventory`. The URL and the check of
each target come from the config, so one targets file serves the lab and the real portal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dvc_rollout.errors import ExitStatus, run_command
from exporters.availability.config import Check, Config
from exporters.availability.endpoint import Endpoint
from exporters.availability.errors import AvailabilityConfigError

LABEL_NAMES: tuple[str, ...] = (
    "phase",
    "level",
    "district",
    "district_code",
    "unit",
    "unit_code",
    "service",
)
_UNIT_CODE = LABEL_NAMES.index("unit_code")
_SERVICE = LABEL_NAMES.index("service")

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Target:
    """One endpoint to probe; `labels` holds the values in LABEL_NAMES order."""

    labels: tuple[str, ...]
    endpoint: Endpoint
    check: Check

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def unit_code(self) -> str:
        return self.labels[_UNIT_CODE]

    @property
    def service(self) -> str:
        return self.labels[_SERVICE]

    def label_dict(self) -> dict[str, str]:
        return dict(zip(LABEL_NAMES, self.labels, strict=True))


@dataclass(frozen=True)
class Shard:
    """Replica `index` of `count` (1-based), so each replica probes its own slice."""

    index: int = 1
    count: int = 1

    def holds(self, labels: Labels) -> bool:
        return self.count == 1 or shard_of(labels, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """Parse `i/n` as given to --shard; replicas are numbered 1..n."""
    head, sep, tail = text.partition("/")
    try:
        index, count = int(head), int(tail)
    except ValueError:
        index = count = 0
    if not sep or count < 1 or not 1 <= index <= count:
        raise AvailabilityConfigError(
            f"--shard {text!r} must be i/n with 1 ≤ i ≤ n, e.g. --shard 2/3 for the second of three"
        )
    return Shard(index, count)


def shard_of(labels: Labels, count: int) -> int:
    """The 1-based shard of a pair: a stable hash of unit_code and service, same on every host."""
    key = f"{labels['unit_code']}/{labels['service']}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % count + 1


def labels_from_inventory(
    phases: Sequence[int] | None = None, inventory_dir: Path | str | None = None
) -> list[dict[str, str]]:
    """The label sets of every pair in scope; needs the `inventory` package (pydantic 2)."""
    try:
        import inventory
    except ImportError as exc:
        raise AvailabilityConfigError(
            f"cannot import the inventory here ({exc}); on a host with the project's venv run "
            "`python -m exporters.availability.targets --phase N > targets.json` "
            "and pass --targets targets.json"
        ) from None
    inv = inventory.load(inventory_dir)
    numbers: Iterable[int | None] = phases if phases else [None]
    return [dict(pair.labels) for number in numbers for pair in inv.pairs(phase=number)]


def read_targets_file(path: Path | str) -> list[dict[str, str]]:
    """Read the label sets from a JSON or YAML targets file, checking each entry."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise AvailabilityConfigError(
            f"cannot read targets file {str(source)!r}: {exc.strerror}; generate it with "
            "`python -m exporters.availability.targets > targets.json`"
        ) from None
    try:
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise AvailabilityConfigError(
            f"targets file {str(source)!r} is unreadable: {exc}"
        ) from None
    entries = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise AvailabilityConfigError(
            f"targets file {str(source)!r} must hold a mapping with a `targets` list"
        )
    return [_checked_labels(entry, f"{source}: targets[{n}]") for n, entry in enumerate(entries)]


def _checked_labels(entry: Any, where: str) -> dict[str, str]:
    if not isinstance(entry, dict):
        raise AvailabilityConfigError(f"{where} must be a mapping of labels")
    missing = [name for name in LABEL_NAMES if not isinstance(entry.get(name), str)]
    if missing:
        raise AvailabilityConfigError(
            f"{where} lacks string label(s) {', '.join(missing)}; regenerate the targets file"
        )
    return {name: entry[name] for name in LABEL_NAMES}


def select(
    label_sets: Iterable[Labels], phases: Sequence[int] | None = None, shard: Shard | None = None
) -> list[Labels]:
    """The label sets of the chosen phases that fall in this replica's shard."""
    wanted = {str(p) for p in phases} if phases else None
    chosen = shard or Shard()
    return [
        labels
        for labels in label_sets
        if (wanted is None or labels["phase"] in wanted) and chosen.holds(labels)
    ]


def build_targets(label_sets: Iterable[Labels], config: Config) -> list[Target]:
    """Render each pair's URL from its service's template and attach its check."""
    targets: list[Target] = []
    for labels in label_sets:
        rule = config.rule_for(labels["service"])
        url = rule.url_template.format(
            host=config.host,
            unit_code=labels["unit_code"],
            service_code=labels["service"],
            district_code=labels["district_code"],
            phase=labels["phase"],
            level=labels["level"],
        )
        values = tuple(labels[name] for name in LABEL_NAMES)
        targets.append(Target(values, Endpoint.parse(url), rule.check))
    return targets


def render_targets_file(label_sets: Sequence[Labels]) -> str:
    """The targets file text: UTF-8 JSON, one label set a line for readable diffs."""
    lines = ",\n".join(f"  {json.dumps(dict(labels), ensure_ascii=False)}" for labels in label_sets)
    return f'{{"targets": [\n{lines}\n]}}\n'


def main(argv: Sequence[str] | None = None) -> int:
    """Write the targets file for the chosen phases to stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m exporters.availability.targets",
        description="Write the availability exporter's targets file from the inventory.",
    )
    parser.add_argument(
        "--phase", type=int, action="append", help="phase to include (repeat; default: all)"
    )
    parser.add_argument("--inventory", metavar="DIR", help="inventory directory (default: shipped)")
    args = parser.parse_args(argv)

    def write() -> int:
        label_sets = labels_from_inventory(args.phase, args.inventory)
        sys.stdout.buffer.write(render_targets_file(label_sets).encode("utf-8"))
        return ExitStatus.OK

    return run_command("targets", write)


if __name__ == "__main__":
    sys.exit(main())
