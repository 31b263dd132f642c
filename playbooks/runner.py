"""Run the playbooks through ansible-runner: one id per run, progress, a per-host summary.

Every run keeps its artifacts under `state/ansible/artifacts/<run id>` (events, stdout,
stats) so a failed rollout step can be read afterwards; the run id is a UTC timestamp
plus random hex, so no run ever overwrites another's.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dvc_rollout import stack_outputs, statedir
from dvc_rollout.errors import EnvironmentProblem, UsageError
from playbooks import bundled_collections, credentials
from playbooks import stack as stackfiles

PLAYBOOKS_DIR = Path(__file__).resolve().parent
PLAYBOOK = "site.yml"
INVENTORY_SCRIPT = PLAYBOOKS_DIR / "inventory.sh"
ARTIFACTS = Path("ansible") / "artifacts"

Progress = Callable[[str], None]


def artifacts_root() -> Path:
    return statedir.root() / ARTIFACTS


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC time to the second plus 6 random hex digits."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunOptions:
    """What one `dvc-rollout configure` asks for."""

    stack: str = stackfiles.DEFAULT_STACK
    limit: str | None = None
    check: bool = False
    diff: bool = False
    playbook: str = PLAYBOOK
    extravars: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HostSummary:
    host: str
    ok: int
    changed: int
    failed: int
    unreachable: int
    skipped: int

    @property
    def good(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run, read from the runner's final stats."""

    run_id: str
    status: str
    rc: int
    artifacts: Path
    hosts: list[HostSummary]
    redacted: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0 and all(h.good for h in self.hosts)

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["artifacts"] = str(self.artifacts)
        found["ok"] = self.ok
        found["changed"] = self.changed
        return found


def summarize(stats: Mapping[str, Mapping[str, int]] | None) -> list[HostSummary]:
    """Per-host counts from ansible-runner's stats (ok, changed, failures, dark, ...)."""
    if not stats:
        return []
    hosts: set[str] = set()
    for counts in stats.values():
        hosts.update(counts)
    return [
        HostSummary(
            host=h,
            ok=stats.get("ok", {}).get(h, 0),
            changed=stats.get("changed", {}).get(h, 0),
            failed=stats.get("failures", {}).get(h, 0),
            unreachable=stats.get("dark", {}).get(h, 0),
            skipped=stats.get("skipped", {}).get(h, 0),
        )
        for h in sorted(hosts)
    ]


def format_summary(result: RunResult) -> str:
    """The per-host table printed at the end of every run."""
    width = max([len("host"), *(len(h.host) for h in result.hosts)])
    lines = [f"{'host':<{width}}  {'ok':>4} {'changed':>7} {'failed':>6} {'unreachable':>11}"]
    for h in result.hosts:
        lines.append(
            f"{h.host:<{width}}  {h.ok:>4} {h.changed:>7} {h.failed:>6} {h.unreachable:>11}"
        )
    verdict = "ok" if result.ok else f"FAILED ({result.status}, rc={result.rc})"
    lines.append(f"run {result.run_id}: {verdict}; artifacts in {result.artifacts}")
    return "\n".join(lines)


def _progress_handler(progress: Progress) -> Callable[[dict[str, Any]], bool]:
    """Turn runner events into one line per play, task and host result."""
    verbs = {
        "runner_on_ok": "ok",
        "runner_on_failed": "FAILED",
        "runner_on_unreachable": "UNREACHABLE",
        "runner_on_skipped": "skipped",
    }

    def handle(event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            progress(f"PLAY {data.get('play', '')}")
        elif kind == "playbook_on_task_start":
            progress(f"  TASK {data.get('task', '')}")
        elif kind in verbs and kind != "runner_on_skipped":
            verb = verbs[kind]
            changed = (data.get("res") or {}).get("changed") or str(
                event.get("stdout", "")
            ).startswith("changed")  # no_log results are censored, their stdout is not
            if kind == "runner_on_ok" and changed:
                verb = "changed"
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                verb = "failed (ignored)"
            progress(f"    {verb}: {data.get('host', '')}")
        return True  # keep every event in the artifacts

    return handle


def _environment(stack: str, blank: list[str]) -> dict[str, str]:
    """What Ansible and the inventory script need; secret variables are blanked out."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "DVC_STACK": stack,
        statedir.STATE_ENV: str(statedir.root().resolve()),
        "DVC_PYTHON": sys.executable,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(PLAYBOOKS_DIR / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(bundled_collections.path()),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
    }
    env.update({name: "" for name in blank})
    return env


def run(options: RunOptions, progress: Progress | None = None) -> RunResult:
    """Run the playbook once and return its per-host outcome (never raises on failure)."""
    import ansible_runner  # heavy import, only when a run is asked for

    outputs = stack_outputs.load(options.stack)  # fails with advice if the stack is down
    if outputs.kind != "production" and shutil.which("docker") is None:
        raise EnvironmentProblem(
            f"stack {options.stack!r} runs in containers Ansible reaches with the `docker` "
            "CLI: install it (docker.io)"
        )
    creds = credentials.collect(stackfiles.read_secrets(options.stack), os.environ)
    run_id = new_run_id()
    root = artifacts_root()
    root.mkdir(parents=True, exist_ok=True)
    if (root / run_id).exists():
        raise UsageError(f"run id {run_id} already has artifacts in {root}: run again")
    cmdline = []
    if options.check:
        cmdline.append("--check")
    if options.diff:
        cmdline.append("--diff")
    with tempfile.TemporaryDirectory(prefix="dvc-configure-") as private:
        vars_file = creds.write(Path(private) / "credentials.json")
        cmdline.extend(["-e", f"@{vars_file}"])
        runner = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(PLAYBOOKS_DIR),
            playbook=options.playbook,
            inventory=str(INVENTORY_SCRIPT),
            artifact_dir=str(root),
            ident=run_id,
            rotate_artifacts=0,
            limit=options.limit,
            extravars=options.extravars or None,
            cmdline=" ".join(cmdline),
            envvars=_environment(options.stack, credentials.env_names(os.environ)),
            suppress_env_files=True,
            quiet=True,
            event_handler=_progress_handler(progress) if progress else None,
        )
    artifacts = root / run_id
    redacted = credentials.redact((p for p in artifacts.rglob("*") if p.is_file()), creds.values())
    return RunResult(
        run_id=run_id,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else 1),
        artifacts=artifacts,
        hosts=summarize(runner.stats),
        redacted=redacted,
    )
