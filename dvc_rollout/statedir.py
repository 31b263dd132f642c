"""Where every part keeps its runtime state: decided here, once, for every command.

Stacks keep their outputs, credentials and keys under `<root>/<stack>/`, the checks keep
their results store at `<root>/results.sqlite`, Ansible its run artifacts under
`<root>/ansible/`. The root is `$DVC_STATE_DIR`, else `state/` at the repo root, so a
worktree or a test moves all of it with one variable.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_ENV = "DVC_STATE_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DB = "results.sqlite"


def root() -> Path:
    """All runtime state: `$DVC_STATE_DIR`, or `state/` at the repo root."""
    return Path(os.environ.get(STATE_ENV) or REPO_ROOT / "state")


def stack_dir(stack: str) -> Path:
    """One stack's state: outputs, credentials, keys, the deployer's record of resources."""
    return root() / stack


def results_db() -> Path:
    """The checks' results store, shared by every stack (each run records its estate)."""
    return root() / RESULTS_DB
