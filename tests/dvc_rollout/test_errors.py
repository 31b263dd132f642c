"""One error root and one table of exit statuses for every command of the project."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from dvc_rollout.errors import (
    DvcRolloutError,
    EnvironmentProblem,
    ExitStatus,
    UsageError,
    run_command,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "dvc_rollout",
    "inventory",
    "infra",
    "exporters",
    "checks",
    "playbooks",
    "signoff",
    "bench",
)
# Not project modules: the Pulumi program runs when imported, and the lab images' stand-ins
# are standalone scripts inside their containers. (An exporter's __main__ is imported: its
# `if __name__ == "__main__"` guard keeps it from running.)
SKIPPED = ("infra/__main__.py", "infra/images/")


def _project_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(SKIPPED) or "__pycache__" in relative:
                continue
            names.append(relative.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    return names


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for name in _project_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_every_exception_class_of_the_project_derives_from_the_root() -> None:
    classes = _exception_classes()
    assert len(classes) > 20  # the walk found the project's errors
    outside = [
        f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, DvcRolloutError)
    ]
    assert outside == [], "derive these from dvc_rollout.errors.DvcRolloutError (or a subclass)"


def test_every_error_exits_with_a_status_of_the_one_table() -> None:
    odd = {
        f"{c.__module__}.{c.__qualname__}": c.exit_code
        for c in _exception_classes()
        if issubclass(c, DvcRolloutError) and c.exit_code not in set(ExitStatus)
    }
    assert odd == {}


def test_the_table() -> None:
    assert [(s.name, s.value) for s in ExitStatus] == [
        ("OK", 0),
        ("FAILED", 1),
        ("BAD_INPUT", 2),
        ("ENVIRONMENT", 3),
        ("INTERRUPTED", 130),
        ("CLOSED_PIPE", 141),
    ]
    assert DvcRolloutError.exit_code == ExitStatus.FAILED
    assert UsageError.exit_code == ExitStatus.BAD_INPUT
    assert EnvironmentProblem.exit_code == ExitStatus.ENVIRONMENT


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UsageError("--phase 3: the plan has phases 1 and 2"), 2),
        (EnvironmentProblem("the Docker engine does not answer"), 3),
        (DvcRolloutError("the lab did not become healthy"), 1),
    ],
)
def test_a_project_error_is_one_line_and_its_status(
    error: DvcRolloutError, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    def body() -> int:
        raise error

    assert run_command("tool", body) == status
    assert capsys.readouterr().err == f"tool: error: {error}\n"


def test_ctrl_c_is_130_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        raise KeyboardInterrupt

    assert run_command("tool", body) == 130
    assert capsys.readouterr().err == "tool: interrupted\n"


def test_a_bug_keeps_its_traceback() -> None:
    def body() -> int:
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError, match="a bug"):
        run_command("tool", body)


def test_the_body_status_is_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command("tool", lambda: ExitStatus.FAILED) == 1
    assert capsys.readouterr().err == ""
