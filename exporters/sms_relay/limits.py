"""De-duplication and rate limits per phone number, so a storm does not flood a phone.

A text identical in substance (same number, state and alerts) to one sent within
`dedup_seconds` is a duplicate (Alertmanager re-sends a group on every change and on
retries). At most `per_window` texts go to one number per `window_seconds`; those held
back are counted and the next text that goes out says how many. The clock is passed in
so tests run without waiting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["send", "duplicate", "rate_limited"]


@dataclass
class Limiter:
    per_window: int = 6
    window_seconds: float = 3600.0
    dedup_seconds: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _sent: dict[tuple[str, str], float] = field(default_factory=dict)
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, to: str, key: str) -> Verdict:
        """Whether a text for (`to`, `key`) may go now; a refusal is remembered."""
        now = self.clock()
        with self._lock:
            last = self._sent.get((to, key))
            if last is not None and now - last < self.dedup_seconds:
                return "duplicate"
            recent = self._recent.setdefault(to, deque())
            while recent and now - recent[0] >= self.window_seconds:
                recent.popleft()
            if len(recent) >= self.per_window:
                self._held[to] = self._held.get(to, 0) + 1
                return "rate_limited"
            return "send"

    def held_back(self, to: str) -> int:
        """Texts to `to` held back since the last one that went out."""
        with self._lock:
            return self._held.get(to, 0)

    def sent(self, to: str, key: str) -> None:
        """Record a text that the gateway took."""
        now = self.clock()
        with self._lock:
            self._sent[(to, key)] = now
            self._recent.setdefault(to, deque()).append(now)
            self._held.pop(to, None)
            stale = [k for k, t in self._sent.items() if now - t >= self.dedup_seconds]
            for k in stale:
                del self._sent[k]
