"""The Kannel config check: a throwaway bearerbox and smsbox accept or refuse a file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

CHECKER = (
    Path(__file__).resolve().parents[2]
    / "playbooks/roles/sms_switchboard/files/kannel-config-check"
)

GOOD = """\
group = core
admin-port = 13000
admin-password = "admin-pw-123"
status-password = "status-pw-123"
admin-deny-ip = "*.*.*.*"
admin-allow-ip = "127.0.0.1"
smsbox-port = 13001
box-allow-ip = "127.0.0.1"
store-type = file
store-location = "/var/spool/kannel/store"
dlr-storage = internal

group = smsc
smsc = loopback
smsc-id = loopback
allowed-smsc-id = loopback

group = smsc
smsc = http
smsc-id = sim-a
denied-smsc-id = loopback
system-type = generic
send-url = "http://127.0.0.1:9/send?to=%P&text=%b"
port = 14001
status-success-regex = "^Sent"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = 13001
sendsms-port = 13013

group = sendsms-user
username = "dvc-portal"
password = "sendsms-pw-123"
"""


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    candidate = tmp_path / "kannel.conf"
    candidate.write_text(text, encoding="utf-8")
    # Spare ports per test process, so parallel workers never collide; the highest
    # (14001 + offset ≤ 31901) stays below Linux's ephemeral range (32768+), where the
    # session lab publishes its ports, and below 65536, where Kannel would wrap it.
    env = {
        **os.environ,
        "KANNEL_CHECK_PORT_OFFSET": str(1000 + (os.getpid() % 170) * 100),
        "KANNEL_CHECK_REPORT": str(tmp_path / "report.txt"),
        "TMPDIR": str(tmp_path),
    }
    return subprocess.run(
        [str(CHECKER), str(candidate)], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_valid_file_is_accepted_by_both_boxes(tmp_path):
    done = check(tmp_path, GOOD)
    assert done.returncode == 0, done.stderr
    assert "accepted by bearerbox and smsbox" in done.stdout
    assert not (tmp_path / "report.txt").exists()


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (GOOD.replace("dlr-storage = internal", "dlr-store = internal"), "dlr-store"),
        (GOOD.replace('status-success-regex = "^Sent"\n', ""), "status-success-regex"),
        (GOOD.replace('username = "dvc-portal"', 'user-name = "dvc-portal"'), "user-name"),
    ],
)
def test_a_file_kannel_refuses_is_rejected_with_the_reason(tmp_path, broken, reason):
    done = check(tmp_path, broken)
    assert done.returncode == 1
    report = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert reason in report
    assert "pw-123" not in report


def test_the_check_leaves_no_process_or_scratch_files_behind(tmp_path):
    check(tmp_path, GOOD)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("kannel-check.")] == []
    leftover = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True
    ).stdout.split()
    assert leftover == []
