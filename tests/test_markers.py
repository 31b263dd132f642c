"""`make check` leaves out exactly the tests that need Docker, chosen by marker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collected(marker: str, *files: str) -> set[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", marker, *files]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.split("[")[0] for line in done.stdout.splitlines() if "::" in line}


def test_image_and_lab_tests_are_docker_and_engine_free_ones_are_not() -> None:
    files = (
        "tests/infra/test_images_build.py",  # image fixtures, plus one engine-free test
        "tests/infra/test_lab_portal.py",  # marked `lab`
        "tests/infra/test_program_graph.py",  # its own `lab` fixture: Pulumi mocks only
    )
    engine_free = _collected("not docker", *files)
    assert engine_free == {
        "tests/infra/test_images_build.py::test_a_stopped_engine_is_an_environment_problem",
        *_collected("", "tests/infra/test_program_graph.py"),
    }
    docker = _collected("docker", *files)
    assert "tests/infra/test_images_build.py::test_every_image_is_built_under_its_content_tag" in (
        docker
    )
    assert {name.split("::")[0] for name in docker} == {
        "tests/infra/test_images_build.py",
        "tests/infra/test_lab_portal.py",
    }
