"""Fixtures for the sign-off tests: evidence and waivers files under `fixtures/`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from signoff.evidence import Evidence

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def evidence() -> Callable[[str], Evidence]:
    """Load `fixtures/evidence-<name>.json`."""

    def load(name: str) -> Evidence:
        return Evidence.model_validate_json((FIXTURES / f"evidence-{name}.json").read_text("utf-8"))

    return load
