"""The lab's mail server: real SMTP with AUTH, messages kept and read back over HTTP.

Run as its container runs it (Debian's python3 with python3-aiosmtpd), on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import smtplib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

SINK = Path(__file__).resolve().parents[2] / "infra" / "images" / "smtp" / "smtp_sink.py"
USER, PASSWORD = "alertmanager", "lab-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, str]]:
    python = shutil.which("python3", path="/usr/bin")
    probe = subprocess.run([python or "python3", "-c", "import aiosmtpd"], capture_output=True)
    if python is None or probe.returncode != 0:
        pytest.fail("python3-aiosmtpd is missing: `apt-get install python3-aiosmtpd` (test.txt)")
    smtp_port, http_port = _free_port(), _free_port()
    env = {
        "SMTP_USER": USER,
        "SMTP_PASSWORD": PASSWORD,
        "SMTP_PORT": str(smtp_port),
        "SMTP_HTTP_PORT": str(http_port),
        "SMTP_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(SINK.parents[1] / "labhttp"),
    }
    log = (tmp_path / "sink.log").open("wb")
    proc = subprocess.Popen([python, str(SINK)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"smtp sink did not start: {(tmp_path / 'sink.log').read_text()}")
                time.sleep(0.1)
        yield smtp_port, url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _mail(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "dvc@lab.invalid", "oncall-016@lab.invalid", subject
    msg.set_content("Huyện Sóc Sơn: ĐANG LỖI")
    msg.add_alternative("<p>Huyện Sóc Sơn</p>", subtype="html")
    return msg


def test_a_logged_in_message_is_kept_and_read_back(sink: tuple[int, str]) -> None:
    port, url = sink
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.login(USER, PASSWORD)
        client.send_message(_mail("[DVC] ĐANG LỖI: Huyện Sóc Sơn"))
    with urllib.request.urlopen(f"{url}/messages?to=oncall-016@lab.invalid", timeout=5) as r:
        found = json.load(r)
    assert [(m["subject"], m["to"]) for m in found] == [
        ("[DVC] ĐANG LỖI: Huyện Sóc Sơn", ["oncall-016@lab.invalid"])
    ]
    assert found[0]["text"].strip() == "Huyện Sóc Sơn: ĐANG LỖI"
    assert "<p>Huyện Sóc Sơn</p>" in found[0]["html"]
    request = urllib.request.Request(f"{url}/messages", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as r:
        assert json.load(r) == {"cleared": 1}


def test_a_wrong_password_or_no_login_is_refused(sink: tuple[int, str]) -> None:
    port, url = sink
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        client.login(USER, "wrong")
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused),
    ):
        client.send_message(_mail("no login"))
    with urllib.request.urlopen(f"{url}/messages", timeout=5) as r:
        assert json.load(r) == []
