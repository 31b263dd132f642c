"""HTML of the on-call status page: server-rendered, self-refreshing, no scripts.

A meta refresh instead of JavaScript keeps the page working on locked-down desk PCs
and leaves nothing that can fail silently in the browser.
"""

from __future__ import annotations

from typing import Any

import jinja2

from signoff.adapters import SERVICE_UP

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("signoff", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(snapshot: dict[str, Any]) -> str:
    """The page for one snapshot (see `signoff.status.snapshot`); parts a snapshot lacks
    (one made by hand, or by an older page) are shown empty, never guessed."""
    full = {
        "service_names": {},
        "history": {"services": [], "panels": []},
        "incidents": [],
        "generated_at_hanoi": snapshot.get("generated_at", ""),
        **snapshot,
        "alerts": [
            {
                "summary_vi": a.get("summary", ""),
                "summary_en": "",
                "since": a.get("starts_at", ""),
                **a,
            }
            for a in snapshot.get("alerts", [])
        ],
    }
    return _ENV.get_template("status.html.j2").render(s=full, metric=SERVICE_UP)
