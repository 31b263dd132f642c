"""Synthetic on-call contacts for the lab (LAB PART: no real person, number or address).

The real oncall.yaml has every contact "to be filled"; a lab still has to show an alert
reaching a phone and a mailbox. For each sampled district it invents a contact that
can never be anyone's: a phone number `84000000<code>` (no Vietnamese number starts
84 0…) and an address under `lab.invalid` (a reserved name, RFC 2606). The file lives
in the stack's state folder (`state/<stack>/oncall.yaml`, beside records.yaml) and
replaces the inventory's oncall.yaml for that stack: in the Pulumi program's lab
config and in `dvc-rollout configure`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

import inventory
from dvc_rollout import statedir
from dvc_rollout.stack_outputs import StackOutputs
from inventory import model

HEADER = (
    "# LAB PART: synthetic on-call contacts for the lab's sample. No real person, phone\n"
    "# number or address: numbers 84000000<district> exist nowhere, lab.invalid is reserved.\n"
)


def phone(district: str) -> str:
    return f"84000000{district}"


def email(district: str) -> str:
    return f"oncall-{district}@lab.invalid"


CITY_PHONE = phone("000")
CITY_EMAIL = "oncall-city@lab.invalid"


def synthetic(inv: inventory.Inventory, sampled: Iterable[str]) -> dict[str, Any]:
    """oncall.yaml's content: every district listed, only the sampled ones filled."""
    chosen = set(sampled)
    contacts = []
    for code, district in inv.districts.items():
        filled = code in chosen
        contacts.append(
            {
                "district": code,
                "receiver": f"oncall-{code}",
                "team": f"LAB PART: đội trực thử nghiệm {district.name}" if filled else None,
                "phone": phone(code) if filled else None,
                "email": email(code) if filled else None,
                "webhook_url": None,
            }
        )
    return {
        "contacts": contacts,
        "city": {
            "team": "LAB PART: đội trực thử nghiệm của trung tâm dữ liệu",
            "phone": CITY_PHONE,
            "email": CITY_EMAIL,
            "webhook_url": None,
        },
        "maintenance_windows": [],
    }


def parse(inv: inventory.Inventory, sampled: Iterable[str]) -> model.OncallFile:
    """The synthetic contacts as the inventory's model (what the renderers take)."""
    return model.OncallFile.model_validate(synthetic(inv, sampled))


def oncall_path(stack: str) -> Path:
    return statedir.stack_dir(stack) / "oncall.yaml"


def sampled_districts(outputs: StackOutputs) -> list[str]:
    return [d.code for d in outputs.sample.districts]


def write(stack: str, outputs: StackOutputs) -> Path:
    """Write the stack's synthetic oncall.yaml and check it loads with the inventory."""
    path = oncall_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = synthetic(inventory.load(), sampled_districts(outputs))
    path.write_text(HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    inventory.load(oncall=path)
    return path
