"""Property: whatever way a valid inventory is broken, loading says so clearly.

Hypothesis breaks a copy of the shipped inventory — a required key dropped, renamed or
duplicated, a value of the wrong type, a reference to nothing, a date written 15/7/2017,
broken YAML, bytes that are not UTF-8 — and every time the loader must raise an
InventoryError whose problems name the broken file (and the broken path, where there is
one), and the CLI must exit 2 without a traceback.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import inventory
from dvc_rollout.cli import main
from inventory import DEFAULT_DATA_DIR, InventoryError

# Required fields per list in each file: (file, list path, fields).
SLOTS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("units.yaml", ("districts",), ("code", "name", "type")),
    ("units.yaml", ("units",), ("code", "name", "type", "district")),
    ("services.yaml", ("groups",), ("code", "level", "name_vi", "name_en", "size")),
    ("services.yaml", ("services",), ("code", "group", "level", "name_vi", "name_en")),
    ("plan.yaml", ("phases",), ("number", "level", "go_live", "name_vi", "name_en")),
    ("sites.yaml", ("sites",), ("unit",)),
    ("oncall.yaml", ("contacts",), ("district", "receiver")),
]
REFERENCES = {"district", "group", "unit"}
DATES = {"go_live"}
ORIGINAL = {name: (DEFAULT_DATA_DIR / name).read_bytes() for name in inventory.model.FILE_MODELS}


def _wrong_type(value: Any) -> Any:
    """A value of another type than the one the schema wants."""
    if isinstance(value, str):
        return 12345
    if isinstance(value, bool | int):
        return "not a number"
    return ["a", "list"]


MUTATORS: dict[str, Callable[[dict[str, Any], str, Any], str | None]] = {}


def mutator(name: str) -> Callable[[Callable[..., str | None]], Callable[..., str | None]]:
    def wrap(fn: Callable[..., str | None]) -> Callable[..., str | None]:
        MUTATORS[name] = fn
        return fn

    return wrap


@mutator("drop")
def _drop(item: dict[str, Any], key: str, data: Any) -> str | None:
    del item[key]
    return key


@mutator("rename")
def _rename(item: dict[str, Any], key: str, data: Any) -> str | None:
    item[key + "_x"] = item.pop(key)
    return key


@mutator("wrong_type")
def _retype(item: dict[str, Any], key: str, data: Any) -> str | None:
    item[key] = _wrong_type(item[key])
    return key


@mutator("unknown_reference")
def _unknown(item: dict[str, Any], key: str, data: Any) -> str | None:
    if key not in REFERENCES:
        item[key] = _wrong_type(item[key])
    else:
        item[key] = "99999" if key == "unit" else ("999" if key == "district" else "no-such-group")
    return key


@mutator("slash_date")
def _slash(item: dict[str, Any], key: str, data: Any) -> str | None:
    if key in DATES:
        item[key] = f"{item[key].day}/{item[key].month}/{item[key].year}"
    else:
        del item[key]
    return key


def _write_mutated(directory: Path, slot: int, index: int, field: int, how: str) -> tuple[str, str]:
    file, where, fields = SLOTS[slot]
    # libyaml's parser and emitter: the pure-Python ones took 1.5 s an example.
    data = yaml.load(ORIGINAL[file].decode("utf-8"), Loader=yaml.CSafeLoader)
    items = data
    for part in where:
        items = items[part]
    position = index % len(items)
    key = fields[field % len(fields)]
    MUTATORS[how](items[position], key, data)
    (directory / file).write_text(
        yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return file, f"{where[-1]}[{position}].{key}"


def _assert_clear_error(directory: Path, file: str, path: str | None) -> None:
    try:
        inventory.load(directory)
    except InventoryError as exc:
        assert exc.problems, "an InventoryError must list its problems"
        assert any(p.file == file for p in exc.problems), exc.problems
        if path is not None:
            assert any(p.file == file and p.path.startswith(path) for p in exc.problems), (
                path,
                exc.problems,
            )
        assert all(p.message for p in exc.problems)
        assert "Traceback" not in str(exc)
    else:
        raise AssertionError(f"{file} broken at {path} was accepted")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["inventory", "validate", str(directory)])
    assert code == 2
    assert file in stderr.getvalue() and "Traceback" not in stderr.getvalue()


def _fresh_copy() -> tempfile.TemporaryDirectory[str]:
    tmp = tempfile.TemporaryDirectory()
    shutil.copytree(DEFAULT_DATA_DIR, Path(tmp.name), dirs_exist_ok=True)
    return tmp


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    slot=st.integers(0, len(SLOTS) - 1),
    index=st.integers(0, 500),
    field=st.integers(0, 10),
    how=st.sampled_from(sorted(MUTATORS)),
)
def test_broken_field_is_reported_with_its_path(
    slot: int, index: int, field: int, how: str
) -> None:
    with _fresh_copy() as tmp:
        directory = Path(tmp)
        file, path = _write_mutated(directory, slot, index, field, how)
        _assert_clear_error(directory, file, path)


@settings(max_examples=40, deadline=None)
@example(file="sites.yaml", line=2, how="duplicate_key")  # a one-key flow mapping
@given(
    file=st.sampled_from(sorted(ORIGINAL)),
    line=st.integers(0, 10_000),
    how=st.sampled_from(["duplicate_key", "broken_yaml", "not_utf8"]),
)
def test_broken_text_is_reported(file: str, line: int, how: str) -> None:
    lines = ORIGINAL[file].split(b"\n")
    keyed = [
        i for i, text in enumerate(lines) if b": " in text and not text.lstrip().startswith(b"#")
    ]
    at = keyed[line % len(keyed)]
    text = lines[at]
    if how == "duplicate_key":
        indent = len(text) - len(text.lstrip(b" -"))
        body = text.lstrip(b" -")
        if body.startswith(b"{"):  # a flow mapping: repeat its first key inside it
            end = body.find(b",")
            first = body[1 : end if end > 0 else body.index(b"}")]
            lines[at] = text[:indent] + b"{" + first + b", " + body[1:]
        else:
            lines.insert(at + 1, b" " * indent + body)
    elif how == "broken_yaml":
        lines.insert(at, text[: len(text) - len(text.lstrip())] + b"- [unclosed: {")
    else:
        lines[at] = text + b" \xff\xfe"
    with _fresh_copy() as tmp:
        directory = Path(tmp)
        (directory / file).write_bytes(b"\n".join(lines))
        _assert_clear_error(directory, file, None)
