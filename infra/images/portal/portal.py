"""LAB PART, not the product: a stand-in for the vendor's DVC portal.

The real portal is a vendor product; the lab needs something that answers like it for
every unit and service in the inventory, writes dossiers to the citizen database and
sends SMS notices through Kannel, so that monitoring, drills and tests exercise real
paths. Faults can be injected per unit and service through a token-protected admin API.

Endpoints:
  GET  /dvc/<unit>/<service>/health      200 JSON for a served pair, 404 JSON otherwise
  POST /dvc/<unit>/<service>/dossiers    {"citizen_id","phone"} -> 201 {"dossier_id","sms"}
  GET  /dependencies                     database and Kannel reachability (200 ok, 503 not)
  GET  /healthz                          the process answers
  GET|DELETE /admin/faults, PUT|DELETE /admin/faults/<unit>/<service>   (Bearer token)
"""

from __future__ import annotations

import hmac
import json
import os
import re
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import labhttp
import psycopg2
import psycopg2.pool

FAULT_MODES = ("disable", "slow", "error", "wrong_body")
MAX_DELAY_SECONDS = 300.0
PHONE = re.compile(r"^\+?[0-9]{8,15}$")
WRONG_BODY = "<html><body>Hệ thống đang bảo trì</body></html>\n"


class Catalog:
    """The units and services to serve, reloaded when the Pulumi program re-uploads the file.

    A service is served at a unit iff their levels match (district services at district
    units, commune services at communes), as in the rollout plan.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._mtime = -1.0
        self._checked = 0.0
        self.units: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < 2.0:
            return
        with self._lock:
            self._checked = now
            try:
                mtime = self._path.stat().st_mtime
            except OSError:
                return
            if mtime == self._mtime:
                return
            try:
                data = json.loads(self._path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                sys.stderr.write(f"portal: catalog {self._path} unreadable, kept the old: {exc}\n")
                return
            self.units = {u["code"]: u for u in data.get("units", [])}
            self.services = {s["code"]: s for s in data.get("services", [])}
            self._mtime = mtime
            sys.stderr.write(
                f"portal: catalog {self._path}: {len(self.units)} units, "
                f"{len(self.services)} services\n"
            )

    def pair(self, unit_code: str, service_code: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The unit and service records, or KeyError when the portal does not serve the pair."""
        self.refresh()
        unit = self.units[unit_code]
        service = self.services[service_code]
        if unit.get("level") != service.get("level"):
            raise KeyError((unit_code, service_code))
        return unit, service


@dataclass(frozen=True)
class Fault:
    mode: str
    delay_seconds: float


