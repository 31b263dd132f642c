"""A lean HTTP/1.1 GET client over asyncio protocols, for thousands of tiny health checks.

General-purpose clients spend most of a health check's CPU on machinery it does not need;
this one writes a prebuilt request and parses the answer in place. Each GET opens a fresh
connection unless `reuse_connections` is set (then idle keep-alive connections are pooled
per host). Names are resolved once per sweep, not once per probe. Failures are raised as
`ProbeFailure` with the reason already decided, and every path that gives up aborts its
transport so no socket outlives its probe. Over HTTPS the first handshake with each
endpoint in a sweep also reads its certificate's expiry (`cert_expiry`), so a
certificate about to lapse is seen weeks ahead, not when browsers start refusing it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable

from exporters.availability.endpoint import Endpoint
from exporters.availability.reasons import ProbeFailure
from exporters.availability.response import Response, parse_response


class _Exchange(asyncio.Protocol):
    """One connection; it carries one request at a time and completes `waiter`."""

    __slots__ = ("alive", "buf", "received", "transport", "waiter")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.buf = bytearray()
        self.alive = True
        self.received = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, waiter: asyncio.Future[Response]) -> None:
        self.buf = bytearray()
        self.received = False
        self.waiter = waiter
        if self.transport is not None:
            self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.received = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.alive = False  # bytes nobody asked for: the connection is unusable
            if self.transport is not None:
                self.transport.abort()
            return
        self.buf += data
        try:
            response = parse_response(self.buf, at_eof=False)
        except ProbeFailure as failure:
            self.waiter = None
            waiter.set_exception(failure)
            return
        if response is not None:
            self.waiter = None
            waiter.set_result(response)

    def eof_received(self) -> bool:
        self.alive = False
        self._finish(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        self._finish(exc)

    def _finish(self, exc: Exception | None) -> None:
        """The peer is gone: complete a close-delimited answer or fail the waiter."""
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        self.waiter = None
        try:
            response = parse_response(self.buf, at_eof=True)
        except ProbeFailure as failure:
            waiter.set_exception(failure)
            return
        if response is not None:
            waiter.set_result(response)
            return
        reason = "tls" if isinstance(exc, ssl.SSLError) else "connect"
        cause = f"{type(exc).__name__}: {exc}" if exc else "closed by peer"
        waiter.set_exception(ProbeFailure(reason, f"connection lost before an answer ({cause})"))


def _retrieve(future: asyncio.Future[list[str]]) -> None:
    """Mark a shared lookup's error as seen even when every waiter timed out first."""
    if not future.cancelled():
        future.exception()


