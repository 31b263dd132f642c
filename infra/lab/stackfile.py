"""A stack's plain config as the Pulumi CLI would read it from `Pulumi.<stack>.yaml`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dvc_rollout.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STACK_FILE = "lab"


def stack_file(stack: str, root: Path = REPO_ROOT) -> Path:
    """`Pulumi.<stack>.yaml`; stacks without their own file (test stacks) use the lab's."""
    own = root / f"Pulumi.{stack}.yaml"
    return own if own.exists() else root / f"Pulumi.{DEFAULT_STACK_FILE}.yaml"


def load(stack: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    path = stack_file(stack, root)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read stack config {path}: {exc}") from exc
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise UsageError(f"{path}: `config` must be a mapping of key: value")
    return dict(config)
