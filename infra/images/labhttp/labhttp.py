"""LAB PART, not the product: the HTTP plumbing the lab's stand-ins share.

The portal stand-in, the SMSC simulator and the webhook recorder are standalone scripts
in Debian containers with the standard library only (no project code, no
prometheus_client). They speak HTTP/1.1 with keep-alive, because their clients keep
connections open (nginx keeps 64 to the portal, Kannel and Alertmanager keep theirs);
the exporters' `exporters.serving` runs wsgiref, which answers one request per
connection, so the stand-ins share this small module instead. Every stand-in gets:

- exact Content-Length on every answer, the request body always read (keep-alive safe),
  and a cap on its size;
- `HEAD` answered like `GET` without the body;
- a per-read timeout, so a silent client cannot hold a thread for ever;
- SIGTERM (docker stop) closing the listener at once and exiting 0.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The client announced a body above MAX_BODY_BYTES."""


class Handler(BaseHTTPRequestHandler):
    """A keep-alive JSON/text handler; subclasses add do_GET, do_POST, ..."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    server_version = "dvc-lab-stand-in"

    def log_message(self, format: str, *args: Any) -> None:
        """Per-request lines are dropped: a monitoring sweep makes thousands."""

    def reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        """Answer `body` (text as is, anything else as JSON) with its exact length."""
        data = (
            body.encode("utf-8")
            if isinstance(body, str)
            else json.dumps(body, ensure_ascii=False).encode("utf-8")
        )
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def body(self) -> bytes:
        """The request body (read whole, so the next request on the connection parses)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise BodyTooLarge(f"a body of {length} bytes is above {MAX_BODY_BYTES}")
        return self.rfile.read(length) if length > 0 else b""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except BodyTooLarge as exc:
            self.reply(413, {"error": str(exc)})

    def do_HEAD(self) -> None:
        """HEAD runs the GET; `reply` leaves the body out."""
        do_get: Callable[[], None] | None = getattr(self, "do_GET", None)
        if do_get is None:
            self.reply(405, {"error": "no GET here"})
        else:
            do_get()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve(name: str, server: ThreadingHTTPServer, *background: threading.Thread) -> None:
    """Serve until SIGTERM or SIGINT, then close the listener and return (exit 0)."""
    # The handler only notes the signal: it runs in the main thread, maybe inside a lock
    # the main thread holds, so it must take none itself.
    signalled: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: signalled.append(signum))
    for thread in background:
        thread.start()
    serving = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    serving.start()
    host, port = server.server_address[:2]
    sys.stderr.write(f"{name}: LAB stand-in listening on {host!s}:{port}\n")
    while not signalled:
        time.sleep(0.25)
    server.shutdown()
    server.server_close()
    sys.stderr.write(f"{name}: stopped\n")
