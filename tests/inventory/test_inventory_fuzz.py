"""Fuzz: an inventory broken any way at all is validated, or refused naming a file; fast.

Hypothesis takes the shipped inventory and breaks one file, either as text (emptied,
comment-only, random bytes, cut short, an anchor or alias, past its size cap, nested
too deep, a list as a key, a byte-order mark) or as data (a key deleted or renamed, a
value replaced by any YAML value, by hostile text, by a huge number or text, by
non-NFC Unicode, or wrapped in a list). The property: `dvc-rollout inventory validate`
exits 0 and the inventory loads, or exits 2 naming an inventory file (the broken one
when its text cannot be read) — never a traceback, never more than a few seconds.
Deterministic (derandomized) so CI runs the same cases every time.
"""

from __future__ import annotations

import contextlib
import copy
import io
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inventory
from dvc_rollout.cli import main
from inventory import DEFAULT_DATA_DIR
from inventory.yamlfile import SIZE_CAPS

FILES = sorted(inventory.model.FILE_MODELS)
TEXT = {name: (DEFAULT_DATA_DIR / name).read_text("utf-8") for name in FILES}
DATA = {name: yaml.load(TEXT[name], Loader=yaml.CSafeLoader) for name in FILES}
EXAMPLES = 150
SECONDS = 5.0  # the most one validation may take, interpreter already started

HOSTILE = [
    "{{ lookup('pipe', 'id') }}",
    "{% for x in range(10**9) %}{% endfor %}",
    "$(id)",
    "`id`; rm -rf /",
    "'\"\\",
    "a | b",
    "<script>alert(1)</script>",
    "line\nbreak",
    "nul\x00byte",
    "\u202egnp.exe",
    "\ufeffbom",
    unicodedata.normalize("NFD", "Huyện Ứng Hòa"),
    "x" * 10_000,
    "",
    "016",
    "00376",
    "2017-07-15",
    "15/7/2017",
]


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {str(k) for k in value} | {k for v in value.values() for k in _all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _all_keys(v)}
    return set()


KEYS = sorted({k for d in DATA.values() for k in _all_keys(d)})
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.dates()
    | st.text(max_size=40)
    | st.sampled_from(HOSTILE)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# Breaks after which the file itself cannot be used: the refusal must name it.
UNREADABLE = {"empty", "comment", "alias", "anchor", "oversize", "deep", "list_key"}


@st.composite
def broken_text(draw: st.DrawFn, file: str) -> tuple[bytes, bool]:
    """The file's text broken as a careless or hostile editor would, and whether the
    break leaves the file itself unusable (then the refusal must name it)."""
    raw, how = draw(_broken_text(file))
    return raw, how in UNREADABLE


@st.composite
def _broken_text(draw: st.DrawFn, file: str) -> tuple[bytes, str]:
    text = TEXT[file]
    how = draw(
        st.sampled_from(
            [
                "empty",
                "comment",
                "bytes",
                "cut",
                "alias",
                "anchor",
                "oversize",
                "deep",
                "list_key",
                "bom",
                "tabs",
            ]
        )
    )
    if how == "empty":
        return draw(st.sampled_from([b"", b"\n", b"   \n\t\n", b"---\n", b"...\n", b"~\n"])), how
    if how == "comment":
        return b"# " + text.splitlines()[0].encode() + b"\n# nothing else\n", how
    if how == "bytes":
        return draw(st.binary(max_size=200)), how
    if how == "cut":
        raw = text.encode()
        return raw[: draw(st.integers(0, len(raw)))], how
    if how == "alias":
        return (text + "\nextra: &x [1, 2]\nmore: *x\n").encode(), how
    if how == "anchor":
        lines = text.splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if ": " in line and "#" not in line[:2])
        lines[at] = lines[at].replace(": ", ": &a ", 1)
        return "".join(lines).encode(), how
    if how == "oversize":
        return (text + "#" * (SIZE_CAPS[file] + 1) + "\n").encode(), how
    if how == "deep":
        depth = draw(st.integers(9, 3000))
        return (text + "\nextra: " + "[" * depth + "]" * depth + "\n").encode(), how
    if how == "list_key":
        return (text + "\n[a, b]: 1\n? {k: v}\n: 2\n").encode(), how
    if how == "bom":
        return "\ufeff".encode() + text.encode(), how
    return text.replace("  ", "\t", draw(st.integers(1, 5))).encode(), how


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


@st.composite
def broken_data(draw: st.DrawFn, file: str) -> bytes:
    """The file's data with one node deleted, renamed, retyped or replaced, then dumped."""
    data = copy.deepcopy(DATA[file])
    parent: Any = None
    key: Any = None
    node: Any = data
    while _children(node) and (parent is None or draw(st.booleans())):
        children = _children(node)
        key, child = children[draw(st.integers(0, len(children) - 1))]
        parent, node = node, child
    how = draw(
        st.sampled_from(
            ["delete", "rename", "replace", "hostile", "huge_int", "huge_text", "wrap", "nfd"]
        )
    )
    if parent is None:
        return _dump(draw(values)).encode()
    if how == "delete":
        del parent[key]
    elif how == "rename" and isinstance(parent, dict):
        parent[f"{key}_x"] = parent.pop(key)
    elif how == "hostile":
        parent[key] = draw(st.sampled_from(HOSTILE))
    elif how == "huge_int":
        parent[key] = draw(st.sampled_from([10**20, -(10**20), 2**63, -1, 0]))
    elif how == "huge_text":
        parent[key] = draw(st.sampled_from(["x" * 250, "Xã " * 2000]))
    elif how == "wrap":
        parent[key] = [node]
    elif how == "nfd" and isinstance(node, str):
        parent[key] = unicodedata.normalize("NFD", node) + "\u0301"
    else:
        parent[key] = draw(values)
    return _dump(data).encode()


@st.composite
def broken_inventory(draw: st.DrawFn) -> tuple[str, bytes, bool]:
    """(file, its new bytes, whether a refusal must name that file)."""
    file = draw(st.sampled_from(FILES))
    if draw(st.booleans()):
        raw, must_name = draw(broken_text(file))
        return file, raw, must_name
    return file, draw(broken_data(file)), False


def _validate(directory: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["inventory", "validate", str(directory)])
    return code, out.getvalue(), err.getvalue()


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(broken_inventory())
def test_any_broken_inventory_is_validated_or_refused_naming_a_file(
    case: tuple[str, bytes, bool],
) -> None:
    file, raw, must_name = case
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        shutil.copytree(DEFAULT_DATA_DIR, directory, dirs_exist_ok=True)
        (directory / file).write_bytes(raw)
        started = time.monotonic()
        code, out, err = _validate(directory)
        took = time.monotonic() - started
        assert took < SECONDS, f"{file}: validate took {took:.1f} s"
        assert "Traceback" not in err + out
        if code == 0:
            assert out.startswith("inventory OK"), out
            inventory.load(directory)
            return
        assert code == 2, (code, err)
        assert err.startswith("dvc-rollout: error: the inventory in "), err
        named = [name for name in FILES if f"  {name}: " in err]
        assert named, err
        if must_name:
            assert file in named, err
