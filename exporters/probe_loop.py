"""A probe run on a fixed interval off the scrape path, that cannot hang unnoticed.

The Kannel end-to-end probe and the citizen-database probe both run this way, so a slow
dependency never slows a scrape: scrapes read the last result. Each run happens in a
worker thread with a deadline. A run still going at its deadline (a database frozen
after accepting the connection, where no client timeout fires) is reported as a
`timeout` failure, and again every interval while it hangs, so the last result always
says what is true now. A run that raises (a bug) is reported as an `error` failure
instead of ending the loop. Stdlib only (Debian container).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class ProbeLoop:
    """Calls `step` every `interval` seconds (start to start) until `stop()`.

    `failed(reason)` records a run that did not finish by `deadline` seconds
    ("timeout") or raised ("error").
    """

    def __init__(
        self,
        step: Callable[[], None],
        interval: float,
        name: str,
        deadline: float,
        failed: Callable[[str], None],
    ) -> None:
        self._step = step
        self._interval = interval
        self._deadline = deadline
        self._failed = failed
        self._name = name
        self._stop = threading.Event()
        # Notified when a run finishes and when stop() is called: the loop waits for
        # either, so stopping never waits out a hanging run's deadline (`docker stop`
        # kills after 10 s; the Kannel probe's deadline is 32 s).
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> ProbeLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop scheduling runs; a run that hangs is left behind (its thread is a daemon)."""
        with self._changed:
            self._stop.set()
            self._changed.notify_all()
        self._thread.join(timeout=self._interval + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            done = threading.Event()
            worker = threading.Thread(
                target=self._guarded, args=(done,), name=f"{self._name}-run", daemon=True
            )
            worker.start()
            self._wait_for(done, self._deadline)
            while not done.is_set() and not self._stop.is_set():
                log.warning("%s probe still running after %gs: counted as timeout",
                            self._name, time.monotonic() - started)  # fmt: skip
                self._failed("timeout")
                self._wait_for(done, self._interval)
            self._stop.wait(max(self._interval - (time.monotonic() - started), 0.0))

    def _wait_for(self, done: threading.Event, seconds: float) -> None:
        """Until the run is done, stop() is called, or `seconds` pass."""
        with self._changed:
            self._changed.wait_for(lambda: done.is_set() or self._stop.is_set(), seconds)

    def _guarded(self, done: threading.Event) -> None:
        try:
            self._step()
        except Exception:
            log.exception("%s probe failed unexpectedly", self._name)
            self._failed("error")
        finally:
            with self._changed:
                done.set()
                self._changed.notify_all()
