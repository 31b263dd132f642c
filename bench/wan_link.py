"""A simulated WAN link for `bench/readiness`: TCP relays that hold every byte for a while.

The lab's desks sit on this machine, a bridge away from the checks; the estate's sit at
the far end of a district or commune link. This kernel has no `netem`, so the delay is
made in user space: one relay per desk listens on 127.0.0.1 and forwards to the desk's
sshd, delivering what it reads in each direction `delay` seconds later, in order. That
is a link with round-trip time 2 x delay and no bandwidth limit (ssh's packets are
small). Run as a child process (`python -m bench.wan_link`) so its work is not mixed into
the checks' own process; it prints the relay ports as one JSON line and serves until its
stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import sys
from collections.abc import Mapping

from dvc_rollout.errors import run_command

CHUNK = 65536


async def _carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy one direction, each chunk written `delay` after it was read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    sender = asyncio.create_task(deliver())
    try:
        while data := await reader.read(CHUNK):
            queue.put_nowait((loop.time() + delay, data))
    finally:
        queue.put_nowait((loop.time() + delay, b""))
        with contextlib.suppress(OSError, ConnectionError):
            await sender


async def _relay(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    target: tuple[str, int],
    delay: float,
) -> None:
    try:
        server_r, server_w = await asyncio.open_connection(*target)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(_carry(client_r, server_w, delay), _carry(server_r, client_w, delay))
    except (OSError, ConnectionError):
        pass
    finally:
        for w in (client_w, server_w):
            w.close()


async def serve(targets: Mapping[str, tuple[str, int]], delay: float) -> None:
    """Open one relay per target, print {name: port}, and serve until stdin closes."""
    ports: dict[str, int] = {}
    servers = []
    for name, target in targets.items():
        server = await asyncio.start_server(
            functools.partial(_relay, target=target, delay=delay), "127.0.0.1", 0
        )
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the parent closing stdin ends us
    for server in servers:
        server.close()
    # Connections still open are cut, as when a link goes down: nothing here is kept.
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wan_link", description=__doc__)
    parser.add_argument("--rtt-ms", type=float, required=True, help="round-trip time to add")
    parser.add_argument("target", nargs="+", help="name=address:port to relay to (one relay each)")
    args = parser.parse_args(argv)
    targets: dict[str, tuple[str, int]] = {}
    for spec in args.target:
        name, _, where = spec.partition("=")
        address, _, port = where.rpartition(":")
        targets[name] = (address, int(port))
    asyncio.run(serve(targets, args.rtt_ms / 2000.0))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench/wan_link", main))
