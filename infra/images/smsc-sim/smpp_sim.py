"""LAB PART: the simulator's SMPP 3.4 side, so the lab's Kannel binds as it does in production.

Production telcos are SMPP links, and Kannel shows an SMPP SMSC "online" only while its
bind holds; an HTTP SMSC always looks online. So a drill that takes an operator offline
needs this: while the simulator is offline every session is closed and new connections
are refused, Kannel goes "re-connecting", and it binds again once the operator is back.

Only what Kannel's SMPP client uses: bind_transceiver/transmitter/receiver, enquire_link,
submit_sm (recorded like an HTTP send), unbind; anything else gets generic_nack.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct(">IIII")
RESP = 0x80000000
GENERIC_NACK = 0x80000000
BINDS = {0x00000001, 0x00000002, 0x00000009}
SUBMIT_SM = 0x00000004
UNBIND = 0x00000006
ENQUIRE_LINK = 0x00000015
ESME_RINVCMDID = 0x00000003
MESSAGE_PAYLOAD = 0x0424
UCS2 = 0x08
MAX_PDU = 64 * 1024


def _cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(b"\0", at)
    return body[at:end].decode("latin-1"), end + 1


def parse_submit(body: bytes) -> dict[str, Any]:
    """The fields of a submit_sm the simulator records: to, from, text, coding."""
    _service, at = _cstring(body, 0)
    at += 2  # source_addr_ton, source_addr_npi
    sender, at = _cstring(body, at)
    at += 2  # dest_addr_ton, dest_addr_npi
    receiver, at = _cstring(body, at)
    esm_class = body[at]
    at += 3  # esm_class, protocol_id, priority_flag
    _schedule, at = _cstring(body, at)
    _validity, at = _cstring(body, at)
    at += 3  # registered_delivery, replace_if_present_flag, data_coding follows
    coding = body[at - 1]
    at += 1  # sm_default_msg_id
    length = body[at]
    short = body[at + 1 : at + 1 + length]
    at += 1 + length
    while not short and at + 4 <= len(body):  # long text in the message_payload TLV
        tag, size = struct.unpack(">HH", body[at : at + 4])
        if tag == MESSAGE_PAYLOAD:
            short = body[at + 4 : at + 4 + size]
        at += 4 + size
    if esm_class & 0x40 and short:  # user data header (concatenated parts)
        short = short[1 + short[0] :]
    text = short.decode("utf-16-be", "replace") if coding == UCS2 else short.decode("latin-1")
    return {"to": receiver, "from": sender, "text": text, "coding": str(coding)}


def pdu(command: int, sequence: int, status: int = 0, body: bytes = b"") -> bytes:
    return HEADER.pack(HEADER.size + len(body), command, status, sequence) + body


class SmppServer(socketserver.ThreadingTCPServer):
    """Accepts Kannel's binds while `is_online()`; `drop_all()` ends every session."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        sim_id: str,
        is_online: Callable[[], bool],
        record: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        super().__init__(address, SmppSession)
        self.sim_id = sim_id
        self.is_online = is_online
        self.record = record
        self._lock = threading.Lock()
        self._sessions: set[socket.socket] = set()

    def track(self, sock: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._sessions.add if alive else self._sessions.discard)(sock)

    def drop_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions)
        for sock in sessions:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SmppSession(socketserver.BaseRequestHandler):
    server: SmppServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        if not self.server.is_online():
            sys.stderr.write(f"smsc-sim {self.server.sim_id}: offline, refused an SMPP bind\n")
            return
        self.server.track(sock, True)
        try:
            while self.server.is_online():
                found = self._read()
                if found is None:
                    return
                command, sequence, body = found
                reply = self._answer(command, sequence, body)
                if reply:
                    sock.sendall(reply)
                if command == UNBIND:
                    return
        except OSError:
            return
        finally:
            self.server.track(sock, False)

    def _read(self) -> tuple[int, int, bytes] | None:
        head = self._exactly(HEADER.size)
        if head is None:
            return None
        length, command, _status, sequence = HEADER.unpack(head)
        if not HEADER.size <= length <= MAX_PDU:
            return None
        body = self._exactly(length - HEADER.size)
        return None if body is None else (command, sequence, body)

    def _exactly(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _answer(self, command: int, sequence: int, body: bytes) -> bytes:
        if command in BINDS:
            return pdu(command | RESP, sequence, body=self.server.sim_id.encode() + b"\0")
        if command == ENQUIRE_LINK:
            return pdu(ENQUIRE_LINK | RESP, sequence)
        if command == UNBIND:
            return pdu(UNBIND | RESP, sequence)
        if command == SUBMIT_SM:
            stored = self.server.record(parse_submit(body))
            return pdu(SUBMIT_SM | RESP, sequence, body=f"{stored['id']}\0".encode())
        if command & RESP:
            return b""  # Kannel answering something of ours (we send nothing)
        return pdu(GENERIC_NACK, sequence, ESME_RINVCMDID)
