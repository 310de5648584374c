"""Time and identifiers for the domain: the injectable clock and id generators, and their test doubles."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]
IdGenerator = Callable[[], str]


class FakeClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = float(now)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class ShiftedClock:
    """A clock that starts at ``epoch`` and then runs at real speed.

    Tests give one to the reference server and the harness alike: every date-dependent choice (which slots
    lie ahead, what "now" is in a lease request) is then the same on any machine date, while leases and
    asynchronous confirmations still expire in real seconds."""

    def __init__(self, epoch: float) -> None:
        self.epoch = float(epoch)
        self._t0 = time.monotonic()

    def __call__(self) -> float:
        return self.epoch + (time.monotonic() - self._t0)


class SequentialIds:
    """``prefix1``, ``prefix2``, … (thread-safe: ``itertools.count`` is atomic in CPython)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._next = itertools.count(1).__next__

    def __call__(self) -> str:
        return f"{self._prefix}{self._next()}"


def default_ids(kind: str) -> SequentialIds:
    """Ids unique within a run and, thanks to a random run tag, unlikely to repeat across runs."""
    return SequentialIds(f"{kind}-{secrets.token_hex(3)}-")
