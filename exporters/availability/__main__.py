"""`python -m exporters.availability`: sweep the targets and serve /metrics until stopped."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from prometheus_client.registry import CollectorRegistry

from dvc_rollout import argtypes
from dvc_rollout.errors import DvcRolloutError
from exporters import serving
from exporters.availability.collector import AvailabilityCollector
from exporters.availability.config import Config, ProbeSettings, load_config
from exporters.availability.errors import AvailabilityConfigError
from exporters.availability.results import Results
from exporters.availability.server import MetricsCache, exporter_app
from exporters.availability.sweep import Sweeper
from exporters.availability.targets import (
    Target,
    build_targets,
    labels_from_inventory,
    parse_shard,
    read_targets_file,
    select,
)

log = logging.getLogger("exporters.availability")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m exporters.availability",
        description="Probe every (unit, service) pair in background sweeps; serve /metrics.",
    )
    parser.add_argument(
        "--config",
        type=argtypes.existing_file,
        required=True,
        help="YAML config: host, URL templates, checks",
    )
    parser.add_argument(
        "--targets",
        metavar="FILE",
        type=argtypes.existing_file,
        help="targets file from `python -m exporters.availability.targets` "
        "(default: read the inventory, which needs pydantic 2)",
    )
    for flag, kind, default, text in (
        ("--listen", argtypes.listen_address, "127.0.0.1:9601", "HOST:PORT to serve on"),
        ("--shard", str, "1/1", "i/n: probe only replica i's slice of n"),
        ("--interval", argtypes.seconds(0, 86400), None, "seconds between sweep starts"),
        ("--timeout", argtypes.seconds(0, 600), None, "seconds a probe may take"),
        ("--concurrency", argtypes.integer(1, 10_000), None, "probes in flight at once"),
        ("--log-level", argtypes.log_level, "INFO", "DEBUG, INFO, WARNING or ERROR"),
    ):
        parser.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument(
        "--phase", type=argtypes.phase, action="append", help="only this phase (repeat)"
    )
    parser.add_argument(
        "--reuse-connections",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep connections open between probes (default: a fresh one each, as blackbox)",
    )
    return parser


def settings_from(args: argparse.Namespace, config: Config) -> ProbeSettings:
    """The config's probe settings with the command line's values laid over them."""
    overrides = {
        name: getattr(args, name)
        for name in ("interval", "timeout", "concurrency", "reuse_connections")
        if getattr(args, name) is not None
    }
    return dataclasses.replace(config.probe, **overrides).checked()


def load_targets(args: argparse.Namespace, config: Config) -> list[Target]:
    shard = parse_shard(args.shard)
    if args.targets:
        label_sets = read_targets_file(args.targets)
    else:
        label_sets = labels_from_inventory(args.phase)
    return build_targets(select(label_sets, args.phase, shard), config)


async def serve(targets: Sequence[Target], settings: ProbeSettings, host: str, port: int) -> int:
    """Run sweeps and the HTTP endpoint until SIGTERM or SIGINT."""
    registry = CollectorRegistry()
    results = Results(targets)
    AvailabilityCollector(results, registry, interval=settings.interval)
    cache = MetricsCache(registry)
    sweeper = Sweeper(targets, settings, results=results)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sweeps: asyncio.Task[None] | None = None
    app = exporter_app(cache, healthy=lambda: sweeps is not None and not sweeps.done())
    server = serving.Server((host, port), app, "metrics").start()
    sweeps = asyncio.create_task(sweeper.run(stop, on_sweep=lambda _report: cache.refresh()))
    log.info(
        "probing %d targets every %gs (timeout %gs, concurrency %d, %s connections) on %s:%d",
        len(targets),
        settings.interval,
        settings.timeout,
        settings.concurrency,
        "reused" if settings.reuse_connections else "fresh",
        host,
        port,
    )
    try:
        await sweeps
    finally:
        # Off the loop: stop() waits for scrapes in flight, which read the cache only.
        await loop.run_in_executor(None, server.stop)
    return 0


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when installed (Debian: python3-uvloop), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config)
        settings = settings_from(args, config)
        host, port = serving.parse_listen(args.listen)
        targets = load_targets(args, config)
        if not targets:
            raise AvailabilityConfigError(
                "no targets to probe: check --phase, --shard and the targets file"
            )
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(serve(targets, settings, host, port))
    except DvcRolloutError as exc:
        print(f"availability exporter: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
