"""CPU time and memory of a process, read from /proc, for benchmarks that compare processes."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used so far (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After "pid (comm) ", utime and stime are fields 12 and 13 (0-based 11 and 12).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_bytes(pid: int) -> dict[str, int]:
    """Resident set size now (`rss`) and at its peak (`peak_rss`), in bytes."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found["rss" if key == "VmRSS" else "peak_rss"] = int(value.split()[0]) * 1024
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy since boot (from /proc/stat).

    Read before and after a run, it counts everything the run made busy, including
    processes it never sees (the Docker engine, commands inside containers).
    """
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS
