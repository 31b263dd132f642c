"""The Kannel image's bootstrap config quotes secrets as the role does (no Docker needed).

The lab's Kannel renders a first kannel.conf from its environment before Ansible owns
the file; its shell `q` must escape `\\` and `"` exactly like the role's `kannel_quote`
(it used to drop every `"`, changing the password), and `writable` must refuse what
Kannel cannot hold, naming the variable.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ENTRYPOINT = Path(__file__).resolve().parents[2] / "infra" / "images" / "kannel" / "entrypoint.sh"
FUNCTIONS = r"""
eval "$(sed -n -e '/^log() /p' -e '/^q() /p' -e '/^writable() {/,/^}/p' \
    -e '/^seconds() {/,/^}/p' "$ENTRYPOINT")"
conf=/etc/kannel/kannel.conf
"""


def bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", FUNCTIONS + script],
        env={**os.environ, "ENTRYPOINT": str(ENTRYPOINT), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ('end\\"', '"end\\\\\\""'),
        ("$(id) `id` {{ x }}", '"$(id) `id` {{ x }}"'),
        ("", '""'),
    ],
)
def test_q_escapes_quotes_and_backslashes(value: str, quoted: str) -> None:
    done = bash('q "$V"', V=value)
    assert done.returncode == 0, done.stderr
    assert done.stdout == quoted


@pytest.mark.parametrize("value", ["admin-include-pw", "two\nlines"])
def test_writable_refuses_what_kannel_cannot_hold(value: str) -> None:
    done = bash("writable KANNEL_ADMIN_PASSWORD; echo rendered", KANNEL_ADMIN_PASSWORD=value)
    assert done.returncode == 1 and "rendered" not in done.stdout
    assert "KANNEL_ADMIN_PASSWORD cannot be written" in done.stderr
    assert value not in done.stderr


@pytest.mark.parametrize("value", ["", "0", "8s", "-1", "2 ; x"])
def test_smpp_timings_must_be_whole_seconds(value: str) -> None:
    done = bash('seconds SMPP_CONNECTION_TIMEOUT "$V"; echo rendered', V=value)
    assert done.returncode == 1 and "rendered" not in done.stdout
    assert "SMPP_CONNECTION_TIMEOUT must be a whole number of seconds" in done.stderr


def test_smpp_timings_of_whole_seconds_pass() -> None:
    done = bash("seconds SMPP_CONNECTION_TIMEOUT 8 && echo rendered")
    assert done.returncode == 0 and done.stdout == "rendered\n", done.stderr
