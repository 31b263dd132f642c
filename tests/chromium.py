"""Headless Chromium for the tests that look at a page as a person would (status page)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from signoff.pdf import HEADLESS


def browse(url: str, tmp: Path, *action: str) -> str:
    """Headless Chromium once, with its own profile; its stdout (the DOM for --dump-dom)."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is missing: apt-get install chromium (infra/packages/test.txt)")
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    done = subprocess.run(
        [binary, *HEADLESS, f"--user-data-dir={profile}", *action, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout
