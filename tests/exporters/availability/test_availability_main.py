"""The exporter as run: the CLI under the venv and under Debian's own Python packages.

The Debian run uses /usr/bin/python3 with python3-prometheus-client, python3-uvloop and
python3-yaml only (no pydantic 2), all a bare Debian bookworm host offers (the project's
exporter image adds a vendored pydantic 2).
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporters.availability.targets import render_targets_file

ROOT = Path(__file__).resolve().parents[3]
DEBIAN_PYTHON = "/usr/bin/python3"
SELF_SWEEPS = 'dvc_exporter_sweeps_total{exporter="availability"}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def write_inputs(tmp_path: Path, servers, port_of_portal: int) -> tuple[Path, Path]:
    """A config pointing at the `ok` server and a targets file of three pairs."""
    config = tmp_path / "availability.yml"
    config.write_text(
        f"host: 127.0.0.1:{port_of_portal}\n"
        "services:\n"
        f"  c-birth: {{url: 'http://127.0.0.1:{servers.ports['wrong_body']}/x/{{unit_code}}'}}\n",
        encoding="utf-8",
    )
    base = {"phase": "2", "level": "commune", "district": "Huyện Sóc Sơn", "district_code": "016",
            "unit": "Thị trấn Sóc Sơn", "unit_code": "00376"}  # fmt: skip
    targets = tmp_path / "targets.json"
    targets.write_text(
        render_targets_file([{**base, "service": s} for s in ("c-marriage", "c-birth", "c-death")]),
        encoding="utf-8",
    )
    return config, targets


@pytest.fixture(params=[sys.executable, DEBIAN_PYTHON], ids=["venv", "debian"])
def exporter(request, servers, tmp_path) -> Iterator[str]:
    config, targets = write_inputs(tmp_path, servers, servers.ports["ok"])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [request.param, "-m", "exporters.availability", "--listen", f"127.0.0.1:{port}",
         "--config", str(config), "--targets", str(targets), "--interval", "1",
         "--timeout", "0.2", "--concurrency", "2"],
        cwd=tmp_path,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_sweep(base, process)
        yield base
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0


def wait_for_sweep(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            pytest.fail(f"exporter exited with {process.returncode}")
        try:
            _, body, _ = fetch(f"{base}/metrics?name[]=dvc_exporter_sweeps_total")
            if f"{SELF_SWEEPS} 0.0" not in body.decode():
                return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail("exporter finished no sweep")


def test_the_exporter_serves_every_pair_and_its_own_health(exporter):
    status, body, headers = fetch(f"{exporter}/metrics")
    text = body.decode("utf-8")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    up = [line for line in text.splitlines() if line.startswith("dvc_service_up{")]
    assert len(up) == 3
    assert sum(line.endswith(" 1.0") for line in up) == 2
    birth = next(line for line in up if 'service="c-birth"' in line)
    assert birth.endswith(" 0.0") and 'unit="Thị trấn Sóc Sơn"' in birth
    assert 'reason="body"' in text and 'dvc_exporter_targets{exporter="availability"} 3.0' in text
    assert fetch(f"{exporter}/-/healthy")[:2] == (200, b"Healthy\n")


def test_the_exporter_gzips_for_scrapers_that_ask(exporter):
    plain = fetch(f"{exporter}/metrics")[1]
    status, body, headers = fetch(f"{exporter}/metrics", {"Accept-Encoding": "gzip"})
    assert (status, headers.get("Content-Encoding")) == (200, "gzip")
    assert gzip.decompress(body).splitlines()[:3] == plain.splitlines()[:3]


def test_unknown_paths_are_not_found(exporter):
    assert fetch(f"{exporter}/probe")[0] == 404


def test_the_exporter_stops_cleanly_on_sigterm(servers, tmp_path):
    config, targets = write_inputs(tmp_path, servers, servers.ports["ok"])
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "exporters.availability", "--listen", f"127.0.0.1:{port}",
         "--config", str(config), "--targets", str(targets), "--interval", "1", "--timeout", "0.2"],
        cwd=ROOT,
    )  # fmt: skip
    # Signal it once it serves: earlier, Python's default SIGTERM action would kill it
    # mid-import (exit -15), which is not what this test is about.
    wait_for_sweep(f"http://127.0.0.1:{port}", process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--shard", "3/2"], "--shard '3/2' must be i/n"),
        (["--interval", "1", "--timeout", "5"], "interval 1s is shorter than timeout 5s"),
        (["--listen", "nowhere"], "argument --listen: 'nowhere': write host:port"),
    ],
)
def test_bad_arguments_exit_2_with_what_to_change(servers, tmp_path, extra, message):
    config, targets = write_inputs(tmp_path, servers, servers.ports["ok"])
    done = subprocess.run(
        [sys.executable, "-m", "exporters.availability", "--config", str(config),
         "--targets", str(targets), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
