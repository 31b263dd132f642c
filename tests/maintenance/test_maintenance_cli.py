"""`dvc-rollout maintenance` against a real Alertmanager (Debian's) on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dvc_rollout.argtypes import HANOI
from dvc_rollout.cli import main
from maintenance import silences


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("prometheus-alertmanager")
    if exe is None:
        pytest.fail("prometheus-alertmanager is missing (infra/packages/test.txt)")
    config = tmp_path / "am.yml"
    config.write_text("route: {receiver: r}\nreceivers: [{name: r}]\n", encoding="utf-8")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "am.log").open("wb")
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"alertmanager did not start: {(tmp_path / 'am.log').read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_add_list_and_end_a_window_in_hanoi_time(alertmanager: str, capsys) -> None:
    start = datetime.now(UTC).astimezone(HANOI).replace(microsecond=0)
    end = (start + timedelta(hours=2)).replace(second=0)
    argv = ["maintenance", "add", "--alertmanager", alertmanager, "--district", "soc son"]
    argv += ["--unit", "00376", "--service", "c-marriage", "--reason", "Thay bộ định tuyến"]
    argv += ["--from", start.strftime("%Y-%m-%dT%H:%M:%S"), "--to", end.strftime("%Y-%m-%dT%H:%M")]
    argv += ["--author", "Nguyễn Văn Trực"]
    assert main(argv) == 0
    said = capsys.readouterr().out
    silence_id = said.split()[4].rstrip(":")
    assert f"(UTC+7) đến / to {end:%Y-%m-%d %H:%M}:00 (UTC+7)" in said
    (found,) = silences.list_silences(alertmanager)
    assert found.id == silence_id and found.created_by == "Nguyễn Văn Trực"
    assert found.matchers == {"district_code": "016", "unit_code": "00376", "service": "c-marriage"}
    assert found.comment.startswith("Thay bộ định tuyến — bảo trì / maintenance: Huyện Sóc Sơn")
    assert found.ends_at == end.astimezone(UTC)
    assert main(["maintenance", "list", "--alertmanager", alertmanager, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["state"] == "active" and row["to"].endswith("(UTC+7)")
    assert main(["maintenance", "end", "--alertmanager", alertmanager, silence_id]) == 0
    capsys.readouterr()
    assert main(["maintenance", "list", "--alertmanager", alertmanager]) == 0
    assert "no maintenance window" in capsys.readouterr().out
    assert silences.list_silences(alertmanager)[0].state == "expired"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--district", "016", "--to", "2017-07-14"], "has already passed"),
        (["--district", "017", "--unit", "00376", "--to", "2099-01-01"], "not a unit of"),
        (["--district", "016", "--from", "2099-01-02", "--to", "2099-01-01"], "is not after"),
        (["--district", "016", "--to", "31/12/2099"], "is not a date"),
    ],
)
def test_bad_windows_are_refused_with_exit_2(extra, message, capsys) -> None:
    argv = ["maintenance", "add", "--alertmanager", "http://127.0.0.1:9", "--reason", "x"]
    assert main([*argv, *extra]) == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_alertmanager_is_said_with_exit_3(capsys) -> None:
    port = _free_port()
    assert main(["maintenance", "list", "--alertmanager", f"http://127.0.0.1:{port}"]) == 3
    assert "cannot reach Alertmanager" in capsys.readouterr().err


def test_the_signoff_reads_the_windows_that_overlap_its_evidence_window(alertmanager: str) -> None:
    from signoff.adapters import AlertmanagerMaintenance

    now = datetime.now(UTC).replace(microsecond=0)
    made = silences.create(
        alertmanager, {"district_code": "017"}, now, now + timedelta(hours=1), "t", "why"
    )
    source = AlertmanagerMaintenance(alertmanager)
    (found,) = source.windows(now - timedelta(hours=24), now + timedelta(minutes=1))
    assert (found.id, found.district_code, found.author, found.comment) == (made, "017", "t", "why")
    assert source.windows(now - timedelta(hours=24), now - timedelta(hours=1)) == []
