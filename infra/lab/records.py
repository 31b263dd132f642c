"""Synthetic officials' records for the lab's sampled sites (LAB PART, never real people).

The real records.yaml is empty until the rollout teams fill it; the lab fills it for
its sample so that configuration (officials' accounts on terminals), readiness checks
and the sign-off have something real to act on. The file lives in the stack's state
folder and is used through `DVC_INVENTORY_RECORDS`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

import inventory
from dvc_rollout import statedir
from dvc_rollout.stack_outputs import StackOutputs

OFFICIALS_PER_SITE = 2


def records_path(stack: str) -> Path:
    return statedir.stack_dir(stack) / "records.yaml"


def synthetic(inv: inventory.Inventory, site_codes: list[str]) -> dict[str, Any]:
    """Two officials, one training session and one staffed helpdesk per sampled site."""
    accounts, training, helpdesk = [], [], []
    for code in site_codes:
        site = inv.sites[code]
        first_phase = inv.phases[min(site.phases)]
        for n in range(1, OFFICIALS_PER_SITE + 1):
            accounts.append(
                {
                    "unit": code,
                    "username": f"cb{code}{'abcdefgh'[n - 1]}",
                    "full_name": f"Cán bộ thử nghiệm {code}-{n}",
                    "role": "official",
                }
            )
        training.append(
            {
                "unit": code,
                "date": first_phase.go_live - timedelta(days=7),
                "attendees": OFFICIALS_PER_SITE,
                "topic": "Tập huấn sử dụng phần mềm DVC (lab)",
            }
        )
        helpdesk.append({"unit": code, "staff": 1, "volunteers": 1})
    return {"accounts": accounts, "training": training, "helpdesk": helpdesk}


def write(stack: str, outputs: StackOutputs) -> Path:
    """Write the stack's synthetic records.yaml and check it loads with the inventory."""
    path = records_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = synthetic(inventory.load(), outputs.sampled_sites())
    header = "# LAB PART: synthetic officials' records for the lab's sample. Not real people.\n"
    path.write_text(
        header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    inventory.load(records=path)
    return path
