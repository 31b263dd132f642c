"""No project module is named like a standard-library one.

A module named `secrets` inside a package shadows the standard library's for any script
run from that folder, and makes every reader ask which one an import means.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dvc_rollout", "inventory", "infra", "exporters", "checks", "playbooks", "signoff")


def test_no_module_or_folder_shadows_the_standard_library() -> None:
    shadows = sorted(
        path.relative_to(ROOT).as_posix()
        for package in (*PACKAGES, "bench")
        for path in (ROOT / package).rglob("*")
        if "__pycache__" not in path.parts
        and (path.suffix == ".py" or path.is_dir())
        and path.stem in sys.stdlib_module_names
    )
    assert shadows == []
