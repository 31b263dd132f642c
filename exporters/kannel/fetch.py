"""Reads status.xml over HTTP and hands the body to `status.parse`.

Kept apart from the parser so the parser stays pure (fixtures in, dataclasses out)
and the collector can be fed a recorded body in tests.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from exporters.kannel.status import GatewayStatus, KannelStatusError, parse

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


class HttpStatusSource:
    """Fetches and parses status.xml each call; errors carry the reason label."""

    def __init__(self, kannel_url: str, password: str, timeout: float = 5.0) -> None:
        self._url = status_url(kannel_url, password)
        self._shown = status_url(kannel_url, "")
        self._timeout = timeout

    def __call__(self) -> GatewayStatus:
        return parse(self.fetch())

    def fetch(self) -> str:
        try:
            with urllib.request.urlopen(self._url, timeout=self._timeout) as resp:
                body: bytes = resp.read()
        except urllib.error.HTTPError as e:
            raise StatusHttpError(
                f"Kannel {self._shown} answered HTTP {e.code}: check --kannel-url"
            ) from e
        except TimeoutError as e:
            raise StatusTimeout(f"Kannel {self._shown} did not answer in {self._timeout:g}s") from e
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, TimeoutError):
                raise StatusTimeout(
                    f"Kannel {self._shown} did not answer in {self._timeout:g}s"
                ) from e
            raise StatusUnreachable(
                f"cannot reach Kannel at {self._shown}: {reason}; is bearerbox running?"
            ) from e
        return body.decode("utf-8", errors="replace")
