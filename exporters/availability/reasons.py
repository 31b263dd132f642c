"""Why a probe failed: the fixed set of reasons the failures counter is labelled with."""

from __future__ import annotations

from dvc_rollout.errors import DvcRolloutError

# The order is the exposition order of dvc_service_probe_failures_total.
REASONS: tuple[str, ...] = ("timeout", "connect", "dns", "tls", "http_status", "body")


class ProbeFailure(DvcRolloutError):
    """A probe's answer was wrong or missing; `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
