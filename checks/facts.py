"""Pure parsers of what a host prints, so the checks stay one-liners and are unit-tested.

Each function takes the text a command or a /proc file gave and returns plain data;
none of them runs anything.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

_TCP_LISTEN = "0A"


def listening_ports(*proc_net_tcp: str) -> dict[int, set[str]]:
    """Listening TCP ports and their bind addresses from /proc/net/tcp and /proc/net/tcp6."""
    found: dict[int, set[str]] = {}
    for text in proc_net_tcp:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4 or fields[3] != _TCP_LISTEN:
                continue
            address, port = fields[1].split(":")
            found.setdefault(int(port, 16), set()).add(_proc_address(address))
    return found


def _proc_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def local_addresses(fib_trie: str) -> set[str]:
    """The host's own IPv4 addresses, from /proc/net/fib_trie (no `ip` tool needed)."""
    found: set[str] = set()
    previous = ""
    for line in fib_trie.splitlines():
        stripped = line.strip()
        if stripped.startswith("/32 host LOCAL"):
            found.add(previous)
        match = re.match(r"\|-- (\S+)", stripped)
        if match:
            previous = match.group(1)
    return found


def upstream_major(debian_version: str) -> int:
    """`1:128.5.0esr-1~deb12u1` -> 128: the upstream major of a Debian package version."""
    upstream = debian_version.split(":", 1)[-1]
    digits = re.match(r"\d+", upstream)
    return int(digits.group()) if digits else 0


def ini_value(text: str, section: str, key: str) -> str | None:
    """One value of an INI file such as /etc/dvc/portal.conf, or None if absent."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser.get(section, key, fallback=None)


def desktop_exec(text: str) -> str | None:
    """The `Exec=` line of a .desktop shortcut."""
    return ini_value(text, "Desktop Entry", "Exec")


@dataclass(frozen=True)
class Tracking:
    """What `chronyc tracking` says about the clock."""

    reference: str
    stratum: int
    offset_seconds: float
    leap_status: str

    @property
    def synchronised(self) -> bool:
        return self.leap_status == "Normal" and self.stratum > 0 and self.stratum < 16


def chrony_tracking(text: str) -> Tracking:
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    offset = fields.get("System time", "0 seconds").split()
    seconds = float(offset[0]) if offset and _is_number(offset[0]) else 0.0
    return Tracking(
        reference=fields.get("Reference ID", ""),
        stratum=int(fields.get("Stratum", "0") or 0),
        offset_seconds=seconds,
        leap_status=fields.get("Leap status", ""),
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def free_bytes(df_output: str) -> int:
    """Available bytes from `df -P -B1 <path>` (second line, fourth column)."""
    lines = df_output.strip().splitlines()
    return int(lines[-1].split()[3])


def kannel_smscs(status_xml: str) -> dict[str, str]:
    """SMSC id -> status word (`online`, `re-connecting`, `dead`, ...) from status.xml."""
    root = ET.fromstring(status_xml)
    found: dict[str, str] = {}
    for smsc in root.iter("smsc"):
        name = (smsc.findtext("admin-id") or smsc.findtext("id") or "").strip()
        status = (smsc.findtext("status") or "").split()
        if name:
            found[name] = status[0] if status else ""
    return found


def prometheus_down_targets(targets_json: str) -> list[str]:
    """`job instance: last error` for every active target that is not up."""
    data = json.loads(targets_json)
    down = []
    for target in data.get("data", {}).get("activeTargets", []):
        if target.get("health") != "up":
            labels = target.get("labels", {})
            down.append(
                f"{labels.get('job', '?')} {labels.get('instance', '?')}: "
                f"{target.get('health')} ({target.get('lastError') or 'no scrape yet'})"
            )
    return down


def kannel_status_access(conf: str) -> tuple[int, str]:
    """The admin port and the status password (else the admin one) from `group = core`."""
    core: dict[str, str] = {}
    in_core = False
    for line in conf.splitlines():
        name, sep, value = (part.strip() for part in line.partition("="))
        if not sep or name.startswith("#"):
            continue
        if name == "group":
            in_core = value == "core"
        elif in_core:
            core[name] = value.strip('"')
    password = core.get("status-password") or core.get("admin-password", "")
    return int(core.get("admin-port", "13000")), password
