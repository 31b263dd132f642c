"""A container that takes a component's name on a network and answers slowly, or wrongly.

This kernel has no netem (`tc ... netem` is unknown), so a slow link is made in user
space: the impostor joins the network under the component's name while the component
leaves it, waits before passing each connection on (over a private drill network), or
answers every connection with a page that is not what the client expects. Clients find
it by name, as they find the real component, so nothing in the lab is reconfigured.
Everything it creates carries the stack's labels: `lab down` removes what a failed
drill leaves.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from infra.components import common
from infra.lab import engine
from infra.lab.handle import LabHandle

# Runs inside the exporter image (python3, stdlib): `python3 -c PROXY MODE UPSTREAM PORTS`
# where PORTS is `port:delay,...`; MODE `delay` forwards after the delay, `garbage` answers
# an HTML page to everything.
PROXY = r"""
import asyncio, sys
mode, upstream, spec = sys.argv[1], sys.argv[2], sys.argv[3]
GARBAGE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 45\r\n"
           b"Connection: close\r\n\r\n<html><body>he thong bao tri</body></html>\n\n\n")

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()

def handler(port, delay):
    async def handle(reader, writer):
        if mode == "garbage":
            writer.write(GARBAGE)
            await writer.drain()
            writer.close()
            return
        await asyncio.sleep(delay)
        try:
            up_r, up_w = await asyncio.open_connection(upstream, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
    return handle

async def main():
    servers = []
    for item in spec.split(","):
        port, delay = item.split(":")
        serve = handler(int(port), float(delay))
        servers.append(await asyncio.start_server(serve, "0.0.0.0", int(port)))
    print("impostor ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))

asyncio.run(main())
"""


@dataclass
class Impostor:
    """Stands in for `role`'s container on `network` (a key of the lab's networks)."""

    lab: LabHandle
    container: str
    network: str
    ports: dict[int, float]
    mode: str = "delay"
    _made: dict[str, Any] = field(default_factory=dict)

    def apply(self) -> None:
        client = engine.client()
        slug = uuid.uuid4().hex[:8]
        labels = {common.STACK_LABEL: self.lab.stack, common.MANAGED_LABEL: "true"}
        real = client.containers.get(self.container)
        public = client.networks.get(self.lab.networks[self.network])
        side = client.networks.create(f"dvc-{self.lab.stack}-drill-{slug}", labels=labels)
        self._made["side"] = side
        side.connect(real)
        real.reload()
        upstream = real.attrs["NetworkSettings"]["Networks"][side.name]["IPAddress"]
        spec = ",".join(f"{p}:{d:g}" for p, d in self.ports.items())
        # The image the lab's exporters run (python3 and the stdlib are all it needs);
        # not the tree's current tag, which an edit since `lab up` would have moved.
        image = client.containers.get(self.lab.containers["exporters"]["readiness"]).image
        impostor = client.containers.run(
            image.id,
            ["python3", "-c", PROXY, self.mode, upstream, spec],
            name=f"dvc-{self.lab.stack}-drill-impostor-{slug}",
            user="root",
            network=side.name,
            labels=labels,
            detach=True,
        )
        self._made["impostor"] = impostor
        public.disconnect(real)
        public.connect(impostor, aliases=[self.container])
        deadline = time.monotonic() + 30  # a python3 start on a loaded machine
        while time.monotonic() < deadline:
            if b"impostor ready" in impostor.logs():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the impostor for {self.container} did not start: {impostor.logs()!r}")

    def undo(self) -> None:
        client = engine.client()
        real = client.containers.get(self.container)
        public = client.networks.get(self.lab.networks[self.network])
        impostor = self._made.pop("impostor", None)
        if impostor is not None:
            impostor.remove(force=True)
        real.reload()
        if public.name not in real.attrs["NetworkSettings"]["Networks"]:
            public.connect(real, aliases=[self.container])
        side = self._made.pop("side", None)
        if side is not None:
            side.disconnect(real, force=True)
            side.remove()
