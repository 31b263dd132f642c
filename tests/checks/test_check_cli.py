"""`dvc-rollout check` refuses arguments it cannot honour, naming them, before checking."""

from __future__ import annotations

import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "dvc_rollout.cli", "check", "--phase", "1"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--backend", "ssh", "--ssh-config", "/nonexistent/ssh_config"], "no such file"),
        (["--ssh-config", "/etc/hostname"], "--ssh-config is for --backend ssh"),
    ],
)
def test_a_bad_ssh_config_is_refused_with_what_to_do(args: list[str], said: str) -> None:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert said in done.stderr and "Traceback" not in done.stderr
