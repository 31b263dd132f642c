"""The shell-per-container backend answers exactly as testinfra's own `docker exec` one.

Every check reads a command's exit code, stdout and stderr; if the kept-open shell framed
them differently from a fresh `docker exec /bin/sh -c`, a check would pass or fail for
the wrong reason. So each case runs through both backends on a real lab terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from testinfra.backend.docker import DockerBackend

from checks import dockerapi

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def container(lab: Any) -> Iterator[str]:
    dockerapi.close_all()
    yield str(sorted(lab.terminals.values())[0])
    dockerapi.close_all()


def _answer(backend: Any, command: str) -> tuple[int, bytes, bytes]:
    result = backend.run(command)
    return result.rc, result.stdout_bytes, result.stderr_bytes


def test_same_answer_as_docker_exec(container: str, shell_command: str) -> None:
    assert _answer(dockerapi.DockerApiBackend(container), shell_command) == _answer(
        DockerBackend(container), shell_command
    )


def test_a_user_gets_its_own_shell(container: str) -> None:
    as_nobody = dockerapi.DockerApiBackend(f"nobody@{container}")
    assert as_nobody.run("id -un").stdout.strip() == "nobody"
    assert dockerapi.DockerApiBackend(container).run("id -un").stdout.strip() == "root"


def test_one_shell_serves_many_commands(container: str) -> None:
    backend = dockerapi.DockerApiBackend(container)
    pids = {backend.run("echo $PPID").stdout for _ in range(5)}
    assert len(pids) == 1  # every command a child of the same kept-open shell


def test_a_command_after_its_shell_died_runs_in_a_new_one(container: str) -> None:
    backend = dockerapi.DockerApiBackend(container)
    shell_pid = backend.run("echo $PPID").stdout.strip()
    assert backend.run("kill -KILL %s", shell_pid).rc in (0, 1)  # the shell kills itself
    again = backend.run("echo $PPID")
    assert again.rc == 0 and again.stdout.strip() not in ("", shell_pid)


def test_an_unknown_container_gives_the_engines_error() -> None:
    backend = dockerapi.DockerApiBackend("dvc-no-such-container")
    answer = backend.run("true")
    assert answer.rc == 1 and "No such container" in answer.stderr
