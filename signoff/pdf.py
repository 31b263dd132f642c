"""The HTML report printed to PDF with headless Chromium: boards sign paper.

Chromium runs with a fresh profile that is thrown away, no network services of its own
(no sync, no component updates, no background requests) and no sandbox (it runs as root
in CI). A machine without Chromium still gets the HTML report; the PDF is then left out
with a warning that says how to get it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dvc_rollout.errors import EnvironmentProblem

# Headless Chromium that reaches nothing but the page it is given (also the tests' browser).
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
FLAGS = (*HEADLESS, "--no-pdf-header-footer")
TIMEOUT_SECONDS = 120


def print_pdf(html: Path, pdf: Path) -> Path | None:
    """Print `html` to `pdf` (which must not exist); None when Chromium is not installed."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        print(
            "dvc-rollout: warning: chromium is not installed, so no PDF of the report was "
            "printed: `apt-get install chromium`, or open the HTML report and print it",
            file=sys.stderr,
        )
        return None
    if pdf.exists():
        raise EnvironmentProblem(f"{pdf} exists already: a report is never overwritten")
    with tempfile.TemporaryDirectory(prefix="dvc-chromium-") as profile:
        try:
            done = subprocess.run(
                [
                    binary,
                    *FLAGS,
                    f"--user-data-dir={profile}",
                    f"--print-to-pdf={pdf}",
                    html.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(
                f"chromium did not print {html} within {TIMEOUT_SECONDS} s: print the HTML "
                "report by hand, or pass --no-pdf"
            ) from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise EnvironmentProblem(
            f"chromium could not print {html} to PDF (exit {done.returncode}): "
            f"{done.stderr.strip()[-300:]}; print the HTML report by hand, or pass --no-pdf"
        )
    return pdf
