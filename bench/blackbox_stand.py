"""Debian's blackbox_exporter on 127.0.0.1, and a driver that calls /probe as Prometheus would.

Prometheus asks blackbox_exporter for one /probe per target and scrape, over kept-alive
connections; the driver does the same for every target with a fixed number of connections,
using the availability exporter's own HTTP client so its CPU stays small and comparable.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from bench.nginx_stand import INSTALL, free_port, wait_for_port
from dvc_rollout.errors import EnvironmentProblem
from exporters.availability.endpoint import Endpoint
from exporters.availability.httpclient import HttpClient
from exporters.availability.reasons import ProbeFailure

BINARY = "prometheus-blackbox-exporter"

CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: {timeout}s
    http:
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp: ['"status":\\s*"ok"']
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
{tls}"""
TLS = """\
      tls_config:
        ca_file: {ca_file}
"""


class BlackboxStand:
    """A blackbox_exporter process with the `http_2xx` module, stopped on exit."""

    def __init__(self, timeout: float, ca_cert: str = "") -> None:
        """`ca_cert`: PEM of the CA HTTPS targets are verified against (as the exporter)."""
        found = shutil.which(BINARY)
        if found is None:
            raise EnvironmentProblem(f"{BINARY} is not installed: {INSTALL}")
        self.binary = found
        self.timeout = timeout
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="dvc-bench-blackbox-"))
        self.ca_cert = ca_cert
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BlackboxStand:
        config = self.workdir / "blackbox.yml"
        tls = ""
        if self.ca_cert:
            ca_file = self.workdir / "ca.pem"
            ca_file.write_text(self.ca_cert)
            tls = TLS.format(ca_file=ca_file)
        config.write_text(CONFIG.format(timeout=self.timeout, tls=tls))
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--log.level=warn"],
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(self.port)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass(frozen=True)
class DriverSweep:
    """One round of /probe calls: wall time, and how many probes blackbox found good."""

    wall_seconds: float
    succeeded: int
    failed: int


class ProbeDriver:
    """Calls blackbox's /probe once per target with `concurrency` kept-alive connections."""

    def __init__(self, base: str, target_urls: list[str], concurrency: int) -> None:
        self.endpoints = [
            Endpoint.parse(f"{base}/probe?module=http_2xx&target={quote(url, safe='')}")
            for url in target_urls
        ]
        self.concurrency = concurrency
        self.client = HttpClient(reuse_connections=True, max_idle=concurrency)

    async def sweep(self, timeout: float) -> DriverSweep:
        started = time.perf_counter()
        queue = iter(self.endpoints)
        counts = {"ok": 0, "bad": 0}

        async def work() -> None:
            for endpoint in queue:
                try:
                    async with asyncio.timeout(timeout):
                        response = await self.client.get(endpoint)
                    good = response.status == 200 and b"\nprobe_success 1" in response.body
                except (TimeoutError, ProbeFailure):
                    good = False
                counts["ok" if good else "bad"] += 1

        await asyncio.gather(*(work() for _ in range(self.concurrency)))
        return DriverSweep(time.perf_counter() - started, counts["ok"], counts["bad"])

    def close(self) -> None:
        self.client.close()
