"""The Kannel exporter against a REAL Kannel (Debian's bearerbox + smsbox on 127.0.0.1).

The fixture writes a temporary kannel.conf with a loopback SMSC, an SMSC that can never
connect, a sendsms-user, and an sms-service whose get-url is the probe's callback; it
starts both boxes as child processes and stops them (by their own pids) afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.registry import CollectorRegistry

from exporters import serving
from exporters.kannel.collector import EndToEndCollector, KannelCollector
from exporters.kannel.e2e import CallbackInbox, EndToEndProbe, ProbeState, SendSms
from exporters.kannel.fetch import HttpStatusSource

STATUS_PW = "status-secret"
ADMIN_PW = "admin-secret"
SMS_USER, SMS_PW = "probe", "probe-secret"
LOOPBACK = {"smsc": "loopback", "admin_id": "loopback"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Kannel:
    admin_url: str
    sendsms_url: str
    inbox: CallbackInbox

    def admin(self, command: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {**params, "password": ADMIN_PW}.items())
        with urllib.request.urlopen(f"{self.admin_url}/{command}?{query}", timeout=5) as r:
            return str(r.read().decode())

    def wait_smsc(self, smsc: str, online: bool, timeout: float = 20.0) -> None:
        source = HttpStatusSource(self.admin_url, STATUS_PW)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = source()
            states = {s.id: s.online for s in status.smscs}
            if states.get(smsc) is online and len(status.boxes) == 1:
                return
            time.sleep(0.2)
        pytest.fail(f"Kannel SMSC {smsc} did not become online={online} in {timeout}s")


def _config(tmp: Path, admin: int, box: int, sendsms: int, callback: int, dead: int) -> str:
    return f"""
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = "{ADMIN_PW}"
status-password = "{STATUS_PW}"
admin-allow-ip = "127.0.0.1"
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{tmp}/bearerbox.log"
log-level = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{tmp}/smsbox.log"
log-level = 1

group = sendsms-user
username = "{SMS_USER}"
password = "{SMS_PW}"

group = smsc
smsc = loopback
smsc-id = loopback
allowed-smsc-id = loopback

