"""A minimal Alertmanager config routing each district's alerts to its on-call receiver.

Stand-in until the monitoring part's renderer (`exporters.alertmanager`) lands; the
monitoring role calls whichever `monitoring_alertmanager_render_command` names. Alerts
carry a `district_code` label (the per-pair label set), so one route per district sends
them to `inventory/data/oncall.yaml`'s receiver for it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import yaml

import inventory
from inventory.store import Inventory

DEFAULT_RECEIVER = "dvc-operations"


def _receiver(name: str, url: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name}
    if url:
        found["webhook_configs"] = [{"url": url, "send_resolved": True}]
    return found


def render(inv: Inventory, webhook_base: str = "") -> dict[str, Any]:
    """Routes per district on-call; a receiver without a known URL posts to the lab
    webhook (`<webhook_base>/<receiver>`) if given, else stays silent (to be filled)."""
    base = webhook_base.rstrip("/")

    def url(receiver: str, own: str | None) -> str | None:
        return own or (f"{base}/{receiver}" if base else None)

    contacts = [inv.oncall[code] for code in sorted(inv.oncall)]
    return {
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": ["alertname", "district_code"],
            "group_wait": "10s",
            "group_interval": "30s",
            "repeat_interval": "4h",
            "routes": [
                {"receiver": c.receiver, "matchers": [f'district_code="{c.district}"']}
                for c in contacts
            ],
        },
        "receivers": [
            _receiver(DEFAULT_RECEIVER, url(DEFAULT_RECEIVER, None)),
            *(_receiver(c.receiver, url(c.receiver, c.webhook_url)) for c in contacts),
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the Alertmanager config as YAML.")
    parser.add_argument("--webhook-base", default="", help="lab webhook URL prefix")
    args = parser.parse_args(argv)
    yaml.safe_dump(
        render(inventory.load(), args.webhook_base),
        sys.stdout,
        allow_unicode=True,
        sort_keys=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
