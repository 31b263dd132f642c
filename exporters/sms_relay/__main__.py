"""`python -m exporters.sms_relay`: serve the alert-to-SMS relay.

    SENDSMS_USER=... SENDSMS_PASSWORD=... python -m exporters.sms_relay \
        --listen 0.0.0.0:9606 --sendsms-url http://kannel:13013/cgi-bin/sendsms \
        [--per-window 6 --window 1h --dedup 1h] [--sender DVC]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence

from dvc_rollout import argtypes
from dvc_rollout.errors import UsageError
from exporters import serving
from exporters.sms_relay import kannel, relay
from exporters.sms_relay.limits import Limiter
from exporters.sms_relay.message import Names


def names() -> Names:
    """District and service names from the inventory the image carries."""
    import inventory

    inv = inventory.load()
    return Names(
        districts={c: d.name for c, d in inv.districts.items()},
        services={c: s.name_vi for c, s in inv.services.items()},
    )


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(prog="python -m exporters.sms_relay", description=__doc__)
    found.add_argument("--listen", type=argtypes.listen_address, default="0.0.0.0:9606")
    found.add_argument("--sendsms-url", type=argtypes.url, required=True)
    found.add_argument("--sender", type=argtypes.text(11), help="sender id (default: Kannel's)")
    found.add_argument(
        "--per-window",
        type=argtypes.integer(1, 100, "a count of texts"),
        default=6,
        help="texts to one number per --window (default 6)",
    )
    found.add_argument("--window", type=argtypes.duration(86400, 60), default="1h")
    found.add_argument(
        "--dedup",
        type=argtypes.duration(86400, 1),
        default="1h",
        help="the same text is not sent to a number again within this long (default 1h)",
    )
    found.add_argument("--timeout", type=argtypes.seconds(0, 60), default=5.0)
    found.add_argument("--log-level", default="INFO")
    return found


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    user, password = os.environ.get("SENDSMS_USER", ""), os.environ.get("SENDSMS_PASSWORD", "")
    if not user or not password:
        raise UsageError("set SENDSMS_USER and SENDSMS_PASSWORD (Kannel's sendsms user)")
    gateway = kannel.Sendsms(args.sendsms_url, user, password, args.sender or "", args.timeout)
    limiter = Limiter(args.per_window, args.window.seconds, args.dedup.seconds)
    the_relay = relay.Relay(gateway, names(), limiter, relay.Metrics.create())
    server = serving.Server(
        serving.parse_listen(args.listen), relay.app(the_relay), name="sms-relay"
    ).start()
    print(
        f"sms-relay: listening on {args.listen}, texts through {args.sendsms_url}",
        file=sys.stderr,
        flush=True,
    )
    serving.wait_until(stop)
    server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return serving.run_until_signalled(parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
