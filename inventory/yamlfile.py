"""Reading one inventory YAML file strictly and within bounds: data, never a program.

The inventory is edited by hand in 18 districts, so a file may be careless or hostile.
Before anything is built from it a file must be small (a cap per file, `SIZE_CAPS`),
UTF-8, well-formed, without anchors or aliases (they let a few lines expand into
gigabytes: the "billion laughs"), no deeper than `MAX_DEPTH`, and without duplicate keys
(PyYAML silently keeps the last of two equal keys; a line lost that way would leave a
site unchecked). Each check is a `Problem` naming the file, never an exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inventory.errors import Problem

KIB = 1024
# Bytes each file may hold: ~8x what the full estate needs (the shipped files are
# units 32 KiB, sites 9 KiB, services 6 KiB, oncall 2.5 KiB, plan 1.5 KiB; records,
# filled for 434 sites with a few officials and sessions each, ~400 KiB).
SIZE_CAPS: dict[str, int] = {
    "units.yaml": 256 * KIB,
    "services.yaml": 128 * KIB,
    "plan.yaml": 64 * KIB,
    "sites.yaml": 256 * KIB,
    "records.yaml": 2048 * KIB,
    "oncall.yaml": 64 * KIB,
}
DEFAULT_CAP = 256 * KIB
# Mappings and lists inside one another: the files need 4 (sites: defaults.equipment).
MAX_DEPTH = 8

# libyaml's parser (PyYAML's wheels ship it): the pure-Python parser took 0.3 s for the
# shipped inventory, which every command reads, and ~5x longer on a file at its cap.
_BaseLoader = yaml.CSafeLoader


class _StrictLoader(yaml.CSafeLoader):
    """A safe loader that records duplicate mapping keys instead of overwriting them."""

    duplicates: list[tuple[str, int]]
    unhashable: list[int]


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            if key in seen:
                loader.duplicates.append((str(key), key_node.start_mark.line + 1))
            seen.add(key)
        except TypeError:
            loader.unhashable.append(key_node.start_mark.line + 1)
    if loader.unhashable:
        return {}  # reported as a problem; the data is not used
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def cap_for(path: Path) -> int:
    return SIZE_CAPS.get(path.name, DEFAULT_CAP)


def _read_capped(path: Path, cap: int) -> tuple[bytes | None, list[Problem]]:
    """The file's bytes, reading at most one byte past the cap (a 6 GB file costs nothing)."""
    name = path.name
    try:
        with path.open("rb") as handle:
            raw = handle.read(cap + 1)
    except FileNotFoundError:
        return None, [Problem(name, "", f"file is missing: expected it at {path}")]
    except IsADirectoryError:
        return None, [Problem(name, "", f"is a folder: expected a file at {path}")]
    except OSError as exc:
        return None, [Problem(name, "", f"cannot be read ({exc.strerror}): check its permissions")]
    if len(raw) > cap:
        return None, [
            Problem(
                name,
                "",
                f"is larger than {cap // KIB} KiB, the most this file may hold: "
                "check it is the right file, or split what does not belong in it",
            )
        ]
    return raw, []


def _structure_problems(name: str, text: str) -> list[Problem]:
    """Anchors, aliases and too deep nesting, found from the parser's events alone."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return [
                    Problem(
                        name,
                        f"line {line}",
                        "uses a YAML anchor or alias (&name, *name), which the inventory "
                        "does not allow: write the values out in full",
                    )
                ]
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return [
                        Problem(
                            name,
                            f"line {line}",
                            f"nests lists and mappings more than {MAX_DEPTH} deep: "
                            "the inventory's files need 4 at most",
                        )
                    ]
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return []  # the syntax error is reported, with its place, by the full load
    return []


def read_yaml(path: Path, cap: int | None = None) -> tuple[Any, list[Problem]]:
    """Return the file's data and the problems that make it unreadable (data None then)."""
    name = path.name
    raw, problems = _read_capped(path, cap_for(path) if cap is None else cap)
    if raw is None:
        return None, problems
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            Problem(
                name,
                f"line {line}",
                f"is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}): "
                "save the file as UTF-8",
            )
        ]
    problems = _structure_problems(name, text)
    if problems:
        return None, problems
    loader = _StrictLoader(text)
    loader.duplicates = []
    loader.unhashable = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = " ".join(str(getattr(exc, "problem", None) or exc).split())
        return None, [Problem(name, where, f"is not valid YAML ({reason}): fix the syntax")]
    except (ValueError, OverflowError) as exc:  # e.g. a date 2017-13-45, a 5,000-digit number
        reason = str(exc).split(";")[0].split(":")[0]
        return None, [
            Problem(name, "", f"holds a number or date that cannot be read ({reason}): fix it")
        ]
    finally:
        loader.dispose()
    if loader.unhashable:
        return None, [
            Problem(
                name,
                f"line {line}",
                "has a key that is a list or a mapping: keys are plain words such as `code`",
            )
            for line in loader.unhashable
        ]
    problems = [
        Problem(name, f"line {line}", f"key {key!r} appears twice in one mapping: keep one")
        for key, line in loader.duplicates
    ]
    return data, problems
