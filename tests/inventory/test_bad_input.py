"""An inventory file edited carelessly or with ill intent is refused, clearly and quickly.

Each case is one a hand-edited file really meets: emptied by mistake, a list typed as a
key, a 6 MB paste, a YAML "billion laughs", a line break inside a name. Every time
`inventory validate` must exit 2 naming the file and what it must hold, never trace
back, never take long, and never call an inventory OK that means nothing.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import inventory
from dvc_rollout.cli import main
from inventory import InventoryError
from inventory.yamlfile import SIZE_CAPS

FILES = ["units.yaml", "services.yaml", "plan.yaml", "sites.yaml", "records.yaml", "oncall.yaml"]


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def validate(directory: Path) -> Outcome:
    """`dvc-rollout inventory validate DIR`, in this process (the console script is the
    same `main`; tests/inventory/test_cli.py runs it as a program)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["inventory", "validate", str(directory)])
    return Outcome(code, out.getvalue(), err.getvalue())


def refused(directory: Path, file: str, *said: str) -> str:
    """Validate and check it is refused naming `file` (and `said`), without a traceback."""
    result = validate(directory)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"{file}: " in result.stderr, result.stderr
    for words in said:
        assert words in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("text", ["", "# only a comment\n\n# and another\n"])
def test_an_empty_file_is_refused_saying_what_it_must_hold(
    data_copy: Path, file: str, text: str
) -> None:
    (data_copy / file).write_text(text, encoding="utf-8")
    refused(data_copy, file, "is empty: it must hold `")


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("sites.yaml", "- {unit: '016'}\n"),
        ("plan.yaml", "just some words\n"),
        ("records.yaml", "{}\n"),
    ],
)
def test_a_file_holding_something_else_says_what_it_must_hold(
    data_copy: Path, file: str, text: str
) -> None:
    (data_copy / file).write_text(text, encoding="utf-8")
    refused(data_copy, file, "it must hold `")


def test_explicit_empty_lists_say_to_be_filled_and_validate(data_copy: Path) -> None:
    (data_copy / "oncall.yaml").write_text("contacts: []\n", encoding="utf-8")
    (data_copy / "records.yaml").write_text(
        "accounts: []\ntraining: []\nhelpdesk: []\n", encoding="utf-8"
    )
    result = validate(data_copy)
    assert result.returncode == 0, result.stderr
    assert inventory.load(data_copy).oncall == {}


def test_a_contacts_list_that_leaves_districts_out_is_still_refused(data_copy: Path) -> None:
    oncall = data_copy / "oncall.yaml"
    lines = oncall.read_text(encoding="utf-8").splitlines(keepends=True)
    oncall.write_text("".join(line for line in lines if '"016"' not in line), encoding="utf-8")
    refused(data_copy, "oncall.yaml", "has no contact for district 016")


@pytest.mark.parametrize(
    "text",
    ["contacts: []\n[a, b]: 1\n", "contacts:\n  - {? [district]: '016', receiver: x}\n"],
)
def test_a_key_that_is_a_list_is_refused(data_copy: Path, text: str) -> None:
    (data_copy / "oncall.yaml").write_text(text, encoding="utf-8")
    refused(data_copy, "oncall.yaml", "has a key that is a list or a mapping")


def test_a_6_mb_file_is_refused_quickly_naming_its_cap(data_copy: Path) -> None:
    sites = data_copy / "sites.yaml"
    line = '  - {unit: "00376", equipment: {terminals: 1, printers: 1, scanners: 1}}\n'
    sites.write_text("sites:\n" + line * (6_000_000 // len(line)), encoding="utf-8")
    started = time.monotonic()
    said = refused(data_copy, "sites.yaml", f"larger than {SIZE_CAPS['sites.yaml'] // 1024} KiB")
    assert time.monotonic() - started < 5, said


BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_an_alias_bomb_is_refused_quickly(data_copy: Path) -> None:
    (data_copy / "services.yaml").write_text('a: &a ["lol", "lol"]\n' + BOMB, encoding="utf-8")
    started = time.monotonic()
    refused(data_copy, "services.yaml", "anchor or alias")
    assert time.monotonic() - started < 5


def test_a_single_alias_is_refused_too(data_copy: Path) -> None:
    sites = data_copy / "sites.yaml"
    text = sites.read_text(encoding="utf-8")
    text = text.replace("equipment: {terminals", "equipment: &eq {terminals", 1)
    sites.write_text(text + '  - {unit: "00376", equipment: *eq}\n', encoding="utf-8")
    with pytest.raises(InventoryError, match=r"sites\.yaml: line \d+: uses a YAML anchor"):
        inventory.load(data_copy)


def test_nesting_deeper_than_the_files_need_is_refused(data_copy: Path) -> None:
    (data_copy / "plan.yaml").write_text("plan: " + "[" * 50 + "]" * 50 + "\n")
    refused(data_copy, "plan.yaml", "nests lists and mappings more than")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("contacts: " + "9" * 6000 + "\n", "cannot be read"),
        ("contacts: 2017-13-45\n", "cannot be read"),
        ("contacts: !!python/object/apply:os.system [id]\n", "is not valid YAML"),
    ],
)
def test_a_value_yaml_cannot_build_is_refused(data_copy: Path, text: str, said: str) -> None:
    (data_copy / "oncall.yaml").write_text(text, encoding="utf-8")
    refused(data_copy, "oncall.yaml", said)


@pytest.mark.parametrize(
    "name", ["Xã Một\nXã Hai", "Xã\tMột", "Xã Một\u2028", "Xã\x1b[31mMột", "Xã\u200bMột"]
)
def test_a_name_with_a_control_character_is_refused(data_copy: Path, name: str) -> None:
    units = data_copy / "units.yaml"
    text = units.read_text(encoding="utf-8")
    escaped = name.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    units.write_text(text.replace("name: Thị trấn Sóc Sơn", f'name: "{escaped}"', 1), "utf-8")
    refused(data_copy, "units.yaml", "holds the control character")


def test_a_full_name_with_a_colon_is_refused(data_copy: Path) -> None:
    (data_copy / "records.yaml").write_text(
        'accounts:\n  - {unit: "00376", username: cb1, full_name: "A:0:0:root"}\n',
        encoding="utf-8",
    )
    refused(data_copy, "records.yaml", "accounts[0].full_name")


def test_the_shipped_files_are_well_under_their_caps() -> None:
    for file in FILES:
        size = (inventory.DEFAULT_DATA_DIR / file).stat().st_size
        assert size * 4 < SIZE_CAPS[file], (file, size)
