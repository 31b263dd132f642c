"""The rollout inventory: the single source of truth every other part reads.

`load()` returns a checked `Inventory`; nothing else in the project re-types a list
of districts, units or services.
"""

from inventory.errors import InventoryError, Problem
from inventory.loader import DEFAULT_DATA_DIR, load
from inventory.store import Inventory, Pair, Site

__all__ = ["DEFAULT_DATA_DIR", "Inventory", "InventoryError", "Pair", "Problem", "Site", "load"]
