"""Writing reports under `reports/` with timestamped names that never overwrite each other.

A signed report is a record; rewriting one in place would change what was signed. Each
file is created with O_EXCL, and a name already taken gets a numeric suffix instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from dvc_rollout.errors import EnvironmentProblem
from signoff import pdf as printer
from signoff import report_html, report_json, report_md
from signoff.decision import Decision
from signoff.report_meta import ReportMeta

Renderer = Callable[[Decision, ReportMeta], str]
FORMATS: Mapping[str, Renderer] = {
    "html": report_html.render,
    "json": report_json.render,
    "md": report_md.render,
}
MAX_SUFFIX = 1000


def default_dir() -> Path:
    """`reports/` at the repository root (the folder above this package)."""
    return Path(__file__).resolve().parent.parent / "reports"


def stem(phase: int, generated_at: datetime, approved: bool = False) -> str:
    name = f"signoff-phase{phase}-{generated_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{name}-approved" if approved else name


def _create(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def write(
    decision: Decision, meta: ReportMeta, directory: Path | None = None, *, pdf: bool = True
) -> dict[str, Path]:
    """Write the report in every format (and the HTML printed to PDF); never replaces a file.

    Returns format -> path.
    """
    folder = directory if directory is not None else default_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create the reports folder {folder}: {exc}") from None
    texts = {fmt: render(decision, meta) for fmt, render in FORMATS.items()}
    base = stem(decision.evidence.phase, meta.generated_at, meta.approves is not None)
    for n in range(1, MAX_SUFFIX + 1):
        name = base if n == 1 else f"{base}-{n}"
        paths = {fmt: folder / f"{name}.{fmt}" for fmt in texts}
        if any(p.exists() for p in [*paths.values(), folder / f"{name}.pdf"]):
            continue
        written: list[Path] = []
        try:
            for fmt, path in paths.items():
                _create(path, texts[fmt])
                written.append(path)
        except FileExistsError:
            # Someone took the name between our look and our create: leave their files,
            # drop our partial set and try the next suffix.
            for path in written:
                path.unlink()
            continue
        except OSError as exc:
            raise EnvironmentProblem(f"cannot write report {paths[fmt]}: {exc}") from None
        if pdf:
            printed = printer.print_pdf(paths["html"], folder / f"{name}.pdf")
            if printed is not None:
                paths["pdf"] = printed
        return paths
    raise EnvironmentProblem(f"{folder} holds {MAX_SUFFIX} reports named {base}*: clean it up")
