"""Reading one inventory YAML file strictly: UTF-8, well-formed, no duplicate keys.

PyYAML silently keeps the last of two equal keys; an inventory edited by hand must
not lose a line that way, so duplicates are reported as problems instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inventory.errors import Problem


class _StrictLoader(yaml.CSafeLoader):
    """A safe loader that records duplicate mapping keys instead of overwriting them.

    Built on libyaml's parser (PyYAML's wheels ship it): the pure-Python parser took
    0.3 s for the shipped inventory, and the inventory is read by every command.
    """

    duplicates: list[tuple[str, int]]


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            loader.duplicates.append((str(key), key_node.start_mark.line + 1))
        try:
            seen.add(key)
        except TypeError:
            continue  # unhashable keys are rejected later by the schema
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """Return the file's data and the problems that make it unreadable (data None then)."""
    name = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(name, "", f"file is missing: expected it at {path}")]
    except OSError as exc:
        return None, [Problem(name, "", f"cannot be read ({exc.strerror}): check its permissions")]
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
    loader = _StrictLoader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(name, where, f"is not valid YAML ({reason}): fix the syntax")]
    finally:
        loader.dispose()
    problems = [
        Problem(name, f"line {line}", f"key {key!r} appears twice in one mapping: keep one")
        for key, line in loader.duplicates
    ]
    return data, problems
