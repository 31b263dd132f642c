"""What to probe and how: the URL template and expected answer per service, and sweep settings.

The config is a small YAML file read without pydantic (the exporter's container has only
Debian's packages), so the checks here are hand-written and every error names the key.

    host: portal.example.vn          # fills {host} in every URL template
    probe: {interval: 15, timeout: 5, concurrency: 128, reuse_connections: false,
            tls_verify: true, tls_ca_file: /etc/dvc-tls/ca.pem}
    default:
      url: "http://{host}/dvc/{unit_code}/{service_code}/health"
      expect_status: [200]
      expect_json: {status: ok}      # body must be a JSON object holding these pairs
    services:
      c-marriage:
        url: "https://{host}/hotich/{unit_code}/health"
        expect_text: "OK"            # replaces the default body check
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from exporters.availability.errors import AvailabilityConfigError

DEFAULT_URL_TEMPLATE = "http://{host}/dvc/{unit_code}/{service_code}/health"
TEMPLATE_FIELDS = frozenset(
    {"host", "unit_code", "service_code", "district_code", "phase", "level"}
)
# Time a sweep may run past the per-probe timeout before unfinished probes count as timeouts.
SWEEP_MARGIN_SECONDS = 0.5

_RULE_KEYS = frozenset({"url", "expect_status", "expect_json", "expect_text"})
_PROBE_KEYS = frozenset(
    {"interval", "timeout", "concurrency", "reuse_connections", "tls_verify", "tls_ca_file"}
)
_TOP_KEYS = frozenset({"host", "probe", "default", "services"})


@dataclass(frozen=True)
class Check:
    """The answer a healthy service gives: one of the statuses, and a body that matches."""

    statuses: frozenset[int] = frozenset({200})
    json_fields: tuple[tuple[str, Any], ...] | None = (("status", "ok"),)
    text: str | None = None


@dataclass(frozen=True)
class ServiceRule:
    """Where one service answers and what it must answer."""

    url_template: str = DEFAULT_URL_TEMPLATE
    check: Check = field(default_factory=Check)


@dataclass(frozen=True)
class ProbeSettings:
    """How sweeps run; the command line overrides each value."""

    interval: float = 15.0
    timeout: float = 5.0
    concurrency: int = 128
    reuse_connections: bool = False
    tls_verify: bool = True
    # The CA certificate(s) to verify HTTPS against; empty: the system's trust store.
    tls_ca_file: str = ""
    margin: float = SWEEP_MARGIN_SECONDS

    def checked(self) -> ProbeSettings:
        """Return self, or raise if the values cannot make sweeps that end before the next."""
        if self.timeout <= 0:
            raise AvailabilityConfigError(f"timeout {self.timeout!r} must be above 0 seconds")
        if self.concurrency < 1:
            raise AvailabilityConfigError(f"concurrency {self.concurrency!r} must be at least 1")
        if self.interval < self.timeout + self.margin:
            raise AvailabilityConfigError(
                f"interval {self.interval:g}s is shorter than timeout {self.timeout:g}s plus the "
                f"{self.margin:g}s sweep margin: raise --interval or lower --timeout"
            )
        return self


@dataclass(frozen=True)
class Config:
    """The whole exporter config: the portal host, per-service rules and sweep settings."""

    host: str
    default: ServiceRule = field(default_factory=ServiceRule)
    services: Mapping[str, ServiceRule] = field(default_factory=dict)
    probe: ProbeSettings = field(default_factory=ProbeSettings)

    def rule_for(self, service_code: str) -> ServiceRule:
        return self.services.get(service_code, self.default)


def load_config(path: Path | str) -> Config:
    """Read and check a config file; errors name the file and the key to fix."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise AvailabilityConfigError(
            f"cannot read config file {str(source)!r}: {exc.strerror}; give --config FILE"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AvailabilityConfigError(f"config file {str(source)!r} is not YAML: {exc}") from None
    return config_from_mapping(data, str(source))


def config_from_mapping(data: Any, source: str = "config") -> Config:
    """Build a Config from parsed YAML, checking every key."""
    top = _mapping(data, source, _TOP_KEYS)
    host = top.get("host")
    if not isinstance(host, str) or not host:
        raise AvailabilityConfigError(
            f"{source}: `host` must name the portal, e.g. `host: portal.example.vn:443`"
        )
    default = _rule(top.get("default", {}), f"{source}: default", ServiceRule())
    services_data = _mapping(top.get("services", {}), f"{source}: services", None)
    services = {
        str(code): _rule(entry, f"{source}: services.{code}", default)
        for code, entry in services_data.items()
    }
    return Config(host, default, services, _probe(top.get("probe", {}), f"{source}: probe"))


def _mapping(data: Any, where: str, allowed: frozenset[str] | None) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AvailabilityConfigError(f"{where} must be a mapping, not {type(data).__name__}")
    if allowed is not None:
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise AvailabilityConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
            )
    return data


def _rule(data: Any, where: str, base: ServiceRule) -> ServiceRule:
    entry = _mapping(data, where, _RULE_KEYS)
    template = entry.get("url", base.url_template)
    check_template(template, where)
    statuses = base.check.statuses
    if "expect_status" in entry:
        statuses = _statuses(entry["expect_status"], where)
    json_fields, text = base.check.json_fields, base.check.text
    if "expect_json" in entry or "expect_text" in entry:
        json_fields = _json_fields(entry.get("expect_json"), where)
        text = entry.get("expect_text")
        if text is not None and not isinstance(text, str):
            raise AvailabilityConfigError(f"{where}: expect_text must be a string")
    return ServiceRule(template, Check(statuses, json_fields, text))


def check_template(template: Any, where: str) -> None:
    """Raise unless the template is a string using only the known {fields}."""
    if not isinstance(template, str) or "://" not in template:
        raise AvailabilityConfigError(
            f"{where}: url must be a URL template such as {DEFAULT_URL_TEMPLATE!r}"
        )
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise AvailabilityConfigError(f"{where}: url {template!r} is malformed: {exc}") from None
    unknown = sorted(names - TEMPLATE_FIELDS)
    if unknown:
        raise AvailabilityConfigError(
            f"{where}: url {template!r} uses unknown field(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(TEMPLATE_FIELDS))}"
        )


def _statuses(value: Any, where: str) -> frozenset[int]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(s, int) and 100 <= s <= 599 for s in items):
        raise AvailabilityConfigError(
            f"{where}: expect_status must be an HTTP status or a list of them, got {value!r}"
        )
    return frozenset(items)


def _json_fields(value: Any, where: str) -> tuple[tuple[str, Any], ...] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise AvailabilityConfigError(
            f"{where}: expect_json must map keys to expected values, e.g. {{status: ok}}"
        )
    return tuple((str(k), v) for k, v in value.items())


def _probe(data: Any, where: str) -> ProbeSettings:
    entry = _mapping(data, where, _PROBE_KEYS)
    defaults = ProbeSettings()
    try:
        return ProbeSettings(
            interval=float(entry.get("interval", defaults.interval)),
            timeout=float(entry.get("timeout", defaults.timeout)),
            concurrency=int(entry.get("concurrency", defaults.concurrency)),
            reuse_connections=bool(entry.get("reuse_connections", defaults.reuse_connections)),
            tls_verify=bool(entry.get("tls_verify", defaults.tls_verify)),
            tls_ca_file=str(entry.get("tls_ca_file", defaults.tls_ca_file) or ""),
        )
    except (TypeError, ValueError) as exc:
        raise AvailabilityConfigError(f"{where}: {exc}; use numbers for times") from None
