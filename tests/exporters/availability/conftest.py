"""Real misbehaving HTTP servers on 127.0.0.1 for the availability exporter's tests.

Each behaviour listens on its own port, served by asyncio in a background thread, so
tests drive the real client against real sockets: a server that hangs, resets, trickles,
answers 500, sends garbage, or answers 200 with the wrong body.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import uvloop

from exporters.availability.config import Check
from exporters.availability.endpoint import Endpoint
from exporters.availability.targets import LABEL_NAMES, Target

T = TypeVar("T")

OK_BODY = json.dumps({"status": "ok"}).encode()
SLOW_SECONDS = 5.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _answer(status: str, body: bytes, extra: str = "", keep_alive: bool = False) -> bytes:
    connection = "keep-alive" if keep_alive else "close"
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n{extra}\r\n"
    )
    return head.encode() + body


class Servers:
    """Runs one asyncio server per behaviour; `url(name)` gives a URL that reaches it."""

    BEHAVIOURS = (
        "ok",
        "hang",
        "reset",
        "slow",
        "error500",
        "garbage",
        "wrong_body",
        "not_json",
        "chunked",
        "until_close",
        "interim",
        "tls_peer",
    )

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ports: dict[str, int] = {}
        self.accepted: dict[str, int] = dict.fromkeys(self.BEHAVIOURS, 0)
        self._servers: list[asyncio.Server] = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start_all(), self.loop).result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop_all(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def url(self, name: str, path: str = "/dvc/00376/c-marriage/health") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    async def _start_all(self) -> None:
        for name in self.BEHAVIOURS:
            handler = getattr(self, f"_{name}")
            server = await asyncio.start_server(self._counting(name, handler), "127.0.0.1", 0)
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]

    async def _stop_all(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def _counting(self, name: str, handler: Handler) -> Handler:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted[name] += 1
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.transport.abort()

        return serve

    # -- behaviours -------------------------------------------------------------------
    async def _ok(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            keep_alive = b"connection: keep-alive" in head.lower()
            writer.write(_answer("200 OK", OK_BODY, keep_alive=keep_alive))
            await writer.drain()
            if not keep_alive:
                return

    async def _hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    async def _reset(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    async def _slow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        answer = _answer("200 OK", OK_BODY)
        for index in range(len(answer)):
            writer.write(answer[index : index + 1])
            await asyncio.sleep(SLOW_SECONDS / len(answer))

    async def _error500(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_answer("500 Internal Server Error", b'{"status":"error"}'))
        await writer.drain()

    async def _garbage(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(bytes(range(256)) * 4)
        await writer.drain()
        await reader.read()

    async def _wrong_body(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_answer("200 OK", b'{"status":"maintenance"}'))
        await writer.drain()

    async def _not_json(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_answer("200 OK", b"<html>OK</html>"))
        await writer.drain()

    async def _chunked(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        half = len(OK_BODY) // 2
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for part in (OK_BODY[:half], OK_BODY[half:]):
            writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _until_close(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK_BODY)
        await writer.drain()
        writer.close()

    async def _interim(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + _answer("200 OK", OK_BODY))
        await writer.drain()

    async def _tls_peer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # a TLS ClientHello arrives; answer in plain HTTP
        writer.write(_answer("400 Bad Request", b"plain HTTP here"))
        await writer.drain()


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    running = Servers()
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def refused_url() -> str:
    """A URL on a 127.0.0.1 port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/dvc/00376/c-marriage/health"


LABELS = {
    "phase": "2",
    "level": "commune",
    "district": "Huyện Sóc Sơn",
    "district_code": "016",
    "unit": "Thị trấn Sóc Sơn",
    "unit_code": "00376",
    "service": "c-marriage",
}

MakeTarget = Callable[..., Target]
Run = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture
def make_target() -> MakeTarget:
    """Build a Target for a URL; label overrides make each target distinct."""

    def make(url: str, check: Check | None = None, **labels: str) -> Target:
        values = {**LABELS, **labels}
        return Target(
            tuple(values[name] for name in LABEL_NAMES), Endpoint.parse(url), check or Check()
        )

    return make


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run[Any]:
    """Run a coroutine on a new loop of each kind the exporter supports."""
    factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def run_on_loop(coro: Coroutine[Any, Any, T]) -> T:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coro)

    return run_on_loop
