"""A staging step that hangs is killed with everything it started, within its budget."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from infra.staging.steps import StepFailed, Steps

# A step that starts a grandchild in its own process group's session, says so, then hangs:
# what a stalled `ssh … docker system dial-stdio` under `lab up` looks like from outside.
HANGS = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("started", child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped by its (killed) parent is a zombie: not running.
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_hung_step_is_killed_with_its_group_and_named(tmp_path: Path) -> None:
    steps = Steps(tmp_path, {"lab up": 2}, program=[sys.executable, "-c", HANGS])
    started = time.monotonic()
    with pytest.raises(StepFailed, match=r"lab up: still running after 2 s \(its budget\)"):
        steps.run("lab up")
    assert time.monotonic() - started < 30
    log = (tmp_path / "01-lab-up.log").read_text(encoding="utf-8")
    grandchild = int(log.split()[1])
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    survived = _alive(grandchild)
    if survived:  # the code under test failed: leave nothing running all the same
        os.kill(grandchild, signal.SIGKILL)
    assert not survived, "the step's own child outlived it"


def test_a_failed_step_says_its_status_and_output(tmp_path: Path) -> None:
    code = "print('the registry at 127.0.0.1:5783 refused the push'); raise SystemExit(3)"
    steps = Steps(tmp_path, {"lab build --push": 60}, program=[sys.executable, "-c", code])
    with pytest.raises(StepFailed, match=r"(?s)exited 3 .*refused the push"):
        steps.run("lab build --push")


def test_a_failed_steps_reason_shows_above_the_noise_after_it(tmp_path: Path) -> None:
    code = (
        "print('dvc-rollout: error: the outputs of stack x do not hold its outputs')\n"
        "for i in range(200): print('Exception ignored in: <finalize object>')\n"
        "raise SystemExit(2)"
    )
    steps = Steps(tmp_path, {"lab up": 60}, program=[sys.executable, "-c", code])
    with pytest.raises(StepFailed, match=r"(?s)exited 2 .*error: the outputs of stack x"):
        steps.run("lab up")


def test_the_overall_budget_caps_every_step(tmp_path: Path) -> None:
    steps = Steps(tmp_path, {"configure": 600}, program=[sys.executable, "-c", HANGS])
    steps.deadline = time.monotonic() + 2
    with pytest.raises(StepFailed, match=r"configure: still running after 2 s"):
        steps.run("configure")
    steps.deadline = time.monotonic() - 1
    with pytest.raises(StepFailed, match="no time left"):
        steps.run("configure")


def test_a_step_within_its_budget_gives_its_time(tmp_path: Path) -> None:
    steps = Steps(tmp_path, {"staging up": 60}, program=[sys.executable, "-c", "pass"])
    assert 0 < steps.run("staging up") < 60
