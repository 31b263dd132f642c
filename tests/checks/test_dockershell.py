"""The shell-per-container backend answers exactly as testinfra's own `docker exec` one.

Every check reads a command's exit code, stdout and stderr; if the kept-open shell framed
them differently from a fresh `docker exec /bin/sh -c`, a check would pass or fail for
the wrong reason. So each case runs through both backends on a real lab terminal.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from testinfra.backend.docker import DockerBackend

from checks import dockershell
from checks.keptshell import ShellLost

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def container(lab: Any) -> Iterator[str]:
    dockershell.close_all()
    yield str(sorted(lab.terminals.values())[0])
    dockershell.close_all()


def _answer(backend: Any, command: str) -> tuple[int, bytes, bytes]:
    result = backend.run(command)
    return result.rc, result.stdout_bytes, result.stderr_bytes


def test_same_answer_as_docker_exec(container: str, shell_command: str) -> None:
    assert _answer(dockershell.DockerShellBackend(container), shell_command) == _answer(
        DockerBackend(container), shell_command
    )


def test_a_user_gets_its_own_shell(container: str) -> None:
    as_nobody = dockershell.DockerShellBackend(f"nobody@{container}")
    assert as_nobody.run("id -un").stdout.strip() == "nobody"
    assert dockershell.DockerShellBackend(container).run("id -un").stdout.strip() == "root"


def test_one_shell_serves_many_commands(container: str) -> None:
    backend = dockershell.DockerShellBackend(container)
    pids = {backend.run("echo $PPID").stdout for _ in range(5)}
    assert len(pids) == 1  # every command a child of the same kept-open shell


def test_a_command_after_its_shell_died_runs_in_a_new_one(container: str) -> None:
    backend = dockershell.DockerShellBackend(container)
    shell_pid = backend.run("echo $PPID").stdout.strip()
    assert backend.run("kill -KILL %s", shell_pid).rc in (0, 1)  # the shell kills itself
    again = backend.run("echo $PPID")
    assert again.rc == 0 and again.stdout.strip() not in ("", shell_pid)


def test_a_command_that_never_answers_times_out_instead_of_hanging(container: str) -> None:
    shell = dockershell.EngineShell(container, None, timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(ShellLost, match=r"no answer within 1\.0 s") as lost:
            shell.run("sleep 5")
        assert time.monotonic() - started < 4
        assert lost.value.may_have_run  # so it is never sent a second time
    finally:
        shell.close()


def test_closing_a_shell_ends_it_in_the_container(container: str) -> None:
    shell = dockershell.EngineShell(container, None)
    assert shell.run("true")[0] == 0
    api = docker.from_env().api
    assert api.exec_inspect(shell.exec_id)["Running"]
    shell.close()
    deadline = time.monotonic() + 10
    while api.exec_inspect(shell.exec_id)["Running"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not api.exec_inspect(shell.exec_id)["Running"]


# Stands in for `ssh HOST docker system dial-stdio` on an engine host: the SDK's ssh://
# transport runs the ssh client and speaks HTTP over its stdin and stdout.
FAKE_SSH = """#!{python}
import os, socket, sys, threading
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
engine = socket.socket(socket.AF_UNIX)
engine.connect("/var/run/docker.sock")
def upstream():
    while data := os.read(0, 65536):
        engine.sendall(data)
    engine.shutdown(socket.SHUT_WR)
threading.Thread(target=upstream, daemon=True).start()
while data := engine.recv(65536):
    os.write(1, data)
"""


@pytest.fixture
def over_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """DOCKER_HOST=ssh://…, the ssh client a stand-in that dials the local engine."""
    log = tmp_path / "ssh.log"
    ssh = tmp_path / "bin" / "ssh"
    ssh.parent.mkdir()
    ssh.write_text(FAKE_SSH.format(python=sys.executable, log=str(log)))
    ssh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{ssh.parent}:{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", "ssh://dvc-ops@engine-host")
    monkeypatch.setattr(dockershell, "_client", None)
    dockershell.close_all()
    yield log
    dockershell.close_all()


def test_an_engine_reached_over_ssh_answers_the_same(container: str, over_ssh: Path) -> None:
    backend = dockershell.DockerShellBackend(container)
    for command in ("echo out; echo err >&2; exit 7", "seq 1 40000", "cat"):
        assert _answer(backend, command) == _answer(DockerBackend(container), command)
    assert "-l dvc-ops -- engine-host docker system dial-stdio" in over_ssh.read_text()
    dockershell.close_all()
    assert _ssh_clients(over_ssh.parent / "bin" / "ssh") == []  # none outlives the run


def _ssh_clients(program: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if proc.name.isdigit() and str(program).encode() in argv:
            found.append(int(proc.name))
    return found


def test_over_ssh_a_command_that_never_answers_times_out(container: str, over_ssh: Path) -> None:
    shell = dockershell.EngineShell(container, None, timeout=1.0)
    try:
        with pytest.raises(ShellLost, match=r"no answer within 1\.0 s"):
            shell.run("sleep 5")
    finally:
        shell.close()


def test_an_unknown_container_gives_the_engines_error() -> None:
    backend = dockershell.DockerShellBackend("dvc-no-such-container")
    answer = backend.run("true")
    assert answer.rc == 1 and "No such container" in answer.stderr
