"""A GET that ends by its deadline: silent, dripping, oversized and foreign answers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from exporters import http_get

Behaviour = Callable[[socket.socket], None]


def _silent(conn: socket.socket) -> None:
    time.sleep(3)


def _drip(conn: socket.socket) -> None:
    """A frozen process behind a live kernel, or a proxy: one byte every 0.3 s, for ever."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    for byte in head + b"x" * 1000:
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def _huge(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")


def _endless(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    for _ in range(100):
        conn.sendall(b"y" * 65536)


def _not_http(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")


def _ok(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 24\r\n\r\n0: Accepted for delivery")


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], str]]:
    socks: list[socket.socket] = []

    def start(behaviour: Behaviour) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        socks.append(listener)

        def loop() -> None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                behaviour(conn)

        threading.Thread(target=loop, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/status.xml?password=s3cret"

    yield start
    for s in socks:
        s.close()


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [(_silent, "timeout"), (_drip, "timeout"), (_huge, "too_large"), (_endless, "too_large"),
     (_not_http, "http")],
    ids=["silent", "slow-drip", "announces-huge", "endless", "not-http"],
)  # fmt: skip
def test_a_bad_server_fails_with_its_reason_by_the_deadline(serve, behaviour, reason) -> None:
    url = serve(behaviour)
    started = time.monotonic()
    with pytest.raises(http_get.GetFailed) as failed:
        http_get.get(url, timeout=1.0)
    assert failed.value.reason == reason
    assert time.monotonic() - started < 1.5
    assert "s3cret" not in str(failed.value), "the password in the query must not be shown"


def test_nothing_listening_is_connect() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(http_get.GetFailed) as failed:
        http_get.get(f"http://127.0.0.1:{port}/", timeout=1.0)
    assert failed.value.reason == "connect"


def test_a_good_answer(serve) -> None:
    answer = http_get.get(serve(_ok), timeout=2.0)
    assert (answer.status, answer.body) == (202, b"0: Accepted for delivery")
