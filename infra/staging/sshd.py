"""The staging host's only door: a dedicated sshd whose one account can only reach the engine.

The sshd is the project's own (Debian's openssh-server binary, its own config, host key and
port on 127.0.0.1), so the machine's ssh setup is never touched. Its one account logs in
with a key only, and that key is forced to `docker --host unix://… system dial-stdio`:
whoever holds the key can drive the staging engine's API and nothing else (no shell, no
forwarding, no pty) — how a data-center Docker host is reached with `ssh://deploy@host`.
The controller's side is an ssh_config snippet for exactly that user, address and port,
holding the deploy key and the pinned host key, so the Docker SDK, the docker CLI and
Ansible all reach the engine with nothing but `DOCKER_HOST=ssh://…`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from dvc_rollout.errors import EnvironmentProblem
from infra.staging.host import StagingHost

SSHD = "/usr/sbin/sshd"
HOST_KEY = "ssh_host_ed25519_key"


COMMAND_TIMEOUT = 30.0  # ssh-keygen, useradd, sshd -t: seconds, never more
START_TIMEOUT = 10.0


def _run(argv: list[str], what: str) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"{what} did not finish within {COMMAND_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        raise EnvironmentProblem(f"{what} failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def _keygen(path: Path, comment: str) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        made = Path(tmp) / path.name
        _run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(made)],
            f"making {path}",
        )
        os.replace(made.with_suffix(".pub"), path.with_suffix(".pub"))
        os.replace(made, path)


def account_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _shadow_password(user: str) -> str:
    for line in Path("/etc/shadow").read_text(encoding="utf-8").splitlines():
        name, _, rest = line.partition(":")
        if name == user:
            return rest.split(":", 1)[0]
    return ""


def ensure_account(host: StagingHost) -> None:
    """The deploy account: a system user with its own group (the engine socket's group),
    no files, no password (`*`: not locked, so key logins work; no password matches)."""
    if not account_exists(host.user):
        _run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/",
                "--shell",
                "/bin/sh",
                host.user,
            ],
            f"creating the account {host.user}",
        )
    # Home `/`: sshd changes into it for every session (the account has no files).
    if pwd.getpwnam(host.user).pw_dir != "/" or _shadow_password(host.user) != "*":
        _run(["usermod", "-d", "/", "-p", "*", host.user], f"unlocking key logins of {host.user}")


def remove_account(host: StagingHost, still_used: bool) -> None:
    """Remove the deploy account unless another staging host still uses it."""
    if account_exists(host.user) and not still_used:
        _run(["userdel", host.user], f"removing the account {host.user}")


def sshd_config(host: StagingHost) -> str:
    run = host.run_dir
    return "\n".join(
        [
            f"# Written by `dvc-rollout staging up --stack {host.stack}`; removed by `down`.",
            f"Port {host.ssh_port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {run / HOST_KEY}",
            f"PidFile {run / 'sshd.pid'}",
            f"AuthorizedKeysFile {run / 'authorized_keys'}/%u",
            f"AllowUsers {host.user}",
            "PermitRootLogin no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "DisableForwarding yes",
            "PermitTTY no",
            "PermitUserRC no",
            "StrictModes yes",
            # Every Docker API connection is one session; Ansible opens a few at once.
            "MaxStartups 30:30:100",
            "LogLevel INFO",
            "",
        ]
    )


def authorized_key(host: StagingHost) -> str:
    """The deploy key, restricted to the engine's API."""
    public = host.key.with_suffix(".pub").read_text(encoding="utf-8").strip()
    return f'restrict,command="{host.forced_command}" {public}\n'


def client_config(host: StagingHost) -> str:
    """The controller's ssh settings for the deploy account on this host and port only."""
    return "\n".join(
        [
            f"# dvc-rollout staging host {host.stack}: `DOCKER_HOST={host.docker_host}` reaches",
            "# its engine with these (written by `staging up`, removed by `staging down`).",
            f'Match host 127.0.0.1 user {host.user} exec "test %p = {host.ssh_port}"',
            f"  IdentityFile {host.key}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {host.known_hosts}",
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
            # A stalled engine connection ends instead of blocking its reader for ever
            # (the Docker SDK's ssh transport reads its pipe with no timeout).
            "  ConnectTimeout 20",
            "  ServerAliveInterval 15",
            "  ServerAliveCountMax 4",
            "",
        ]
    )


def pid(host: StagingHost) -> int | None:
    try:
        found = int((host.run_dir / "sshd.pid").read_text().strip())
        os.kill(found, 0)
    except (OSError, ValueError):
        return None
    return found


def start(host: StagingHost) -> None:
    """Write the keys and configs, then start the sshd unless it runs."""
    if not Path(SSHD).exists():
        raise EnvironmentProblem(
            f"{SSHD} is missing: install Debian's openssh-server "
            "(`python3 infra/debian_packages.py ensure staging`)"
        )
    ensure_account(host)
    run = host.run_dir
    run.mkdir(parents=True, exist_ok=True, mode=0o755)
    _keygen(run / HOST_KEY, f"dvc-rollout staging host {host.stack}")
    _keygen(host.key, f"dvc-rollout deploy ({host.stack})")
    keys = run / "authorized_keys"
    keys.mkdir(exist_ok=True, mode=0o755)
    (keys / host.user).write_text(authorized_key(host), encoding="utf-8")
    (keys / host.user).chmod(0o644)
    host_key = (run / f"{HOST_KEY}.pub").read_text(encoding="utf-8").split()
    host.known_hosts.write_text(
        f"[127.0.0.1]:{host.ssh_port} {host_key[0]} {host_key[1]}\n", encoding="utf-8"
    )
    config = run / "sshd_config"
    config.write_text(sshd_config(host), encoding="utf-8")
    host.client_config.parent.mkdir(parents=True, exist_ok=True)
    host.client_config.write_text(client_config(host), encoding="utf-8")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    _run([SSHD, "-t", "-f", str(config)], f"checking {config}")
    if pid(host) is None:
        # sshd daemonises itself; it closes every descriptor it did not open.
        _run([SSHD, "-f", str(config)], f"starting sshd on 127.0.0.1:{host.ssh_port}")
        deadline = time.monotonic() + START_TIMEOUT
        while pid(host) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid(host) is None:
            raise EnvironmentProblem(
                f"sshd on 127.0.0.1:{host.ssh_port} did not start within {START_TIMEOUT:.0f} s "
                f"(no live pid in {run / 'sshd.pid'}): is the port taken? "
                f"`{SSHD} -d -f {config}` shows why"
            )


def stop(host: StagingHost) -> None:
    """Stop the sshd, remove keys and configs."""
    found = pid(host)
    if found is not None:
        os.kill(found, signal.SIGTERM)
    host.client_config.unlink(missing_ok=True)
    for path in (host.key, host.key.with_suffix(".pub"), host.known_hosts):
        path.unlink(missing_ok=True)
    run = host.run_dir
    (run / "authorized_keys" / host.user).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (run / "authorized_keys").rmdir()
    for name in ("sshd_config", "sshd.pid", HOST_KEY, f"{HOST_KEY}.pub"):
        (run / name).unlink(missing_ok=True)
