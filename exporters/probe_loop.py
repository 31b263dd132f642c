"""A probe run on a fixed interval in a daemon thread, stoppable from tests and signals.

The Kannel end-to-end probe and the citizen-database probe both run this way, off the
scrape path, so a slow dependency never slows a scrape. Stdlib only (Debian container).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ProbeLoop:
    """Calls `step` every `interval` seconds (start to start) until `stop()`."""

    def __init__(
        self, step: Callable[[], None], interval: float, name: str, join_timeout: float
    ) -> None:
        self._step = step
        self._interval = interval
        self._join_timeout = join_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> ProbeLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._join_timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._step()
            self._stop.wait(max(self._interval - (time.monotonic() - started), 0.0))
