"""Reading an HTTP/1.1 response from the bytes received so far.

Health answers are tiny, so the parser works on the whole buffer each time data arrives
and stops as soon as the response is complete; anything that is not HTTP fails at once
instead of waiting for the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporters.availability.reasons import ProbeFailure

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 256 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})
_PREFIX = b"HTTP/1."


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response; `keep_alive` says whether the connection can carry another."""

    status: int
    body: bytes
    keep_alive: bool


def parse_response(buf: bytearray, at_eof: bool) -> Response | None:
    """The response in `buf` if complete, None if more bytes are needed.

    `at_eof` means the peer closed: a body without a length ends there, anything else
    incomplete is a failure. Interim 1xx responses are removed from `buf`.
    """
    while True:
        if buf[: len(_PREFIX)] != _PREFIX[: len(buf)]:
            raise ProbeFailure("http_status", f"answer is not HTTP: {bytes(buf[:40])!r}")
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise ProbeFailure("http_status", f"response head exceeds {MAX_HEAD_BYTES} bytes")
            if at_eof and buf:
                raise ProbeFailure("http_status", "connection closed inside the response head")
            return None
        status, keep_alive, length, chunked = _parse_head(bytes(buf[:end]))
        start = end + 4
        if 100 <= status < 200 and status != 101:
            del buf[:start]
            continue
        if status in _NO_BODY_STATUSES:
            return Response(status, b"", keep_alive and len(buf) == start)
        if chunked:
            body = _dechunk(buf, start)
            if body is None and at_eof:
                raise ProbeFailure("connect", "connection closed inside a chunked body")
            return None if body is None else Response(status, body, keep_alive)
        if length is not None:
            if length > MAX_BODY_BYTES:
                raise ProbeFailure("body", f"body of {length} bytes exceeds {MAX_BODY_BYTES}")
            have = len(buf) - start
            if have >= length:
                return Response(status, bytes(buf[start : start + length]), keep_alive)
            if at_eof:
                raise ProbeFailure("connect", f"connection closed after {have} of {length} bytes")
            return None
        if len(buf) - start > MAX_BODY_BYTES:
            raise ProbeFailure("body", f"body exceeds {MAX_BODY_BYTES} bytes")
        return Response(status, bytes(buf[start:]), False) if at_eof else None


def _parse_head(head: bytes) -> tuple[int, bool, int | None, bool]:
    """Status, keep-alive, content length and chunked-ness from a response head."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    code = parts[1] if len(parts) > 1 else b""
    if len(code) != 3 or not code.isdigit():
        raise ProbeFailure("http_status", f"malformed status line {lines[0][:60]!r}")
    keep_alive = parts[0] == b"HTTP/1.1"
    length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProbeFailure("http_status", f"malformed header line {line[:60]!r}")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == b"content-length":
            if not value.isdigit():
                raise ProbeFailure("http_status", f"bad Content-Length {value[:20]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            if b"close" in value:
                keep_alive = False
            elif b"keep-alive" in value:
                keep_alive = True
    return int(code), keep_alive, length, chunked


def _dechunk(buf: bytearray, pos: int) -> bytes | None:
    """The decoded chunked body starting at `pos`, or None while it is incomplete."""
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProbeFailure("http_status", f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            if buf[eol + 2 : eol + 4] == b"\r\n":
                return bytes(out)
            return bytes(out) if buf.find(b"\r\n\r\n", eol) >= 0 else None
        if len(out) + size > MAX_BODY_BYTES:
            raise ProbeFailure("body", f"body exceeds {MAX_BODY_BYTES} bytes")
        start = eol + 2
        if len(buf) < start + size + 2:
            return None
        out += buf[start : start + size]
        pos = start + size + 2