group = smsc
smsc = fake
smsc-id = upstream
host = 127.0.0.1
port = {dead}
reconnect-delay = 30

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "http://127.0.0.1:{callback}/mo?text=%a"
"""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kannel]:
    bearerbox, smsbox = (
        shutil.which("bearerbox", path="/usr/sbin:/usr/bin"),
        shutil.which("smsbox", path="/usr/sbin:/usr/bin"),
    )
    if not bearerbox or not smsbox:
        pytest.fail("Kannel is not installed: `apt-get install kannel` (infra/packages/test.txt)")
    tmp = tmp_path_factory.mktemp("kannel")
    inbox = CallbackInbox()
    callback = serving.Server(("127.0.0.1", 0), serving.router({"/mo": inbox.app})).start()
    admin, box, sendsms = _free_port(), _free_port(), _free_port()
    conf = tmp / "kannel.conf"
    conf.write_text(_config(tmp, admin, box, sendsms, callback.port, _free_port()))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        out = (tmp / "boxes.out").open("wb")
        procs.append(subprocess.Popen([bearerbox, str(conf)], stdout=out, stderr=out))
        _wait_port(box, procs[0], tmp)
        procs.append(subprocess.Popen([smsbox, str(conf)], stdout=out, stderr=out))
        _wait_port(sendsms, procs[1], tmp)
        k = Kannel(
            f"http://127.0.0.1:{admin}", f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms", inbox
        )
        k.wait_smsc("loopback", online=True)
        yield k
    finally:
        for proc in reversed(procs):
            _stop(proc)
        callback.stop()


def _wait_port(port: int, proc: subprocess.Popen[bytes], tmp: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Kannel box exited with {proc.returncode}: see {tmp}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"Kannel did not listen on 127.0.0.1:{port} in 20s: see {tmp}")


def _probe(k: Kannel, password: str = SMS_PW, timeout: float = 10.0) -> CollectorRegistry:
    state = ProbeState()
    registry = CollectorRegistry()
    EndToEndCollector(state, registry)
    sendsms = SendSms(url=k.sendsms_url, username=SMS_USER, password=password)
    state.record(EndToEndProbe(sendsms, k.inbox, timeout=timeout).run_once())
    return registry


def test_scrape_of_a_running_kannel(kannel: Kannel) -> None:
    r = CollectorRegistry()
    KannelCollector(HttpStatusSource(kannel.admin_url, STATUS_PW), r)
    assert r.get_sample_value("dvc_kannel_up") == 1.0
    assert r.get_sample_value("dvc_kannel_gateway_state", {"state": "running"}) == 1.0
    assert r.get_sample_value("dvc_kannel_smsc_online", LOOPBACK) == 1.0
    assert (
        r.get_sample_value("dvc_kannel_smsc_online", {"smsc": "upstream", "admin_id": "upstream"})
        == 0.0
    )
    assert r.get_sample_value("dvc_kannel_boxes", {"box_type": "smsbox"}) == 1.0


def test_wrong_status_password_is_reported_as_denied(kannel: Kannel) -> None:
    r = CollectorRegistry()
    KannelCollector(HttpStatusSource(kannel.admin_url, "not-the-password"), r)
    assert r.get_sample_value("dvc_kannel_up") == 0.0
    assert r.get_sample_value("dvc_kannel_scrape_error", {"reason": "denied"}) == 1.0
    assert r.get_sample_value("dvc_kannel_gateway_state", {"state": "running"}) is None


def test_nothing_listening_is_reported_as_connect(kannel: Kannel) -> None:
    r = CollectorRegistry()
    KannelCollector(HttpStatusSource(f"http://127.0.0.1:{_free_port()}", STATUS_PW), r)
    assert r.get_sample_value("dvc_kannel_up") == 0.0
    assert r.get_sample_value("dvc_kannel_scrape_error", {"reason": "connect"}) == 1.0


def test_loopback_round_trip_succeeds(kannel: Kannel) -> None:
    r = _probe(kannel)
    assert r.get_sample_value("dvc_sms_e2e_success") == 1.0
    roundtrip = r.get_sample_value("dvc_sms_e2e_roundtrip_seconds")
    assert roundtrip is not None and roundtrip > 0
    assert r.get_sample_value("dvc_sms_e2e_last_success_timestamp_seconds") is not None


def test_wrong_sendsms_password_fails_with_auth(kannel: Kannel) -> None:
    r = _probe(kannel, password="wrong")
    assert r.get_sample_value("dvc_sms_e2e_success") == 0.0
    assert r.get_sample_value("dvc_sms_e2e_failures_total", {"reason": "auth"}) == 1.0


def test_stopped_loopback_smsc_is_offline_and_the_probe_fails(kannel: Kannel) -> None:
    kannel.admin("stop-smsc", smsc="loopback")
    try:
        kannel.wait_smsc("loopback", online=False)
        r = CollectorRegistry()
        KannelCollector(HttpStatusSource(kannel.admin_url, STATUS_PW), r)
        assert r.get_sample_value("dvc_kannel_smsc_online", LOOPBACK) == 0.0
        assert r.get_sample_value("dvc_kannel_smsc_state", {**LOOPBACK, "state": "dead"}) == 1.0
        probe = _probe(kannel, timeout=2.0)
        assert probe.get_sample_value("dvc_sms_e2e_success") == 0.0
        assert probe.get_sample_value("dvc_sms_e2e_failures_total", {"reason": "queued"}) == 1.0
    finally:
        kannel.admin("start-smsc", smsc="loopback")
        kannel.wait_smsc("loopback", online=True)


@pytest.mark.parametrize("python", [sys.executable, "/usr/bin/python3"], ids=["venv", "debian"])
def test_cli_serves_metrics_with_secrets_from_env(
    kannel: Kannel, python: str, tmp_path: Path
) -> None:
    """`python -m exporters.kannel` as the container runs it (Debian's python3 + libs too)."""
    port, cb = _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "KANNEL_STATUS_PASSWORD": STATUS_PW,
        "SENDSMS_USER": SMS_USER,
        "SENDSMS_PASSWORD": SMS_PW,
    }
    argv = [
        python,
        "-m",
        "exporters.kannel",
        "--listen",
        f"127.0.0.1:{port}",
        "--kannel-url",
        kannel.admin_url,
        "--sendsms-url",
        kannel.sendsms_url,
        "--callback-listen",
        f"127.0.0.1:{cb}",
        "--probe-interval",
        "3600",
    ]
    log = (tmp_path / "exporter.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, cwd=tmp_path)
    try:
        body = _wait_metrics(port, proc, tmp_path)
        assert "dvc_kannel_up 1.0" in body
        assert STATUS_PW not in " ".join(argv)
        # Its first probe is still waiting for an MO that never comes (30 s): SIGTERM,
        # as `docker stop` sends it, must still end it cleanly before docker's 10 s kill.
        proc.terminate()
        assert proc.wait(timeout=8) == 0, (tmp_path / "exporter.log").read_text()
    finally:
        _stop(proc)


def _wait_metrics(port: int, proc: subprocess.Popen[bytes], tmp: Path) -> str:
    """Metrics once the first probe has finished (its callback is not Kannel's get-url,
    so it can only time out or fail: we check the exporter serves, not the round trip)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exporter exited: {(tmp / 'exporter.log').read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            time.sleep(0.2)
    pytest.fail("exporter did not serve /metrics in 20s")
