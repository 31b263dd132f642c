"""The staging engine leaves this machine's own networking alone (no engine needed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dvc_rollout.errors import EnvironmentProblem
from infra.staging import daemon
from infra.staging.host import StagingHost

HOST = StagingHost(
    stack="staging-ci",
    user="dvc-deploy",
    ssh_port=2623,
    registry_port=5783,
    bridge_address="10.212.1.1/24",
    address_pool="10.215.0.0/16",
    district_subnets="10.216.0.0/16",
)


def _bridge(name: str, *addresses: str) -> dict[str, object]:
    return {
        "ifname": name,
        "addr_info": [{"family": "inet", "local": a, "prefixlen": 24} for a in addresses],
    }


def test_only_bridges_in_the_stacks_own_ranges_are_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    links = [
        _bridge("docker0", "172.17.0.1"),  # the machine engine's default bridge
        _bridge("br-aaa", "172.18.0.1"),  # a network of the machine's engine
        _bridge("br-bbb", "10.215.3.1"),  # the staging engine's pool
        _bridge("br-ccc", "10.216.1.1"),  # its district plan
        _bridge("dvc-staging-ci", "10.212.1.1"),  # its own default bridge (staging down's)
        _bridge("br-ddd", "10.217.0.1"),  # another staging host's
    ]

    def ip(argv: list[str]) -> subprocess.CompletedProcess[str]:
        assert argv[:4] == ["ip", "-j", "addr", "show"]
        return subprocess.CompletedProcess(argv, 0, json.dumps(links), "")

    monkeypatch.setattr(daemon, "_run", ip)
    assert daemon.stale_bridges(HOST) == ["br-bbb", "br-ccc"]


def test_an_engine_is_never_started_over_an_earlier_runs_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Restarted over its stored default network, dockerd deletes the machine's docker0."""
    root = tmp_path / "docker"
    (root / "network").mkdir(parents=True)
    monkeypatch.setattr(StagingHost, "data_root", property(lambda _self: root))
    monkeypatch.setattr(StagingHost, "run_dir", property(lambda _self: tmp_path / "run"))
    monkeypatch.setattr("shutil.which", lambda _name: "/usr/sbin/dockerd")
    with pytest.raises(EnvironmentProblem, match="would delete this machine's docker0"):
        daemon.start(HOST)
