"""LAB PART, not the product: an operator SMSC simulator that records what Kannel delivers.

The lab has no telco link, so Kannel's generic HTTP SMSC points here instead. Each
`/send` is answered "Sent." and recorded (in memory and as JSONL on disk) so tests and
probes can check that a notice really left the switchboard. Drills take the SMSC
offline with `POST /admin/offline`: sends are then refused with 503 and a body Kannel
reads as a temporary failure, so messages queue up as they would at a real outage.
The simulator also speaks SMPP on $SIM_SMPP_PORT (2775, see smpp_sim.py): offline, its
sessions are closed and binds refused, which Kannel shows as the SMSC leaving "online".

Endpoints: GET|POST /send?to=&from=&text=[&coding=&charset=], GET /messages[?to=],
DELETE /messages, POST /admin/offline, POST /admin/online, GET /healthz.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import labhttp
from smpp_sim import SmppServer

UCS2 = "2"


def decode_text(raw: bytes, coding: str, charset: str) -> str:
    """Turn Kannel's `%b` (the message's own bytes) back into text.

    Kannel sends UCS-2 (big-endian UTF-16) for coding 2, which Vietnamese notices use;
    otherwise the bytes are in the charset Kannel names, UTF-8 in practice.
    """
    if coding == UCS2 or charset.upper() in {"UTF-16BE", "UCS-2", "UCS-2BE"}:
        return raw.decode("utf-16-be", errors="replace")
    for encoding in (charset or "utf-8", "utf-8"):
        try:
            return raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("latin-1")


class MessageLog:
    """Received messages, kept in memory and appended to a JSONL file that survives restarts."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._messages.append(json.loads(line))

    def add(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message = {"id": len(self._messages) + 1, **message}
            self._messages.append(message)
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(message, ensure_ascii=False) + "\n")
            return message

    def list(self, to: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self._messages if to is None or m["to"] == to]

    def clear(self) -> int:
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
            self._path.unlink(missing_ok=True)
            return count


class SimState:
    """What every request handler shares: the identity, the log and the on/offline switch."""

    def __init__(self, sim_id: str, log: MessageLog) -> None:
        self.sim_id = sim_id
        self.log = log
        self.online = True
        self.smpp: SmppServer | None = None

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.log.add(
            {"sim_id": self.sim_id, **message, "received_at": datetime.now(UTC).isoformat()}
        )


class Handler(labhttp.Handler):
    """Kannel keeps its connections: labhttp answers with exact lengths."""

    server_version = "dvc-lab-smsc-sim"
    state: SimState

    def _send(self) -> None:
        url = urlsplit(self.path)
        query = url.query
        body = self.body()
        if body:
            query = f"{query}&{body.decode('latin-1')}" if query else body.decode("latin-1")
        # latin-1 maps each escaped byte to one code point, so the raw bytes survive.
        params = {k: v[0] for k, v in parse_qs(query, encoding="latin-1").items()}
        if not self.state.online:
            sys.stderr.write(f"smsc-sim {self.state.sim_id}: offline, refused a message\n")
            self.reply(HTTPStatus.SERVICE_UNAVAILABLE, "Offline, retry later.", "text/plain")
            return
        missing = [name for name in ("to", "text") if name not in params]
        if missing:
            self.reply(HTTPStatus.BAD_REQUEST, f"Missing {', '.join(missing)}.", "text/plain")
            return
        coding = params.get("coding", "")
        charset = params.get("charset", "")
        self.state.log.add(
            {
                "sim_id": self.state.sim_id,
                "to": params["to"],
                "from": params.get("from", ""),
                "text": decode_text(params["text"].encode("latin-1"), coding, charset),
                "coding": coding,
                "received_at": datetime.now(UTC).isoformat(),
            }
        )
        self.reply(HTTPStatus.OK, "Sent.", "text/plain")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/send":
            self._send()
        elif url.path == "/messages":
            to = parse_qs(url.query).get("to", [None])[0]
            self.reply(HTTPStatus.OK, self.state.log.list(to))
        elif url.path == "/healthz":
            self.reply(
                HTTPStatus.OK,
                {"status": "ok", "sim_id": self.state.sim_id, "online": self.state.online},
            )
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {url.path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/send":
            self._send()
            return
        self.body()
        if path in ("/admin/offline", "/admin/online"):
            self.state.online = path == "/admin/online"
            if not self.state.online and self.state.smpp is not None:
                self.state.smpp.drop_all()
            sys.stderr.write(f"smsc-sim {self.state.sim_id}: now {path.rsplit('/', 1)[1]}\n")
            self.reply(HTTPStatus.OK, {"sim_id": self.state.sim_id, "online": self.state.online})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}"})

    def do_DELETE(self) -> None:
        self.body()
        if urlsplit(self.path).path == "/messages":
            self.reply(HTTPStatus.OK, {"cleared": self.state.log.clear()})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path}"})


def make_server(host: str, port: int, state: SimState) -> labhttp.Server:
    """A threaded server whose handlers share `state`."""
    return labhttp.Server((host, port), type("BoundHandler", (Handler,), {"state": state}))


def main() -> None:
    sim_id = os.environ.get("SIM_ID", "sim")
    data_dir = Path(os.environ.get("SIM_DATA_DIR", "/var/lib/smsc-sim"))
    port = int(os.environ.get("SIM_PORT", "13080"))
    smpp_port = int(os.environ.get("SIM_SMPP_PORT", "2775"))
    state = SimState(sim_id, MessageLog(data_dir / "messages.jsonl"))
    state.smpp = SmppServer(("0.0.0.0", smpp_port), sim_id, lambda: state.online, state.record)
    smpp = threading.Thread(target=state.smpp.serve_forever, name="smpp", daemon=True)
    sys.stderr.write(f"smsc-sim {sim_id}: SMPP on :{smpp_port}\n")
    labhttp.serve(f"smsc-sim {sim_id}", make_server("0.0.0.0", port, state), smpp)


if __name__ == "__main__":
    main()
