"""A throwaway nginx on 127.0.0.1 that answers every unit-service health URL, for benchmarks.

It runs from a temporary prefix with a generated config, so it touches no system nginx,
and `NginxStand` stops it and removes the prefix when the `with` block ends. Given a
certificate it also answers the same URLs over HTTPS on `tls_port`, so both probers can be
measured against one TLS endpoint.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from dvc_rollout.errors import EnvironmentProblem

HEALTH_BODY = '{"status":"ok"}'
# The benchmarks' peers come with the bench package list (infra/packages/bench.txt).
INSTALL = "run `sudo python3 infra/debian_packages.py ensure bench`"

_CONFIG = """\
worker_processes auto;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location ~ ^/dvc/[^/]+/[^/]+/health$ {{
            default_type application/json;
            return 200 '{body}';
        }}
        location / {{ return 404; }}
    }}
{tls_server}}}
"""

_TLS_SERVER = """    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
        ssl_certificate {prefix}/server.pem;
        ssl_certificate_key {prefix}/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location ~ ^/dvc/[^/]+/[^/]+/health$ {{
            default_type application/json;
            return 200 '{body}';
        }}
        location / {{ return 404; }}
    }}
"""


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, deadline_seconds: float = 10.0) -> None:
    """Return once 127.0.0.1:port accepts connections; raise if it never does."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise EnvironmentProblem(f"nothing listens on 127.0.0.1:{port} after {deadline_seconds}s")


class NginxStand:
    """nginx serving `/dvc/<unit>/<service>/health` → 200 {"status":"ok"} on 127.0.0.1."""

    def __init__(self, binary: str = "nginx", tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate, key) PEM text to serve HTTPS with on `tls_port` as well."""
        found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
        if found is None:
            raise EnvironmentProblem(f"nginx is not installed: {INSTALL}")
        self.binary = found
        self.port = free_port()
        self.tls = tls
        self.tls_port = free_port() if tls else 0
        self.prefix = Path(tempfile.mkdtemp(prefix="dvc-bench-nginx-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def tls_host(self) -> str:
        return f"127.0.0.1:{self.tls_port}"

    def __enter__(self) -> NginxStand:
        (self.prefix / "tmp").mkdir()
        conf = self.prefix / "nginx.conf"
        tls_server = ""
        if self.tls:
            (self.prefix / "server.pem").write_text(self.tls[0])
            key = self.prefix / "server.key"
            key.touch(mode=0o600)
            key.write_text(self.tls[1])
            tls_server = _TLS_SERVER.format(
                prefix=self.prefix, port=self.tls_port, body=HEALTH_BODY
            )
        conf.write_text(
            _CONFIG.format(
                prefix=self.prefix, port=self.port, body=HEALTH_BODY, tls_server=tls_server
            )
        )
        self.process = subprocess.Popen(
            [
                self.binary,
                "-p",
                str(self.prefix),
                "-c",
                str(conf),
                "-e",
                str(self.prefix / "e.log"),
            ],
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port)
            if self.tls:
                wait_for_port(self.tls_port)
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
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)
