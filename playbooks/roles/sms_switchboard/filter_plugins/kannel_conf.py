"""Jinja2 filters that write values into kannel.conf exactly as Kannel will read them.

Kannel's config reader (gwlib/cfg.c) takes one `name = value` per line, removes the
quotes around a value and turns `\\\\` and `\\"` inside them back into `\\` and `"`; nothing
else is an escape. It cannot hold a line break (lines are split first), and it reads
ANY line containing the word `include` as an include directive, opening the file the
value names (a password `my-include-pw` stops bearerbox, and its error names the
password). So a value is quoted and escaped by `kannel_quote`, and `kannel_unwritable`
names, before anything is rendered, every setting whose text cannot be written at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# Kannel splits lines on \n, keeps strings as C strings (NUL ends them) and treats a
# line holding "include" (case-sensitive) as an include directive.
FORBIDDEN = ("\n", "\r", "\x00", "include")


def why_unwritable(text: str) -> str | None:
    """Why Kannel cannot read `text` back from a quoted value, or None if it can."""
    for bad in FORBIDDEN:
        if bad in text:
            return "the word 'include'" if bad == "include" else "a line break or NUL"
    return None


def kannel_quote(value: Any) -> str:
    """`value` as a quoted kannel.conf value: `"` and `\\` escaped, the rest as it is."""
    text = "" if value is None else str(value)
    if why_unwritable(text) is not None:
        # The role's check names the setting first; this only stops a value that got past.
        raise ValueError("kannel.conf cannot hold this value (see the role's check task)")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kannel_unwritable(settings: Mapping[str, Any]) -> list[str]:
    """Where in `settings` (name -> value, nested lists and mappings) a text Kannel
    cannot hold sits, e.g. `sms_switchboard_sendsms_users[0].password`. Values are
    never returned: passwords must not reach a log."""
    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{where}.{key}" if where else str(key))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")
        elif isinstance(value, str) and why_unwritable(value) is not None:
            found.append(where)

    walk(settings, "")
    return found


class FilterModule:
    """Ansible's entry point for the role's filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"kannel_quote": kannel_quote, "kannel_unwritable": kannel_unwritable}
