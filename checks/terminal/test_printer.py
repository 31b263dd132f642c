"""The desk can print receipts: CUPS runs and the dvc-printer queue takes and prints jobs."""

from __future__ import annotations

import re
import shlex
import uuid
from typing import Any

import pytest

from checks import expected
from checks.selection import Target

QUEUE = expected.PRINTER_QUEUE


def _fix(target: Target) -> str:
    return f"re-run `{expected.RECONFIGURE.format(host=target.host)}`"


def _enabled(host: Any) -> bool:
    state = host.run("lpstat -p %s", QUEUE)
    return state.rc == 0 and re.search(r"(?<!dis)enabled", state.stdout) is not None


def test_cups_running(host: Any, target: Target) -> None:
    assert host.process.filter(comm=expected.CUPS_DAEMON), (
        f"CUPS ({expected.CUPS_DAEMON}) is not running on {target.host}: start it "
        f"(`service cups start`) or {_fix(target)}"
    )


def test_queue_exists(host: Any, target: Target) -> None:
    device = host.run("lpstat -v %s", QUEUE)
    assert device.rc == 0, f"printer queue {QUEUE} does not exist on {target.host}: {_fix(target)}"


def test_queue_enabled(host: Any, target: Target) -> None:
    assert _enabled(host), (
        f"printer queue {QUEUE} is disabled on {target.host}: run `cupsenable {QUEUE}` "
        f"(the helpdesk account may use sudo) or {_fix(target)}"
    )


def test_queue_accepting(host: Any, target: Target) -> None:
    state = host.run("lpstat -a %s", QUEUE)
    accepting = state.rc == 0 and "not accepting" not in state.stdout
    assert accepting, (
        f"printer queue {QUEUE} on {target.host} rejects jobs: run `cupsaccept {QUEUE}` "
        f"or {_fix(target)}"
    )


def test_test_page_prints(host: Any, target: Target) -> None:
    if not target.print_test:
        pytest.skip("test pages are printed in the lab only (they would waste paper at a desk)")
    if not _enabled(host):
        pytest.skip(f"{QUEUE} is disabled: see printer.queue_enabled")
    title = f"dvc-check-{uuid.uuid4().hex[:12]}"
    page = f"DVC go-live check: {target.site_name}, {target.host}, {title}"
    job = host.run("echo %s | lp -d %s -t %s", page, QUEUE, title)
    assert job.rc == 0, f"{QUEUE} on {target.host} refused a test page: {job.stderr.strip()}"
    # cups-pdf writes a user's pages to their home (root's, or the ssh check account's).
    dirs = " ".join(shlex.quote(d) for d in expected.PDF_OUTPUT_DIRS) + ' "$HOME/PDF"'
    # Looks every 50 ms: a page takes ~0.15 s to come out, so a coarser step is mostly wait.
    wait = (
        f"for i in $(seq {expected.PRINT_WAIT_SECONDS * 20}); do "
        f"find {dirs} -name {shlex.quote(title + '*')} 2>/dev/null | grep -q . && exit 0; "
        "sleep 0.05; done; exit 1"
    )
    printed = host.run("sh -c %s", wait).rc == 0
    if not printed:
        host.run("cancel -a %s", QUEUE)
    assert printed, (
        f"a test page sent to {QUEUE} on {target.host} did not come out within "
        f"{expected.PRINT_WAIT_SECONDS}s: check the printer (paper, cable) with `lpstat -t`, "
        f"or {_fix(target)}"
    )
