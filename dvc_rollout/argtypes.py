"""Argparse types for every flag: a value out of range is argparse's `error:` line, exit 2.

Operators type flags by hand, often tired; a date of year 1, a port of 99999, a window of
ten thousand years or a threshold of `nan` must be refused where it is typed, naming the
flag, not crash deep inside a command or quietly judge nothing. Each function here is
an argparse `type=`: it takes the text, returns the checked value, and raises
`argparse.ArgumentTypeError` saying what is allowed (argparse adds the flag's name).
The ranges are stated once here, so every command agrees on them.
"""

from __future__ import annotations

import argparse
import math
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

# Hanoi's clock: a time written without a zone is a time in Hanoi (the plan's clock).
HANOI = timezone(timedelta(hours=7), "ICT")
# Dates the rollout can be judged at: the plan is of 2017; anything outside this range
# is a typo (0001-01-01, 20177-07-15), not a real question.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
# Durations: one number and one unit, as Prometheus writes them (24h, 90m, 7d).
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
YEAR = 366 * 86400
# Free text on the command line (names, patterns): one line, this long at most.
MAX_TEXT = 200
# Stack names become container, network and folder names: plain ASCII only.
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
SQLITE_MAGIC = b"SQLite format 3\x00"

Type = Callable[[str], object]


class Duration(NamedTuple):
    """A duration as typed (kept for reports and Prometheus) and in seconds."""

    text: str
    seconds: int


