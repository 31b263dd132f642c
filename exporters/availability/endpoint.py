"""A probe URL taken apart once, at start-up, so each probe only writes prebuilt bytes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from exporters.availability.errors import AvailabilityConfigError

USER_AGENT = "dvc-availability-exporter/1"
_PATH_SAFE = "/%?=&:;@!$'()*+,~-._"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to connect and the exact request to send, with and without keep-alive."""

    url: str
    tls: bool
    host: str
    port: int
    host_is_ip: bool
    request_close: bytes
    request_keep_alive: bytes

    @property
    def pool_key(self) -> tuple[bool, str, int]:
        return (self.tls, self.host, self.port)

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """Parse an http(s) URL; raise AvailabilityConfigError naming it if it is unusable."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise AvailabilityConfigError(f"probe URL {url!r} is malformed: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AvailabilityConfigError(
                f"probe URL {url!r} must be http:// or https:// with a host; fix the url template"
            )
        tls = parts.scheme == "https"
        host = parts.hostname
        try:
            ipaddress.ip_address(host)
            host_is_ip = True
        except ValueError:
            host_is_ip = False
        netloc = parts.netloc.rpartition("@")[2]
        try:
            host_header = netloc.encode("idna" if not netloc.isascii() else "ascii").decode()
        except UnicodeError as exc:
            raise AvailabilityConfigError(f"probe URL {url!r} has a bad host: {exc}") from None
        target = quote(parts.path or "/", safe=_PATH_SAFE)
        if parts.query:
            target += "?" + quote(parts.query, safe=_PATH_SAFE)
        head = (
            f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: */*\r\nConnection: "
        )
        return cls(
            url=url,
            tls=tls,
            host=host,
            port=port or (443 if tls else 80),
            host_is_ip=host_is_ip,
            request_close=(head + "close\r\n\r\n").encode("ascii"),
            request_keep_alive=(head + "keep-alive\r\n\r\n").encode("ascii"),
        )
