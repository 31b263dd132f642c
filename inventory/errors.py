"""Inventory problems, collected in one pass so a user fixes them all at once."""

from __future__ import annotations

from dataclasses import dataclass

from dvc_rollout.errors import UsageError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place in one inventory file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "message": self.message}


class InventoryError(UsageError):
    """The inventory cannot be used as it is; every problem found is listed."""

    def __init__(self, problems: list[Problem], directory: str = "") -> None:
        self.problems = sorted(set(problems))
        self.directory = directory
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        head = f"the inventory in {self.directory} has " if self.directory else "the inventory has "
        head += f"{count} problem{'s' if count != 1 else ''}:"
        lines = [head, *(f"  {p}" for p in self.problems)]
        lines.append("Fix the files named above, then run `dvc-rollout inventory validate`.")
        return "\n".join(lines)


class LookupProblem(UsageError):
    """A name or code given on the command line finds nothing, or more than one thing."""
