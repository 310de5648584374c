"""Loaded only by the any-date runs (``scripts/any-date``, ``tests/test_any_date.py``) through ``PYTHONPATH``.

libfaketime 0.9.10 (Debian's) mishandles ``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...)`` when the
monotonic clock is left alone (``FAKETIME_DONT_FAKE_MONOTONIC=1``): it hands the kernel a negative time and
every ``time.sleep`` of Python 3.11 raises ``OSError: [Errno 22]`` (wolfcw/libfaketime#426). Faking the
monotonic clock as well is no way out: glibc's ``sem_clockwait`` then waits for a monotonic deadline years
ahead and every lock with a timeout hangs. So only the calendar is moved, and ``time.sleep`` waits through
``select`` with a relative timeout, which libfaketime passes through unchanged.
"""

from __future__ import annotations

import select
import time


def _sleep(seconds: float) -> None:
    select.select([], [], [], seconds)


time.sleep = _sleep
