"""The staging host's own Docker engine, beside this machine's and never touching it.

It has its own data root, exec root (where it runs its own containerd), pid file and
socket, so nothing of the machine's engine is shared. Networking is the delicate part:

- its default bridge is an interface made for it (`ip link add … type bridge`), never
  `--bridge none`, which makes the engine delete the machine's `docker0`;
- `--iptables=false` (and no ip-forward or masquerade changes): an engine that manages
  iptables flushes and rewrites the DOCKER chains the machine's engine depends on. Ports
  are then published by Docker's userland proxy alone, which is all staging needs
  (127.0.0.1 only), and its containers have no way out: an air-gapped data center. The
  machine's engine drops forwarded traffic it does not know (FORWARD policy DROP), and
  with br_netfilter that includes frames bridged between two containers of one staging
  network, so one rule in DOCKER-USER (the chain Docker leaves to its users) lets frames
  *bridged* within the staging subnets pass: routed traffic between two staging networks
  (say two districts) stays dropped, as the internal networks want;
- its networks take their subnets from a pool of its own, away from the machine engine's
  172.17-31.x and 192.168.x defaults;
- it is never restarted over the data of an earlier run: an engine with its own address
  pools that finds its default network stored from before deletes the interface
  `docker0` at start (Moby's `removeDefaultBridgeInterface`, meant for its own bridge,
  but this is the machine engine's), and every later build or container on the machine's
  default bridge fails. `start` refuses such a data root; `staging up` clears it first.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from dvc_rollout.errors import EnvironmentProblem
from infra.staging.host import StagingHost

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
MACHINE_BRIDGE = "docker0"  # the machine engine's default bridge, never to be touched
COMMAND_TIMEOUT = 30.0  # `ip`, `iptables`, `umount`, `docker version`: seconds, never more


def daemon_config(host: StagingHost) -> dict[str, object]:
    """dockerd's settings for the staging engine (its `--config-file`)."""
    return {
        "data-root": str(host.data_root),
        "exec-root": str(host.run_dir / "exec"),
        "pidfile": str(host.run_dir / "docker.pid"),
        "hosts": [f"unix://{host.socket}"],
        "group": host.user,
        "bridge": host.bridge,
        "iptables": False,
        "ip-forward": False,
        "ip-masq": False,
        "userland-proxy": True,
        "default-address-pools": [{"base": host.address_pool, "size": 24}],
        "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "2"},
    }


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a host tool; one that does not finish in COMMAND_TIMEOUT is an environment problem."""
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(
            f"`{' '.join(argv)}` did not finish within {COMMAND_TIMEOUT:.0f} s: is the "
            "machine's network stack or the staging engine stuck? (`dvc-rollout staging "
            "down`, then `up` again)"
        ) from None


def _ip(*args: str) -> None:
    done = _run(["ip", *args])
    if done.returncode != 0:
        raise EnvironmentProblem(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")


def bridge_up(host: StagingHost) -> None:
    """Make the engine's own bridge with its address (idempotent)."""
    if _run(["ip", "link", "show", host.bridge]).returncode != 0:
        _ip("link", "add", host.bridge, "type", "bridge")
    if host.bridge_address not in _run(["ip", "-br", "addr", "show", host.bridge]).stdout:
        _ip("addr", "add", host.bridge_address, "dev", host.bridge)
    _ip("link", "set", host.bridge, "up")


def bridge_down(host: StagingHost) -> None:
    if _run(["ip", "link", "show", host.bridge]).returncode == 0:
        _ip("link", "del", host.bridge)


def _rules(host: StagingHost) -> list[list[str]]:
    """The DOCKER-USER rules letting the staging networks' bridged frames through."""
    subnets = [host.address_pool, *([host.district_subnets] if host.district_subnets else [])]
    return [
        [
            "-s", net, "-d", net, "-m", "physdev", "--physdev-is-bridged",
            "-m", "comment", "--comment", f"{host.name}: frames within a staging network",
            "-j", "ACCEPT",
        ]
        for net in subnets
    ]  # fmt: skip


def _chain() -> str | None:
    """DOCKER-USER if the machine's engine made it, else FORWARD (no engine there)."""
    if shutil.which("iptables") is None:
        return None
    return "DOCKER-USER" if _run(["iptables", "-S", "DOCKER-USER"]).returncode == 0 else "FORWARD"


def firewall_up(host: StagingHost) -> None:
    """Insert the staging rules once (none is added twice)."""
    chain = _chain()
    if chain is None:
        return
    for rule in _rules(host):
        if _run(["iptables", "-C", chain, *rule]).returncode != 0:
            done = _run(["iptables", "-I", chain, *rule])
            if done.returncode != 0:
                raise EnvironmentProblem(f"adding an iptables rule failed: {done.stderr.strip()}")


def firewall_down(host: StagingHost) -> None:
    """Remove the staging rules wherever they were put."""
    for chain in ("DOCKER-USER", "FORWARD"):
        for rule in _rules(host):
            for _ in range(10):  # a rule inserted twice goes twice; a refusal ends the loop
                if _run(["iptables", "-C", chain, *rule]).returncode != 0:
                    break
                if _run(["iptables", "-D", chain, *rule]).returncode != 0:
                    break


