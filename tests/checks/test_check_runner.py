"""The check session records every result, and a run cut short stays incomplete.

The checks run through testinfra's `local://` backend on this machine (which is no
one-stop desk, so most checks fail) — the plugin, the store and the runner are real.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from checks.results import Store
from checks.runner import child_env, pytest_command, run
from checks.selection import Target, write_targets


def _local(n: int = 1) -> list[Target]:
    return [
        Target(
            kind="terminal",
            host=f"term-{code}-1",
            uri="local://",
            expected_hostname=socket.gethostname(),
            site_code=code,
            site_name=f"Bộ phận một cửa {code}",
            unit=f"Đơn vị {code}",
            unit_code=code,
            district="Huyện Sóc Sơn",
            district_code="016",
            phase="2",
            go_live="2017-08-15",
            portal_url="http://127.0.0.1:9",
        )
        for code in (f"{376 + i:05d}" for i in range(n))
    ]


def test_a_run_records_every_check_of_every_host_and_completes(tmp_path: Path) -> None:
    store = Store(tmp_path / "results.sqlite")
    summary = run(_local(2), {"phase": 2}, store=store, workers="0", quiet=True)
    results = store.results(summary.run_id)
    assert summary.complete and not summary.ready
    assert {r.site_code for r in results} == {"00376", "00377"}
    by_check = {r.check_id: r for r in results if r.site_code == "00376"}
    assert by_check["pc.answers"].outcome == "passed"
    assert by_check["pc.is_the_inventory_host"].outcome == "passed"
    queue = by_check["printer.queue_exists"]
    assert queue.outcome == "failed"
    assert queue.message.startswith("printer queue dvc-printer does not exist on term-00376-1")
    assert by_check["printer.test_page_prints"].outcome == "skipped"
    assert {r.phase for r in results} == {"2"} and {r.go_live for r in results} == {"2017-08-15"}


def test_parallel_and_serial_runs_record_the_same_checks(tmp_path: Path) -> None:
    store = Store(tmp_path / "results.sqlite")
    serial = run(_local(2), {}, store=store, workers="0", quiet=True)
    parallel = run(_local(2), {}, store=store, workers="2", quiet=True)
    assert parallel.complete
    # printer.cups_running reads this machine's process table, which also lists the
    # cupsd of every lab container: in `make test` the Docker tests start and stop
    # those beside this test, so its outcome may change between the two runs (CI of
    # stop 18). Every other check reads only this machine's own state.
    outcomes = [
        sorted(
            (r.host, r.check_id, r.outcome if r.check_id != "printer.cups_running" else "-")
            for r in store.results(s.run_id)
        )
        for s in (serial, parallel)
    ]
    assert outcomes[0] == outcomes[1]


WORKER_LOG_PLUGIN = """
import json, os
def pytest_runtest_setup(item):
    with open(os.environ["DVC_TEST_WORKER_LOG"], "a") as log:
        log.write(json.dumps([item.nodeid, os.environ.get("PYTEST_XDIST_WORKER")]) + "\\n")
"""


def test_in_parallel_every_check_of_a_host_runs_on_one_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One worker per host keeps one connection per host; spread, every worker would open
    # one to every host (as `--dist loadgroup` silently did under pytest 9.2).
    (tmp_path / "worker_log_plugin.py").write_text(WORKER_LOG_PLUGIN)
    log = tmp_path / "workers.jsonl"
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("DVC_TEST_WORKER_LOG", str(log))
    store = Store(tmp_path / "results.sqlite")
    run(_local(4), {}, store=store, workers="2", quiet=True, extra=["-p", "worker_log_plugin"])
    workers: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        nodeid, worker = json.loads(line)
        workers.setdefault(nodeid.rsplit("[", 1)[1].rstrip("]"), set()).add(worker)
    assert sorted(workers) == [f"term-{376 + i:05d}-1" for i in range(4)]
    assert all(len(w) == 1 for w in workers.values()), workers
    assert set().union(*workers.values()) == {"gw0", "gw1"}  # and both workers had hosts


def test_a_run_stopped_early_keeps_its_results_and_stays_incomplete(tmp_path: Path) -> None:
    store = Store(tmp_path / "results.sqlite")
    summary = run(_local(2), {}, store=store, workers="0", quiet=True, extra=["--maxfail=1"])
    assert not summary.complete
    run_row = store.run(summary.run_id)
    assert run_row is not None and run_row.status == "incomplete" and run_row.finished is None
    assert store.results(summary.run_id), "results before the stop are kept"


def _start_child(tmp_path: Path, workers: str) -> tuple[Store, int, subprocess.Popen[bytes]]:
    store = Store(tmp_path / "results.sqlite")
    run_id = store.start_run({})
    targets = tmp_path / "targets.json"
    write_targets(_local(40), targets)
    command = pytest_command(targets, store.path, run_id, workers)
    # Ctrl-C reaches the check session as at a terminal even when this test runs in the
    # background (`make test` starts the unit tests with `&`, where the shell ignores
    # SIGINT for them, the child inherits it, and Python then never raises
    # KeyboardInterrupt: the run went on to complete).
    child = subprocess.Popen(
        command,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return store, run_id, child


def _wait_for_results(store: Store, run_id: int, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not store.results(run_id):
        if child.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the check session ended before any result was recorded")
        time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_an_interrupted_run_keeps_earlier_results_and_stays_incomplete(
    tmp_path: Path, sig: signal.Signals
) -> None:
    store, run_id, child = _start_child(tmp_path, "0")
    _wait_for_results(store, run_id, child)
    child.send_signal(sig)
    child.wait(timeout=60)
    kept = store.results(run_id)
    run_row = store.run(run_id)
    assert run_row is not None and run_row.status == "incomplete"
    assert kept and len(kept) < 40 * 18


def test_a_killed_worker_leaves_the_run_incomplete(tmp_path: Path) -> None:
    store, run_id, child = _start_child(tmp_path, "2")
    _wait_for_results(store, run_id, child)
    workers = [p for p in psutil.Process(child.pid).children() if "python" in p.name()]
    assert workers, "xdist workers should be running"
    workers[0].kill()
    child.wait(timeout=120)
    run_row = store.run(run_id)
    assert run_row is not None and run_row.status == "incomplete"
    assert store.results(run_id)


def test_the_pytest_command_runs_serially_with_zero_workers(tmp_path: Path) -> None:
    command = pytest_command(tmp_path / "t.json", tmp_path / "r.sqlite", 1, "0")
    assert "-n" not in command and command[:3] == [sys.executable, "-m", "pytest"]
    parallel = pytest_command(tmp_path / "t.json", tmp_path / "r.sqlite", 1, "4")
    assert parallel[parallel.index("-n") + 1] == "4" and "loadscope" in parallel
