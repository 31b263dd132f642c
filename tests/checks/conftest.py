"""Shared by the kept-shell backend tests (docker and ssh): the commands whose answers
must match testinfra's own backends byte for byte."""

from __future__ import annotations

import pytest

SHELL_COMMANDS = [
    "true",
    "exit 3",
    "printf 'no final newline'",
    "echo out; echo err >&2; exit 7",
    "printf 'a\\nb\\n\\n'",
    "printf '\\n'",
    "echo 'it'\"'\"'s quoted'; echo \"$HOME\"",
    "for i in 1 2 3; do\n  echo line $i\ndone",
    "cat",  # stdin is /dev/null, as with `docker exec`: it must not eat the next command
    "cd /tmp && pwd; exit 0",
    "seq 1 40000",  # several engine frames
    "head -c 3000 /dev/zero | tr '\\0' x >&2; echo done",
    "id -un",
    "nonexistent-command-xyz",
    "echo 'Xã Thuỵ Lâm'",
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "shell_command" in metafunc.fixturenames:
        metafunc.parametrize("shell_command", SHELL_COMMANDS)
