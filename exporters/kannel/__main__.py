"""`python -m exporters.kannel`: serve Kannel's status and the loopback SMS probe on /metrics.

Secrets come from the environment only, never the command line (which `ps` shows):
KANNEL_STATUS_PASSWORD for status.xml, SENDSMS_USER / SENDSMS_PASSWORD for sendsms.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence

from prometheus_client.registry import CollectorRegistry

from dvc_rollout import argtypes
from dvc_rollout.errors import UsageError
from exporters import serving
from exporters.kannel.collector import EndToEndCollector, KannelCollector
from exporters.kannel.e2e import CallbackInbox, EndToEndProbe, ProbeState, SendSms, probe_loop
from exporters.kannel.fetch import HttpStatusSource

log = logging.getLogger("exporters.kannel")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m exporters.kannel",
        description="Export Kannel's status.xml and an end-to-end loopback SMS probe.",
        epilog="Environment: KANNEL_STATUS_PASSWORD (status.xml), SENDSMS_USER and "
        "SENDSMS_PASSWORD (the end-to-end probe's sendsms-user).",
    )
    for flag, kind, default, text in (
        ("--listen", argtypes.listen_address, "127.0.0.1:9602", "HOST:PORT for /metrics"),
        ("--kannel-url", argtypes.url, "http://127.0.0.1:13000", "bearerbox admin URL"),
        ("--status-timeout", argtypes.seconds(0, 600), 5.0, "seconds for status.xml"),
        ("--probe-interval", argtypes.seconds(0, 86400), 60.0, "seconds between probes"),
        ("--probe-timeout", argtypes.seconds(0, 600), 30.0, "seconds to wait for the MO"),
        ("--probe-smsc", argtypes.text(40), "loopback", "smsc-id of the loopback SMSC"),
        ("--probe-from", argtypes.text(40), "DVCPROBE", "sender of the probe SMS"),
        ("--probe-to", argtypes.text(40), "0000000000", "receiver of the probe SMS"),
        ("--log-level", argtypes.log_level, "INFO", "DEBUG, INFO, WARNING or ERROR"),
    ):
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument(
        "--sendsms-url",
        type=argtypes.url,
        help="smsbox sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms "
        "(omit to run without the end-to-end probe)",
    )
    p.add_argument(
        "--callback-listen",
        type=argtypes.listen_address,
        default="127.0.0.1:9603",
        help="HOST:PORT where Kannel's sms-service get-url delivers the looped-back MO (/mo)",
    )
    return p


def _sendsms(args: argparse.Namespace) -> SendSms:
    user = os.environ.get("SENDSMS_USER", "")
    password = os.environ.get("SENDSMS_PASSWORD", "")
    if not user or not password:
        raise UsageError(
            "--sendsms-url needs SENDSMS_USER and SENDSMS_PASSWORD in the environment "
            "(a sendsms-user group of Kannel's config)"
        )
    return SendSms(
        url=args.sendsms_url,
        username=user,
        password=password,
        smsc=args.probe_smsc,
        sender=args.probe_from,
        receiver=args.probe_to,
    )


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    """Start the servers and the probe loop; block until `stop` is set."""
    password = os.environ.get("KANNEL_STATUS_PASSWORD", "")
    if not password:
        log.warning("KANNEL_STATUS_PASSWORD is empty: Kannel will answer 'Denied' if it has one")
    registry = CollectorRegistry()
    KannelCollector(HttpStatusSource(args.kannel_url, password, args.status_timeout), registry)
    stoppers = []
    if args.sendsms_url:
        sendsms = _sendsms(args)
        inbox = CallbackInbox()
        state = ProbeState()
        # The loop records a result at least every interval (a hung run as a timeout);
        # three intervals and a timeout without one means the loop itself is gone.
        stale_after = 3 * args.probe_interval + args.probe_timeout
        EndToEndCollector(state, registry, stale_after=stale_after)
        callback = serving.Server(
            serving.parse_listen(args.callback_listen),
            serving.router({"/mo": inbox.app, "/-/healthy": serving.answer("OK\n")}),
            "sms callback",
        ).start()
        stoppers.append(callback.stop)
        loop = probe_loop(
            EndToEndProbe(sendsms, inbox, args.probe_timeout), state, args.probe_interval
        )
        loop.start()
        stoppers.append(loop.stop)
    server = serving.Server(
        serving.parse_listen(args.listen),
        serving.exporter_app(registry),
        "metrics",
    ).start()
    stoppers.append(server.stop)
    log.info("serving Kannel metrics on %s (kannel %s)", args.listen, args.kannel_url)
    serving.wait_until(stop)
    for s in reversed(stoppers):
        s()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return serving.run_until_signalled(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
