"""Kannel's sendsms: one HTTP GET a text, UCS-2 so Vietnamese keeps its diacritics."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from dvc_rollout.errors import EnvironmentProblem


@dataclass(frozen=True)
class Sendsms:
    """Where and as whom to send; the password comes from the environment, never argv."""

    url: str
    user: str
    password: str
    sender: str = ""
    timeout: float = 5.0


class GatewayFailed(EnvironmentProblem):
    """Kannel did not take the text; `reason` is the metric label (connect, timeout, ...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def send(gateway: Sendsms, to: str, text: str) -> str:
    """Hand one text to Kannel; return its answer, or raise GatewayFailed."""
    query = {
        "username": gateway.user,
        "password": gateway.password,
        "to": to,
        "text": text,
        "charset": "UTF-8",
        "coding": "2",
    }
    if gateway.sender:
        query["from"] = gateway.sender
    url = f"{gateway.url}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=gateway.timeout) as answer:
            body = str(answer.read(2048).decode("utf-8", "replace")).strip()
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        body = exc.read(2048).decode("utf-8", "replace").strip()
        raise GatewayFailed(f"http_{exc.code}", body or exc.reason) from None
    except TimeoutError as exc:
        raise GatewayFailed("timeout", f"no answer within {gateway.timeout:g} s ({exc})") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        kind = "timeout" if isinstance(reason, TimeoutError) else "connect"
        raise GatewayFailed(kind, str(reason)) from None
    except OSError as exc:
        raise GatewayFailed("connect", str(exc)) from None
    # Kannel: 202 "0: Accepted for delivery" or "3: Queued for later delivery".
    if status not in (200, 202) or not body.startswith(("0:", "3:")):
        raise GatewayFailed("refused", f"HTTP {status}: {body[:200]}")
    return body
