"""Where a stack's outputs and secrets live on disk, read in one place.

`dvc-rollout lab up` records the Pulumi stack outputs (container names, internal URLs)
in `state/<stack>/outputs.json` and the generated credentials in
`state/<stack>/secrets.json`; the inventory and the runner read them from here so the
paths are named once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dvc_rollout.errors import EnvironmentProblem, UsageError

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUTS_FILE = "outputs.json"
SECRETS_FILE = "secrets.json"
DEFAULT_STACK = "lab"


def state_root() -> Path:
    """All runtime state: `$DVC_STATE_DIR` or `state/` at the repo root."""
    return Path(os.environ.get("DVC_STATE_DIR") or REPO_ROOT / "state")


def stack_dir(stack: str) -> Path:
    return state_root() / stack


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EnvironmentProblem(
            f"no {what} at {path}: bring the stack up first (`dvc-rollout lab up`, or "
            f"`make lab`), or pass the right --stack"
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is unreadable ({exc}): re-run `dvc-rollout lab up`") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object: re-run `dvc-rollout lab up`")
    return data


def read_outputs(stack: str) -> dict[str, Any]:
    """The stack's Pulumi outputs as `lab up` recorded them."""
    return _read_json(stack_dir(stack) / OUTPUTS_FILE, f"outputs of stack {stack!r}")


def read_secrets(stack: str) -> dict[str, Any]:
    """The stack's credentials file, or nothing if the stack keeps none on disk."""
    path = stack_dir(stack) / SECRETS_FILE
    if not path.exists():
        return {}
    return _read_json(path, f"secrets of stack {stack!r}")