def _fail(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


def _shown(text: str) -> str:
    """The value as the error message shows it: quoted, and cut if very long."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def integer(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """A whole number from `low` to `high` (both included)."""

    def parse(text: str) -> int:
        raw = text.strip()
        if not re.fullmatch(r"[+-]?\d{1,18}", raw):
            raise _fail(f"{_shown(text)} is not {what}: give one from {low} to {high}")
        value = int(raw)
        if not low <= value <= high:
            raise _fail(f"{value} is out of range: give {what} from {low} to {high}")
        return value

    parse.__name__ = "integer"
    return parse


phase = integer(1, 99, "a phase number")


def number(low: float, high: float, what: str = "a number") -> Callable[[str], float]:
    """A finite number in the open-closed range (`low`, `high`]."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not low < value <= high:
            raise _fail(
                f"{_shown(text)} is out of range: give {what} above {low:g} and at most {high:g}"
            )
        return value

    parse.__name__ = "number"
    return parse


def threshold(text: str) -> float:
    """A share: finite, above 0 and at most 1 (0.99 = 99 %)."""
    return number(0.0, 1.0, "a share (e.g. 0.99)")(text)


def duration(
    longest: int = YEAR, shortest: int = 1, what: str = "a duration"
) -> Callable[[str], Duration]:
    """`24h`, `90m`, `7d`, `600s`: one whole number and one unit, in [shortest, longest] s."""

    def parse(text: str) -> Duration:
        raw = text.strip()
        match = re.fullmatch(r"(\d+)([smhdw])", raw)
        if match is None:
            raise _fail(
                f"{_shown(text)} is not {what}: write e.g. 24h, 90m, 7d or 600s "
                "(one number and one unit of s, m, h, d, w)"
            )
        digits = match.group(1)
        seconds = int(digits) * DURATION_UNITS[match.group(2)] if len(digits) <= 12 else -1
        if not shortest <= seconds <= longest:
            raise _fail(
                f"{_shown(raw)} is out of range: give {what} "
                f"from {_human(shortest)} to {_human(longest)}"
            )
        return Duration(raw, seconds)

    parse.__name__ = "duration"
    return parse


def _human(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds % DURATION_UNITS[unit] == 0 and seconds >= DURATION_UNITS[unit]:
            if unit == "w" and seconds % DURATION_UNITS["d"] == 0:
                unit = "d"
            return f"{seconds // DURATION_UNITS[unit]}{unit}"
    return f"{seconds}s"


def seconds(low: float, high: float) -> Callable[[str], float]:
    """A time in seconds, finite, above `low` up to `high`."""
    return number(low, high, "a time in seconds")


def instant(text: str) -> datetime:
    """An ISO date or date-time between 2000 and 2099; no zone means Hanoi time.

    Returned aware, in UTC. A date alone is its midnight in Hanoi.
    """
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        except ValueError:
            raise _fail(
                f"{_shown(text)} is not a date: write 2017-07-14 or 2017-07-14T17:00+07:00"
            ) from None
    if not EARLIEST <= moment.date() <= LATEST:
        raise _fail(
            f"{raw} is out of range: give a date from {EARLIEST} to {LATEST} (e.g. 2017-07-14)"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=HANOI)
    return moment.astimezone(UTC)


def port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    return integer(1, 65535, "a TCP port")(text)


def listen_address(text: str) -> str:
    """`host:port` (IPv6 in brackets); port 0 lets the system pick one. Returned as given."""
    raw = text.strip()
    host, sep, port_text = raw.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not re.fullmatch(r"\d{1,5}", port_text):
        raise _fail(f"{_shown(text)}: write host:port, e.g. 127.0.0.1:8090")
    if not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", host):
        raise _fail(f"{_shown(text)}: the host is not an address or name: write host:port")
    if int(port_text) > 65535:
        raise _fail(f"{_shown(text)}: port {int(port_text)} is out of range: use 0 to 65535")
    return raw


def url(text: str) -> str:
    """An http(s) URL with a host, on one line."""
    raw = text.strip()
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or not one_line(raw):
        raise _fail(f"{_shown(text)} is not an http(s) URL: write e.g. http://127.0.0.1:9090")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise _fail(f"{_shown(text)}: the port is out of range: use 1 to 65535") from exc
    return raw


def one_line(text: str) -> bool:
    """No control characters (line breaks, tabs, escapes): text that stays on its line."""
    return not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def text(longest: int = MAX_TEXT) -> Callable[[str], str]:
    """Free text (a name, a pattern): one line, not empty, at most `longest` characters."""

    def parse(value: str) -> str:
        if not value.strip():
            raise _fail("is empty: give a value")
        if len(value) > longest:
            raise _fail(f"is {len(value)} characters long: at most {longest}")
        if not one_line(value):
            raise _fail(f"{_shown(value)} holds a control character (line break, tab): remove it")
        return value

    parse.__name__ = "text"
    return parse


def stack_name(value: str) -> str:
    """A stack name: ASCII letters, digits, '-' and '_', up to 40, starting alnum."""
    if not STACK_NAME.match(value):
        raise _fail(
            f"{_shown(value)} is not a stack name: use ASCII letters, digits, '-' or '_' "
            "(up to 40, starting with a letter or digit), e.g. lab"
        )
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_level(value: str) -> str:
    """DEBUG, INFO, WARNING or ERROR (any case), returned upper-case."""
    if value.strip().upper() not in LOG_LEVELS:
        raise _fail(f"{_shown(value)} is not a log level: give one of {', '.join(LOG_LEVELS)}")
    return value.strip().upper()


def workers(value: str) -> str:
    """`auto`, or 0 (serial) to 256 parallel workers."""
    if value.strip() == "auto":
        return "auto"
    return str(integer(0, 256, "a worker count (or auto)")(value))


def _path(value: str) -> Path:
    if not value.strip():
        raise _fail("is empty: give a path")
    if not one_line(value) or "\x00" in value:
        raise _fail(f"{_shown(value)} holds a control character: give a plain path")
    return Path(value)


def _kind(found: Path, value: str) -> str | None:
    """'file', 'dir', 'other', or None when nothing is there."""
    try:
        if found.is_dir():
            return "dir"
        if found.is_file():
            return "file"
        return "other" if found.exists() else None
    except OSError as exc:
        raise _fail(f"{_shown(value)} cannot be looked at ({exc.strerror})") from None


def path(value: str) -> Path:
    """A path on one line (it may not exist yet)."""
    return _path(value)


_NOUNS = {"file": "file", "dir": "folder"}


def _existing(value: str, wanted: str) -> Path:
    found = _path(value)
    kind = _kind(found, value)
    if kind is None:
        raise _fail(f"{value}: no such {_NOUNS[wanted]}")
    if kind != wanted:
        raise _fail(f"{value} is not a {_NOUNS[wanted]}")
    return found


def existing_file(value: str) -> Path:
    """A file that exists."""
    return _existing(value, "file")


def existing_dir(value: str) -> Path:
    """A folder that exists."""
    return _existing(value, "dir")


def existing_path(value: str) -> Path:
    """A file or folder that exists."""
    found = _path(value)
    if _kind(found, value) is None:
        raise _fail(f"{value}: no such file or folder")
    return found


def new_file(value: str) -> Path:
    """A file to write: its folder exists, and it is not a folder itself."""
    found = _path(value)
    if _kind(found, value) == "dir":
        raise _fail(f"{value} is a folder: name a file in it")
    if _kind(found.parent, value) != "dir":
        raise _fail(f"{value}: its folder {found.parent} does not exist: create it first")
    return found


def sqlite_store(value: str) -> Path:
    """An existing SQLite database, read as it is (a read-only command never creates one)."""
    found = _path(value)
    kind = _kind(found, value)
    if kind is None:
        raise _fail(f"no results store at {value}: run `dvc-rollout check` first")
    if kind != "file":
        raise _fail(f"{value} is not a file")
    if not is_sqlite(found):
        raise _fail(f"{value} is not a results store (not an SQLite database)")
    return found


def is_sqlite(found: Path) -> bool:
    """The file starts as every SQLite 3 database does (an empty file is not one)."""
    try:
        with found.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False
