"""Reads status.xml over HTTP and hands the body to `status.parse`.

Kept apart from the parser so the parser stays pure (fixtures in, dataclasses out)
and the collector can be fed a recorded body in tests.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from exporters import http_get, serving
from exporters.kannel.status import GatewayStatus, KannelStatusError, StatusMalformed, parse

StatusSource = Callable[[], GatewayStatus]


class StatusUnreachable(KannelStatusError):
    """Nothing answered at the admin port (Kannel stopped, wrong host or port)."""

    reason = "connect"


class StatusTimeout(KannelStatusError):
    """The admin port accepted but did not answer in time."""

    reason = "timeout"


class StatusHttpError(KannelStatusError):
    """The admin port answered with a non-200 status."""

    reason = "http_status"


def status_url(kannel_url: str, password: str) -> str:
    """`http://host:13000` + password -> the status.xml URL Kannel's admin port serves."""
    base = kannel_url.rstrip("/")
    if not base.endswith("status.xml"):
        base += "/status.xml"
    if not password:
        return base
    return f"{base}?{urllib.parse.urlencode({'password': password})}"


class StatusTooLarge(KannelStatusError):
    """The answer is far larger than any status.xml: not Kannel's page."""

    reason = "parse"


_ERRORS: dict[str, type[KannelStatusError]] = {
    "connect": StatusUnreachable,
    "tls": StatusUnreachable,
    "timeout": StatusTimeout,
    "http": StatusMalformed,
    "too_large": StatusTooLarge,
}


class HttpStatusSource:
    """Fetches and parses status.xml each call; errors carry the reason label.

    A call made while answering a scrape takes at most what is left of the scrape's
    budget (`exporters.serving.time_left`), and never more than `timeout`: a hung
    Kannel then reads as `dvc_kannel_up 0` with reason `timeout`, in time for the
    scrape, instead of failing the scrape and blinding every Kannel alert.
    """

    def __init__(self, kannel_url: str, password: str, timeout: float = 5.0) -> None:
        self._url = status_url(kannel_url, password)
        self._shown = status_url(kannel_url, "")
        self._timeout = timeout

    def __call__(self) -> GatewayStatus:
        return parse(self.fetch())

    def fetch(self) -> str:
        budget = min(self._timeout, serving.time_left(self._timeout))
        try:
            answer = http_get.get(self._url, budget)
        except http_get.GetFailed as e:
            hint = {
                "connect": "is bearerbox running?",
                "timeout": "Kannel accepts but does not answer: hung or overloaded",
            }.get(e.reason, "check --kannel-url")
            raise _ERRORS[e.reason](f"Kannel status page: {e}; {hint}") from None
        if answer.status != 200:
            raise StatusHttpError(
                f"Kannel {self._shown} answered HTTP {answer.status}: check --kannel-url"
            )
        return answer.body.decode("utf-8", errors="replace")
