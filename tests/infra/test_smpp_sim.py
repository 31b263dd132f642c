"""The operator simulator's SMPP side: binds, records submits, and drops binds while offline."""

from __future__ import annotations

import importlib.util
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SIM_DIR = Path(__file__).resolve().parents[2] / "infra" / "images" / "smsc-sim"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smpp_sim", SIM_DIR / "smpp_sim.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["smpp_sim"] = module
    spec.loader.exec_module(module)
    return module


smpp = _load()


class Sim:
    def __init__(self) -> None:
        self.online = True
        self.messages: list[dict[str, Any]] = []
        self.server = smpp.SmppServer(("127.0.0.1", 0), "sim-t", lambda: self.online, self.add)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, message: dict[str, Any]) -> dict[str, Any]:
        stored = {"id": len(self.messages) + 1, **message}
        self.messages.append(stored)
        return stored

    def connect(self) -> socket.socket:
        return socket.create_connection(self.server.server_address, timeout=5)


@pytest.fixture
def sim() -> Iterator[Sim]:
    found = Sim()
    yield found
    found.server.shutdown()
    found.server.server_close()


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def _submit(to: str, text: str) -> bytes:
    short = text.encode("utf-16-be")
    return (
        _cstr("")
        + bytes([1, 1])
        + _cstr("DVC-LAB")
        + bytes([1, 1])
        + _cstr(to)
        + bytes([0, 0, 0])
        + _cstr("")
        + _cstr("")
        + bytes([0, 0, 8, 0, len(short)])
        + short
    )


def _exchange(
    sock: socket.socket, command: int, sequence: int, body: bytes = b""
) -> tuple[int, int, int, bytes]:
    sock.sendall(smpp.pdu(command, sequence, body=body))
    head = sock.recv(16)
    length, resp, status, seq = struct.unpack(">IIII", head)
    rest = sock.recv(length - 16) if length > 16 else b""
    return resp, status, seq, rest


def test_bind_submit_and_enquire_link(sim: Sim) -> None:
    with sim.connect() as sock:
        assert _exchange(sock, 0x09, 1, _cstr("dvc-lab") + _cstr("pw"))[:3] == (0x80000009, 0, 1)
        resp, status, seq, body = _exchange(sock, 0x04, 2, _submit("0900000001", "Hồ sơ số 7"))
        assert (resp, status, seq, body) == (0x80000004, 0, 2, b"1\0")
        assert _exchange(sock, 0x15, 3)[:3] == (0x80000015, 0, 3)
    assert sim.messages == [
        {"id": 1, "to": "0900000001", "from": "DVC-LAB", "text": "Hồ sơ số 7", "coding": "8"}
    ]


def test_unknown_commands_get_generic_nack(sim: Sim) -> None:
    with sim.connect() as sock:
        assert _exchange(sock, 0x103, 9)[:3] == (0x80000000, 3, 9)


def test_offline_drops_sessions_and_refuses_binds(sim: Sim) -> None:
    with sim.connect() as sock:
        _exchange(sock, 0x09, 1, _cstr("dvc-lab") + _cstr("pw"))
        sim.online = False
        sim.server.drop_all()
        assert sock.recv(16) == b""
    with sim.connect() as again:
        assert again.recv(16) == b""