class HttpClient:
    """GETs endpoints; call `new_sweep()` before each sweep and `close()` at the end."""

    def __init__(
        self,
        *,
        reuse_connections: bool = False,
        tls_verify: bool = True,
        max_idle: int = 256,
        tls_ca_file: str = "",
    ) -> None:
        self.reuse_connections = reuse_connections
        self.tls_verify = tls_verify
        self.tls_ca_file = tls_ca_file
        self.max_idle = max_idle
        # "host:port" -> Unix time its certificate expires, read once per sweep.
        self.cert_expiry: dict[str, float] = {}
        self._expiry_read: set[str] = set()
        self._idle: dict[tuple[bool, str, int], list[_Exchange]] = {}
        self._lookups: dict[str, asyncio.Future[list[str]]] = {}
        self._ssl: ssl.SSLContext | None = None

    def new_sweep(self) -> None:
        """Forget name lookups and certificates read, so each sweep sees them as they are."""
        self._lookups = {}
        self._expiry_read = set()

    def close(self) -> None:
        """Close every pooled connection."""
        for pool in self._idle.values():
            for conn in pool:
                if conn.transport is not None:
                    conn.transport.abort()
        self._idle.clear()

    def idle_connections(self) -> int:
        return sum(len(pool) for pool in self._idle.values())

    async def get(self, endpoint: Endpoint) -> Response:
        """GET the endpoint; raise ProbeFailure with its reason if no proper answer comes."""
        if self.reuse_connections:
            conn = self._take_idle(endpoint)
            if conn is not None:
                try:
                    return await self._exchange(conn, endpoint)
                except ProbeFailure:
                    if conn.received:
                        raise
                    # The server closed the idle connection first: retry on a fresh one.
        conn = await self._connect(endpoint)
        return await self._exchange(conn, endpoint)

    def _take_idle(self, endpoint: Endpoint) -> _Exchange | None:
        pool = self._idle.get(endpoint.pool_key)
        while pool:
            conn = pool.pop()
            if conn.alive and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _exchange(self, conn: _Exchange, endpoint: Endpoint) -> Response:
        transport = conn.transport
        if transport is None:
            raise ProbeFailure("connect", "connection has no transport")
        waiter: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        reuse = self.reuse_connections
        conn.send(endpoint.request_keep_alive if reuse else endpoint.request_close, waiter)
        try:
            response = await waiter
        except BaseException:
            conn.waiter = None
            conn.alive = False
            transport.abort()
            raise
        if reuse and response.keep_alive and conn.alive and self.idle_connections() < self.max_idle:
            self._idle.setdefault(endpoint.pool_key, []).append(conn)
        else:
            transport.close()
        return response

    async def _connect(self, endpoint: Endpoint) -> _Exchange:
        loop = asyncio.get_running_loop()
        addresses = [endpoint.host] if endpoint.host_is_ip else await self._resolve(endpoint)
        error: OSError | None = None
        for address in addresses:
            try:
                transport, conn = await loop.create_connection(_Exchange, address, endpoint.port)
                break
            except OSError as exc:
                error = exc
        else:
            raise ProbeFailure(
                "connect", f"cannot connect to {endpoint.host}:{endpoint.port}: {error}"
            )
        if endpoint.tls:
            await self._start_tls(loop, transport, conn, endpoint)
        return conn

    async def _start_tls(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        conn: _Exchange,
        endpoint: Endpoint,
    ) -> None:
        try:
            secure = await loop.start_tls(
                transport, conn, self._ssl_context(), server_hostname=endpoint.host
            )
        except (OSError, EOFError) as exc:
            transport.abort()
            raise ProbeFailure("tls", f"TLS handshake with {endpoint.host} failed: {exc}") from None
        except BaseException:
            transport.abort()
            raise
        if secure is None:
            transport.abort()
            raise ProbeFailure("tls", f"TLS handshake with {endpoint.host} did not complete")
        conn.transport = secure
        self._read_expiry(secure, endpoint)

    def _read_expiry(self, transport: asyncio.Transport, endpoint: Endpoint) -> None:
        """The peer certificate's notAfter, once per endpoint and sweep (it costs a parse)."""
        where = f"{endpoint.host}:{endpoint.port}"
        if where in self._expiry_read:
            return
        self._expiry_read.add(where)
        cert = transport.get_extra_info("peercert")
        not_after = cert.get("notAfter") if isinstance(cert, dict) else None
        if isinstance(not_after, str):
            self.cert_expiry[where] = float(ssl.cert_time_to_seconds(not_after))

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = ssl.create_default_context(cafile=self.tls_ca_file or None)
            if not self.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._ssl = context
        return self._ssl

    def _resolve(self, endpoint: Endpoint) -> Awaitable[list[str]]:
        """The host's addresses, looked up once per sweep and shared by its probes."""
        lookup = self._lookups.get(endpoint.host)
        if lookup is None:
            lookup = asyncio.ensure_future(_lookup(endpoint.host, endpoint.port))
            lookup.add_done_callback(_retrieve)
            self._lookups[endpoint.host] = lookup
        return asyncio.shield(lookup)


async def _lookup(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ProbeFailure("dns", f"cannot resolve {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ProbeFailure("dns", f"{host!r} resolves to no address")
    return addresses
