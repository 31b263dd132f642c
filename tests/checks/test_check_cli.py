"""`dvc-rollout check` refuses arguments it cannot honour, naming them, before checking."""

from __future__ import annotations

import subprocess
import sys

import pytest

from checks.cli import workers_for

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


@pytest.mark.parametrize(
    ("requested", "backend", "hosts", "workers"),
    [
        ("auto", "docker", 48, "auto"),  # xdist's own: one per core, the lab shares them
        ("auto", "ssh", 48, "8"),  # 4 per core of 2: desks a link away mostly wait
        ("auto", "ansible", 3, "3"),  # never more workers than hosts
        ("auto", "ssh", 0, "1"),
        ("0", "ssh", 48, "0"),  # what is asked for is kept
        ("12", "docker", 48, "12"),
    ],
)
def test_auto_workers_suit_the_backend(
    requested: str, backend: str, hosts: int, workers: str
) -> None:
    assert workers_for(requested, backend, hosts, cores=2) == workers
