"""LAB PART, not the product: an SMTP server that keeps what Alertmanager sends.

Production mails through the city's own smarthost; the lab runs this one on `mgmt` so a
test can read back the alert e-mail a district's on-call would get. It speaks real SMTP
(Debian's aiosmtpd), asks for AUTH (LOGIN or PLAIN) with the stack's generated
credentials (`SMTP_USER`, `SMTP_PASSWORD`) as the production smarthost would, and stores
each message whole in a Maildir (`/var/lib/smtp/Maildir`, surviving restarts).

SMTP on $SMTP_PORT (2525). HTTP on $SMTP_HTTP_PORT (9025): GET /messages[?to=] (JSON:
id, envelope from and to, decoded subject, the text and HTML parts, received time),
DELETE /messages, GET /healthz.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import sys
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import labhttp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

RECEIVED_AT = "X-Lab-Received-At"
ENVELOPE_TO = "X-Lab-Envelope-To"
ENVELOPE_FROM = "X-Lab-Envelope-From"


class Store:
    """The Maildir and the order messages arrived in."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(str(path), create=True)
        self._lock = threading.Lock()

    def add(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> str:
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        parsed[RECEIVED_AT] = datetime.now(UTC).isoformat()
        parsed[ENVELOPE_FROM] = mail_from
        parsed[ENVELOPE_TO] = ", ".join(rcpt_tos)
        with self._lock:
            return str(self._box.add(parsed))

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [summary(key, msg) for key, msg in self._box.iteritems()]
        found.sort(key=lambda m: (m["received_at"], m["id"]))
        return [m for m in found if to is None or to in m["to"]]

    def clear(self) -> int:
        with self._lock:
            keys = list(self._box.keys())
            for key in keys:
                self._box.discard(key)
            return len(keys)


def _part(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body(preferencelist=(kind,))
    return str(part.get_content()) if part is not None else ""


def summary(key: str, raw: mailbox.MaildirMessage) -> dict[str, Any]:
    """One stored message as the tests read it: headers decoded, text and HTML parts."""
    msg = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return {
        "id": key,
        "from": str(msg.get(ENVELOPE_FROM, "")),
        "to": [t.strip() for t in str(msg.get(ENVELOPE_TO, "")).split(",") if t.strip()],
        "header_to": str(msg.get("To", "")),
        "subject": str(msg.get("Subject", "")),
        "text": _part(msg, "plain"),
        "html": _part(msg, "html"),
        "received_at": str(msg.get(RECEIVED_AT, "")),
    }


class LoginChallenges(SMTP):  # type: ignore[misc]  # aiosmtpd: only in the image
    """AUTH LOGIN asking "Username:" and "Password:", the challenges clients expect.

    aiosmtpd asks "User Name\\0" and "Password\\0"; Alertmanager's LOGIN client answers
    only the usual two and gives up ("unexpected server challenge"), so no alert e-mail
    reached the lab's mailbox. (Its PLAIN client, Go's, refuses to send a password over
    a connection without TLS to any host but localhost.)
    """

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"


class LabController(Controller):  # type: ignore[misc]
    """aiosmtpd's threaded server, speaking through LoginChallenges."""

    def factory(self) -> SMTP:
        return LoginChallenges(self.handler, **self.SMTP_kwargs)


class Handler:
    """aiosmtpd's DATA handler: keep the message, say 250."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        key = self.store.add(str(envelope.mail_from), list(envelope.rcpt_tos), data)
        sys.stderr.write(f"smtp: message {key} for {', '.join(envelope.rcpt_tos)}\n")
        return "250 OK stored"


class Authenticator:
    """Only the stack's own credentials may send, as on the production smarthost."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == self.user
            and data.password == self.password
        )
        if not ok:
            sys.stderr.write(f"smtp: refused {mechanism} login\n")
        return AuthResult(success=ok, handled=False)


class Web(labhttp.Handler):
    """The stored messages for tests (exact lengths, HEAD, timeouts: labhttp)."""

    server_version = "dvc-lab-smtp"
    store: Store

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/messages":
            to = parse_qs(url.query).get("to", [None])[0]
            self.reply(HTTPStatus.OK, self.store.messages(to))
        elif url.path == "/healthz":
            self.reply(HTTPStatus.OK, {"status": "ok"})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {url.path}"})

    def do_DELETE(self) -> None:
        self.body()
        if urlsplit(self.path).path == "/messages":
            self.reply(HTTPStatus.OK, {"cleared": self.store.clear()})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path}"})


def start(
    store: Store, host: str, smtp_port: int, http_port: int, user: str, password: str
) -> tuple[Controller, ThreadingHTTPServer]:
    """Start SMTP and HTTP in threads; the caller serves or stops them."""
    controller = LabController(
        Handler(store),
        hostname=host,
        port=smtp_port,
        authenticator=Authenticator(user, password),
        auth_required=True,
        # The lab's mgmt network is private; production's smarthost is the city's own.
        auth_require_tls=False,
        decode_data=False,
    )
    controller.start()
    web = labhttp.Server((host, http_port), type("BoundWeb", (Web,), {"store": store}))
    return controller, web


def main() -> None:
    user = os.environ.get("SMTP_USER", "")
    password = os.environ.get("SMTP_PASSWORD", "")
    if not user or not password:
        sys.exit("smtp: set SMTP_USER and SMTP_PASSWORD (the stack's generated credentials)")
    store = Store(Path(os.environ.get("SMTP_DATA_DIR", "/var/lib/smtp")) / "Maildir")
    smtp_port = int(os.environ.get("SMTP_PORT", "2525"))
    http_port = int(os.environ.get("SMTP_HTTP_PORT", "9025"))
    controller, web = start(store, "0.0.0.0", smtp_port, http_port, user, password)
    sys.stderr.write(f"smtp: LAB mail server on :{smtp_port} (SMTP), :{http_port} (HTTP)\n")
    try:
        labhttp.serve("smtp", web)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
