"""`python -m exporters.sms_relay`: serve the alert-to-SMS relay.

    SENDSMS_USER=... SENDSMS_PASSWORD=... python -m exporters.sms_relay \
        --listen 0.0.0.0:9606 --sendsms-url http://kannel:13013/cgi-bin/sendsms \
        [--per-window 6 --window 1h --dedup 1h] [--sender DVC]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from dvc_rollout import argtypes
from exporters.sms_relay import kannel, relay
from exporters.sms_relay.limits import Limiter
from exporters.sms_relay.message import Names


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    timeout = 10

    def log_message(self, format: str, *args: object) -> None:
        """Every text is logged by the relay; access lines add nothing."""


def names() -> Names:
    """District and service names from the inventory the image carries."""
    import inventory

    inv = inventory.load()
    return Names(
        districts={c: d.name for c, d in inv.districts.items()},
        services={c: s.name_vi for c, s in inv.services.items()},
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exporters.sms_relay", description=__doc__)
    parser.add_argument("--listen", type=argtypes.listen_address, default="0.0.0.0:9606")
    parser.add_argument("--sendsms-url", type=argtypes.url, required=True)
    parser.add_argument("--sender", type=argtypes.text(11), help="sender id (default: Kannel's)")
    parser.add_argument(
        "--per-window",
        type=argtypes.integer(1, 100, "a count of texts"),
        default=6,
        help="texts to one number per --window (default 6)",
    )
    parser.add_argument("--window", type=argtypes.duration(86400, 60), default="1h")
    parser.add_argument(
        "--dedup",
        type=argtypes.duration(86400, 1),
        default="1h",
        help="the same text is not sent to a number again within this long (default 1h)",
    )
    parser.add_argument("--timeout", type=argtypes.seconds(0, 60), default=5.0)
    args = parser.parse_args(argv)
    user, password = os.environ.get("SENDSMS_USER", ""), os.environ.get("SENDSMS_PASSWORD", "")
    if not user or not password:
        print(
            "error: set SENDSMS_USER and SENDSMS_PASSWORD (Kannel's sendsms user)", file=sys.stderr
        )
        return 2
    gateway = kannel.Sendsms(args.sendsms_url, user, password, args.sender or "", args.timeout)
    limiter = Limiter(args.per_window, args.window.seconds, args.dedup.seconds)
    the_relay = relay.Relay(gateway, names(), limiter, relay.Metrics.create())
    host, _, port = args.listen.rpartition(":")
    server = make_server(
        host.strip("[]"), int(port), relay.app(the_relay), _Server, handler_class=_Quiet
    )
    print(
        f"sms-relay: listening on {args.listen}, texts through {args.sendsms_url}", file=sys.stderr
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