class Faults:
    """Injected faults per (unit, service); memory only, so a restart clears every drill."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[tuple[str, str], Fault] = {}

    def get(self, unit_code: str, service_code: str) -> Fault | None:
        return self._faults.get((unit_code, service_code))

    def set(self, unit_code: str, service_code: str, fault: Fault) -> None:
        with self._lock:
            self._faults[(unit_code, service_code)] = fault

    def clear(self, unit_code: str, service_code: str) -> bool:
        with self._lock:
            return self._faults.pop((unit_code, service_code), None) is not None

    def clear_all(self) -> int:
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            return count

    def report(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"unit_code": u, "service_code": s, **asdict(f)}
                for (u, s), f in sorted(self._faults.items())
            ]


class CitizenNotFound(Exception):
    """The dossier names a citizen the database does not hold."""


class Database:
    """A small pool of connections to the citizen database, reopened after errors."""

    def __init__(self, dsn: dict[str, Any]) -> None:
        self._dsn = dsn
        self._lock = threading.Lock()
        self._pool: Any = None

    def _get(self) -> Any:
        with self._lock:
            if self._pool is None:
                self._pool = psycopg2.pool.ThreadedConnectionPool(0, 16, **self._dsn)
            return self._pool

    def _run(self, sql: str, args: tuple[Any, ...]) -> Any:
        pool = self._get()
        conn = pool.getconn()
        broken = False
        try:
            with conn, conn.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchone()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True
            raise
        finally:
            pool.putconn(conn, close=broken)

    def ping(self) -> None:
        self._run("SELECT 1", ())

    def submit(self, unit_code: str, service_code: str, citizen_id: str, phone: str) -> int:
        row = self._run(
            "INSERT INTO dossiers (unit_code, service_code, citizen_id, phone) "
            "SELECT %s, %s, id, %s FROM citizens WHERE id = %s RETURNING id",
            (unit_code, service_code, phone, citizen_id),
        )
        if row is None:
            raise CitizenNotFound(citizen_id)
        return int(row[0])


class SmsGateway:
    """Kannel's sendsms interface, as the portal's notification module would use it."""

    def __init__(self, url: str, user: str, password: str, smsc: str) -> None:
        self.url = url
        self._user = user
        self._password = password
        self._smsc = smsc

    def send(self, to: str, text: str) -> dict[str, Any]:
        params = {
            "username": self._user,
            "password": self._password,
            "to": to,
            "text": unicodedata.normalize("NFC", text),
            "charset": "UTF-8",
            "coding": "2",  # UCS-2 keeps Vietnamese diacritics intact.
        }
        if self._smsc:
            params["smsc"] = self._smsc
        try:
            with urllib.request.urlopen(f"{self.url}?{urlencode(params)}", timeout=10) as reply:
                return {"status": reply.status, "body": reply.read().decode("utf-8", "replace")}
        except urllib.error.HTTPError as exc:
            return {"status": exc.code, "body": exc.read().decode("utf-8", "replace")}
        except (urllib.error.URLError, OSError) as exc:
            return {"status": None, "body": f"Kannel unreachable: {exc}"}

    def ping(self) -> int:
        """The HTTP status Kannel answers with (any status proves smsbox is reachable)."""
        try:
            with urllib.request.urlopen(self.url, timeout=5) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code


@dataclass
class Portal:
    catalog: Catalog
    faults: Faults
    database: Database
    sms: SmsGateway
    admin_token: str


HEALTH = re.compile(r"^/dvc/([^/]+)/([^/]+)/health$")
DOSSIERS = re.compile(r"^/dvc/([^/]+)/([^/]+)/dossiers$")
FAULT = re.compile(r"^/admin/faults/([^/]+)/([^/]+)$")


class Handler(labhttp.Handler):
    """nginx keeps 64 connections to the portal: labhttp answers with exact lengths."""

    server_version = "dvc-lab-portal"
    timeout = 120
    portal: Portal

    def _json_body(self) -> Any:
        raw = self.body()
        if not raw:
            return {}
        return json.loads(raw)

    def _path(self) -> str:
        return urlsplit(self.path).path

    def _served(self, unit_code: str, service_code: str) -> tuple[Any, Any] | None:
        try:
            return self.portal.catalog.pair(unit_code, service_code)
        except KeyError:
            self.reply(
                HTTPStatus.NOT_FOUND,
                {
                    "status": "not_found",
                    "unit_code": unit_code,
                    "service_code": service_code,
                    "error": "this portal does not serve that service at that unit",
                },
            )
            return None

    def _faulted(self, unit_code: str, service_code: str) -> bool:
        """Apply an injected fault; True when it already answered the request."""
        fault = self.portal.faults.get(unit_code, service_code)
        if fault is None:
            return False
        if fault.mode == "slow":
            time.sleep(fault.delay_seconds)
            return False
        if fault.mode == "disable":
            self.reply(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "disabled"})
        elif fault.mode == "error":
            self.reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error"})
        else:
            self.reply(HTTPStatus.OK, WRONG_BODY, "text/html")
        return True

    # --- citizen-facing -------------------------------------------------------------

    def _health(self, unit_code: str, service_code: str) -> None:
        pair = self._served(unit_code, service_code)
        if pair is None or self._faulted(unit_code, service_code):
            return
        unit, service = pair
        self.reply(
            HTTPStatus.OK,
            {
                "status": "ok",
                "unit_code": unit_code,
                "service_code": service_code,
                "unit": unit.get("name", ""),
                "service": service.get("name_vi", ""),
            },
        )

    def _dossier(self, unit_code: str, service_code: str, body: Any) -> None:
        pair = self._served(unit_code, service_code)
        if pair is None or self._faulted(unit_code, service_code):
            return
        citizen_id = body.get("citizen_id") if isinstance(body, dict) else None
        phone = body.get("phone") if isinstance(body, dict) else None
        if not isinstance(citizen_id, str) or not citizen_id:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": "citizen_id (string) is required"})
            return
        if not isinstance(phone, str) or not PHONE.match(phone):
            self.reply(HTTPStatus.BAD_REQUEST, {"error": "phone must be 8-15 digits"})
            return
        try:
            dossier_id = self.portal.database.submit(unit_code, service_code, citizen_id, phone)
        except CitizenNotFound:
            self.reply(
                HTTPStatus.UNPROCESSABLE_ENTITY, {"error": f"no citizen with id {citizen_id!r}"}
            )
            return
        except psycopg2.Error as exc:
            sys.stderr.write(f"portal: database error on dossier: {exc}\n")
            self.reply(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"database unavailable: {exc}"})
            return
        unit = pair[0].get("name", unit_code)
        text = f"Hồ sơ số {dossier_id} đã được tiếp nhận tại {unit}."
        sms = self.portal.sms.send(phone, text)
        self.reply(HTTPStatus.CREATED, {"dossier_id": dossier_id, "sms": sms})

    def _dependencies(self) -> None:
        report: dict[str, dict[str, Any]] = {}
        started = time.monotonic()
        try:
            self.portal.database.ping()
            report["database"] = {"ok": True}
        except Exception as exc:
            report["database"] = {"ok": False, "error": str(exc).strip()}
        report["database"]["seconds"] = round(time.monotonic() - started, 4)
        started = time.monotonic()
        try:
            report["kannel"] = {"ok": True, "http_status": self.portal.sms.ping()}
        except Exception as exc:
            report["kannel"] = {"ok": False, "error": str(exc)}
        report["kannel"]["seconds"] = round(time.monotonic() - started, 4)
        report["kannel"]["url"] = self.portal.sms.url
        ok = all(dep["ok"] for dep in report.values())
        self.reply(
            HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE,
            {"status": "ok" if ok else "degraded", "dependencies": report},
        )

    # --- admin ------------------------------------------------------------------------

    def _authorised(self) -> bool:
        token = self.portal.admin_token
        if not token:
            self.reply(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": "admin API disabled: PORTAL_ADMIN_TOKEN is not set"},
            )
            return False
        given = self.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            self.reply(HTTPStatus.UNAUTHORIZED, {"error": "bad or missing bearer token"})
            return False
        return True

    def _put_fault(self, unit_code: str, service_code: str, body: Any) -> None:
        if self._served(unit_code, service_code) is None:
            return
        mode = body.get("mode") if isinstance(body, dict) else None
        delay = body.get("delay_seconds", 5) if isinstance(body, dict) else 5
        if mode not in FAULT_MODES:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": f"mode must be one of {FAULT_MODES}"})
            return
        if not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY_SECONDS:
            self.reply(
                HTTPStatus.BAD_REQUEST,
                {"error": f"delay_seconds must be a number from 0 to {MAX_DELAY_SECONDS:g}"},
            )
            return
        fault = Fault(mode, float(delay))
        self.portal.faults.set(unit_code, service_code, fault)
        sys.stderr.write(f"portal: fault {mode} set on {unit_code}/{service_code}\n")
        self.reply(
            HTTPStatus.OK, {"unit_code": unit_code, "service_code": service_code, **asdict(fault)}
        )

    # --- dispatch ---------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self._path()
        if match := HEALTH.match(path):
            self._health(match[1], match[2])
        elif path == "/healthz":
            self.reply(HTTPStatus.OK, {"status": "ok"})
        elif path == "/dependencies":
            self._dependencies()
        elif path == "/admin/faults":
            if self._authorised():
                self.reply(HTTPStatus.OK, {"faults": self.portal.faults.report()})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}"})

    def _with_body(self) -> Any:
        try:
            return self._json_body()
        except (ValueError, UnicodeDecodeError, labhttp.BodyTooLarge) as exc:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": f"the body must be JSON ({exc})"})
            return None

    def do_POST(self) -> None:
        path = self._path()
        body = self._with_body()
        if body is None:
            return
        if match := DOSSIERS.match(path):
            self._dossier(match[1], match[2], body)
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}"})

    def do_PUT(self) -> None:
        path = self._path()
        body = self._with_body()
        if body is None:
            return
        match = FAULT.match(path)
        if match is None:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}"})
        elif self._authorised():
            self._put_fault(match[1], match[2], body)

    def do_DELETE(self) -> None:
        path = self._path()
        if self._with_body() is None:
            return
        match = FAULT.match(path)
        if path != "/admin/faults" and match is None:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}"})
        elif not self._authorised():
            return
        elif match is None:
            self.reply(HTTPStatus.OK, {"cleared": self.portal.faults.clear_all()})
        elif self.portal.faults.clear(match[1], match[2]):
            self.reply(HTTPStatus.OK, {"cleared": 1})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": "no fault set on that pair"})


def portal_from_env(env: dict[str, str]) -> Portal:
    """Wire the portal from its container environment (see infra/images/README.md)."""
    dsn = {
        "host": env.get("DB_HOST", "127.0.0.1"),
        "port": int(env.get("DB_PORT", "5432")),
        "dbname": env.get("DB_NAME", "dvc"),
        "user": env.get("DB_USER", "dvc"),
        "password": env.get("DB_PASSWORD", ""),
        "connect_timeout": 5,
        "application_name": "dvc-lab-portal",
    }
    sms = SmsGateway(
        env.get("SENDSMS_URL", "http://127.0.0.1:13013/cgi-bin/sendsms"),
        env.get("SENDSMS_USER", ""),
        env.get("SENDSMS_PASSWORD", ""),
        env.get("SMS_SMSC", ""),
    )
    catalog = Catalog(Path(env.get("CATALOG_FILE", "/etc/dvc-portal/catalog.json")))
    return Portal(catalog, Faults(), Database(dsn), sms, env.get("PORTAL_ADMIN_TOKEN", ""))


def main() -> None:
    portal = portal_from_env(dict(os.environ))
    port = int(os.environ.get("PORTAL_PORT", "8080"))
    handler = type("BoundHandler", (Handler,), {"portal": portal})
    labhttp.serve("portal", labhttp.Server(("0.0.0.0", port), handler))


if __name__ == "__main__":
    main()
