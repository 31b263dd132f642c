"""Fixtures for inventory tests: a writable copy of the shipped inventory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inventory import DEFAULT_DATA_DIR


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A copy of the shipped inventory that a test may break."""
    target = tmp_path / "inventory"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target
