"""The stand-ins' shared HTTP plumbing: HEAD, keep-alive, a body cap and a clean SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

IMAGES = Path(__file__).resolve().parents[2] / "infra" / "images"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webhook(tmp_path: Path):
    """The webhook recorder run as its container runs it, on the host's Python."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(IMAGES / "labhttp"),
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_DATA_DIR": str(tmp_path),
    }
    proc = subprocess.Popen([sys.executable, str(IMAGES / "webhook" / "webhook.py")], env=env)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the webhook recorder did not listen in 15 s (its output is above)")
    yield proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_head_and_keep_alive(webhook) -> None:
    _, port = webhook
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/healthz")
    got = conn.getresponse()
    body = got.read()
    assert got.status == 200 and json.loads(body) == {"status": "ok"}
    conn.request("HEAD", "/healthz")  # the same connection: kept alive
    head = conn.getresponse()
    assert head.status == 200
    assert int(head.headers["Content-Length"]) == len(body)
    assert head.read() == b""
    conn.close()


def test_a_body_above_the_cap_is_refused(webhook) -> None:
    _, port = webhook
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest("POST", "/alerts/default")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413
    assert "above" in json.loads(answer.read())["error"]


def test_sigterm_stops_the_stand_in_at_once(webhook) -> None:
    proc, _ = webhook
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