def pid(host: StagingHost) -> int | None:
    """The running engine's pid, or None."""
    try:
        found = int((host.run_dir / "docker.pid").read_text().strip())
        os.kill(found, 0)
    except (OSError, ValueError):
        return None
    return found


def answers(host: StagingHost) -> bool:
    """Whether the engine answers on its socket (locally, as root) within a few seconds."""
    argv = ["docker", "--host", f"unix://{host.socket}", "version", "-f", "{{.Server.Version}}"]
    try:
        done = subprocess.run(argv, capture_output=True, check=False, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def log_path(host: StagingHost) -> Path:
    return Path("/var/log") / f"{host.name}-dockerd.log"


def has_data(host: StagingHost) -> bool:
    """Whether the engine's data root holds anything (an earlier run's images, networks)."""
    return host.data_root.is_dir() and any(host.data_root.iterdir())


def _docker0() -> bool:
    return _run(["ip", "link", "show", MACHINE_BRIDGE]).returncode == 0


def start(host: StagingHost) -> None:
    """Start the engine unless it runs, from an empty data root; wait until it answers."""
    if pid(host) is not None and answers(host):
        firewall_up(host)
        return
    if shutil.which("dockerd") is None:
        raise EnvironmentProblem("dockerd is missing: install Debian's docker.io")
    if has_data(host):
        raise EnvironmentProblem(
            f"the staging engine is stopped and {host.data_root} holds an earlier run's data: "
            f"started over it, it would delete this machine's {MACHINE_BRIDGE}. Run "
            f"`dvc-rollout staging down --stack {host.stack}`, then `staging up`"
        )
    remove_networks(host)  # an earlier engine's, which would shadow the new ones' routes
    had_docker0 = _docker0()
    host.run_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
    host.data_root.mkdir(parents=True, exist_ok=True, mode=0o710)
    config = host.run_dir / "daemon.json"
    config.write_text(json.dumps(daemon_config(host), indent=1), encoding="utf-8")
    bridge_up(host)
    firewall_up(host)
    with log_path(host).open("ab") as log:
        # A session of its own, no inherited descriptors: it outlives this command and
        # holds none of its locks.
        engine = subprocess.Popen(
            ["dockerd", "--config-file", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if answers(host):
            if had_docker0 and not _docker0():
                raise EnvironmentProblem(
                    f"starting the staging engine deleted this machine's {MACHINE_BRIDGE}: "
                    "restart the machine's Docker engine to get it back, and report this"
                )
            return
        if engine.poll() is not None:  # it gave up (a bad setting, a port or file taken)
            raise EnvironmentProblem(
                f"the staging engine exited at start (status {engine.returncode}): see the "
                f"end of {log_path(host)}"
            )
        time.sleep(0.5)
    raise EnvironmentProblem(
        f"the staging engine did not answer on {host.socket} within {START_TIMEOUT:.0f} s: "
        f"see {log_path(host)}; `dvc-rollout staging down --stack {host.stack}` removes it"
    )


def stop(host: StagingHost) -> None:
    """Stop the engine (its containers with it) and wait until it is gone."""
    found = pid(host)
    if found is None:
        return
    os.kill(found, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and pid(host) is not None:
        time.sleep(0.5)
    if pid(host) is not None:
        os.kill(found, signal.SIGKILL)
        time.sleep(1)


def _mounts_under(root: Path) -> list[str]:
    found = []
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            point = line.split()[1].replace("\\040", " ")
            if point == str(root) or point.startswith(f"{root}/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def stale_bridges(host: StagingHost) -> list[str]:
    """Bridges the engine made for its networks and left when it stopped (it removes them
    only when a network is removed): those holding an address of its pool or district plan.

    Left behind, each keeps its subnet's route, so the next engine's network with the same
    subnet is not reached from this machine ('No route to host' to the desks).
    """
    done = _run(["ip", "-j", "addr", "show", "type", "bridge"])
    if done.returncode != 0:
        return []
    ours = [ipaddress.IPv4Network(host.address_pool)]
    if host.district_subnets:
        ours.append(ipaddress.IPv4Network(host.district_subnets))
    found = []
    for link in json.loads(done.stdout or "[]"):
        name = str(link.get("ifname", ""))
        if not name.startswith("br-"):
            continue
        for info in link.get("addr_info", []):
            if info.get("family") == "inet" and any(
                ipaddress.IPv4Address(info["local"]) in net for net in ours
            ):
                found.append(name)
                break
    return found


def remove_networks(host: StagingHost) -> None:
    """Delete the stopped engine's leftover network bridges (`stale_bridges`)."""
    for name in stale_bridges(host):
        _run(["ip", "link", "del", name])


def remove_data(host: StagingHost) -> None:
    """Delete the engine's data root, runtime folder and network bridges (the engine must
    be stopped)."""
    remove_networks(host)
    for root in (host.data_root, host.run_dir / "exec"):
        for point in _mounts_under(root):
            _run(["umount", "-l", point])
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(host.data_root.parent)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(host.run_dir / "exec")
    for name in ("daemon.json", "docker.pid", "docker.sock"):
        (host.run_dir / name).unlink(missing_ok=True)
