"""Re-execute a bench launcher under the project's virtualenv, whichever python3 started it.

Benchmarks are run as `bench/<name>` from any shell; the figures only mean something
with the pinned dependencies of `.venv` (made by `make venv`). Standard library only: it
runs before anything from the venv can be imported.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def reexec(script: str) -> None:
    """Replace this process by `script` under `.venv/bin/python`, unless already there.

    Also puts the repo root on `sys.path`, so the launcher can import the project.
    """
    python = VENV / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(python), [str(python), script, *sys.argv[1:]])
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
