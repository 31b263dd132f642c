"""The shell-per-host ssh backend answers exactly as testinfra's own ssh backend.

Production desks are checked over ssh. If the kept-open shell framed a command's exit
code, stdout or stderr differently from a fresh `ssh host command`, a check would pass
or fail for the wrong reason; so each case runs through both backends against the sshd
of a real lab desk, and a desk that refuses the key fails both the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from testinfra.backend.ssh import SshBackend

from checks import sshconfig, sshshell
from playbooks.stack import check_key

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def desk(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ssh_config reaching one lab desk as root with the stack's key (authorised here,
    removed after), so this module needs no Ansible run."""
    host, container = sorted(lab.terminals.items())[0]
    key = check_key(lab.stack)
    public = key.with_suffix(".pub").read_text().strip()
    authorise = f"mkdir -p -m 700 /root/.ssh && echo '{public}' >> /root/.ssh/authorized_keys"
    assert lab.exec(container, ["sh", "-c", authorise]).exit_code == 0
    config = tmp_path_factory.mktemp("ssh") / "config"
    addresses = sshconfig.desk_addresses({host: container})
    config.write_text(sshconfig.render(addresses, key, "root"))
    sshshell.close_all()
    try:
        yield f"{host}?ssh_config={config}"
    finally:
        sshshell.close_all()
        lab.exec(
            container,
            [
                "sh",
                "-c",
                f"grep -vF '{public}' /root/.ssh/authorized_keys "
                "> /root/.ssh/k; mv /root/.ssh/k /root/.ssh/authorized_keys",
            ],
        )


def _backends(spec: str) -> tuple[Any, Any]:
    host, _, query = spec.partition("?ssh_config=")
    return sshshell.SshShellBackend(host, ssh_config=query), SshBackend(host, ssh_config=query)


def _answer(backend: Any, command: str) -> tuple[int, bytes, bytes]:
    result = backend.run(command)
    return result.rc, result.stdout_bytes, result.stderr_bytes


def test_same_answer_as_testinfras_ssh_backend(desk: str, shell_command: str) -> None:
    kept, fresh = _backends(desk)
    assert _answer(kept, shell_command) == _answer(fresh, shell_command)


def test_one_shell_serves_many_commands(desk: str) -> None:
    kept, _ = _backends(desk)
    pids = {kept.run("echo $PPID").stdout for _ in range(5)}
    assert len(pids) == 1  # every command a child of the same kept-open shell


def test_a_command_after_its_shell_died_runs_in_a_new_one(desk: str) -> None:
    kept, _ = _backends(desk)
    shell_pid = kept.run("echo $PPID").stdout.strip()
    assert kept.run("kill -KILL %s", shell_pid).rc in (0, 1)  # the shell kills itself
    again = kept.run("echo $PPID")
    assert again.rc == 0 and again.stdout.strip() not in ("", shell_pid)


def test_a_desk_that_refuses_the_key_fails_as_with_testinfra(desk: str) -> None:
    # `nobody` has no authorised key: ssh gives up with exit 255 and says why.
    kept, fresh = _backends(desk.replace("term-", "nobody@term-", 1))
    with pytest.raises(RuntimeError) as kept_error:
        kept.run("true")
    with pytest.raises(RuntimeError) as fresh_error:
        fresh.run("true")
    for error in (kept_error, fresh_error):
        assert error.value.args[0].rc == 255
        assert "Permission denied" in error.value.args[0].stderr


def test_closing_leaves_no_ssh_client_behind(desk: str) -> None:
    kept, _ = _backends(desk)
    kept.run("true")
    config = desk.partition("?ssh_config=")[2]
    clients = [p for p in psutil.process_iter(["cmdline"]) if config in (p.info["cmdline"] or [])]
    assert clients, "the kept shell's ssh client should be running"
    sshshell.close_all()
    _gone, alive = psutil.wait_procs(clients, timeout=5)
    assert not alive
