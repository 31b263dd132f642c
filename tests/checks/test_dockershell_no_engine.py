"""A docker:// check with no engine to reach answers as a failed command, without a traceback."""

from __future__ import annotations

import pytest

from checks import dockershell


def test_an_engine_that_does_not_answer_fails_the_command_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/dvc-rollout-test.sock")
    monkeypatch.setattr(dockershell, "_client", None)  # made again from this environment
    answer = dockershell.DockerShellBackend("dvc-lab-term-016-1").run("true")
    assert answer.rc == 1
    assert answer.stderr.startswith(
        "cannot reach the Docker engine at unix:///nonexistent/dvc-rollout-test.sock: "
    )
