"""One probe: GET a target within its deadline and judge the answer against its check."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass

from exporters.availability.config import Check
from exporters.availability.httpclient import HttpClient
from exporters.availability.reasons import ProbeFailure
from exporters.availability.response import Response
from exporters.availability.targets import Target


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe found; `reason` is None exactly when the target is up."""

    up: bool
    duration: float
    reason: str | None = None
    detail: str = ""
    status: int | None = None


async def probe(client: HttpClient, target: Target, deadline: float) -> ProbeResult:
    """Probe one target; never raises for anything the target does, only on cancellation.

    `deadline` is on the loop's clock; durations use perf_counter, as uvloop's clock
    counts whole milliseconds.
    """
    start = time.perf_counter()
    try:
        async with asyncio.timeout_at(deadline):
            response = await client.get(target.endpoint)
    except TimeoutError:
        return ProbeResult(
            False, time.perf_counter() - start, "timeout", "no complete answer in time"
        )
    except ProbeFailure as failure:
        return ProbeResult(False, time.perf_counter() - start, failure.reason, failure.detail)
    except OSError as exc:
        reason = "tls" if isinstance(exc, ssl.SSLError) else "connect"
        return ProbeResult(
            False, time.perf_counter() - start, reason, f"{type(exc).__name__}: {exc}"
        )
    duration = time.perf_counter() - start
    wrong = judge(target.check, response)
    if wrong is not None:
        return ProbeResult(False, duration, wrong.reason, wrong.detail, response.status)
    return ProbeResult(True, duration, status=response.status)


def judge(check: Check, response: Response) -> ProbeFailure | None:
    """The reason a response is not the healthy answer, or None if it is."""
    if response.status not in check.statuses:
        wanted = ", ".join(str(s) for s in sorted(check.statuses))
        return ProbeFailure("http_status", f"status {response.status}, expected {wanted}")
    if check.json_fields is not None:
        try:
            document = json.loads(response.body)
        except ValueError:
            return ProbeFailure("body", f"body is not JSON: {response.body[:60]!r}")
        if not isinstance(document, dict):
            return ProbeFailure("body", "body is JSON but not an object")
        for key, wanted_value in check.json_fields:
            found = document.get(key)
            if found != wanted_value:
                return ProbeFailure("body", f"{key!r} is {found!r}, expected {wanted_value!r}")
    if check.text is not None and check.text.encode() not in response.body:
        return ProbeFailure("body", f"body lacks {check.text!r}")
    return None
