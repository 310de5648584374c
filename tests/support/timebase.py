"""The pinned time base of the test suite: no test outcome may depend on the machine's date.

Generated feeds start on :data:`FEED_START`, and the reference server and the harness share a
:func:`pinned_clock` that starts the day before at noon UTC and then runs at real speed. Which slot each
scenario gets, what the server believes "now" is and what ``${now}`` means in a scenario are then the same on
every date, including the DST changes and 29 February that CI proves the suite under (libfaketime).
"""

from __future__ import annotations

import datetime as dt
import functools

from mock_server.domain import ShiftedClock

#: A Monday, far from any DST change in the EU and the US.
FEED_START = dt.date(2030, 6, 3)
#: Noon UTC on the day before the feed starts: every slot lies ahead, by more than any --min-lead.
PINNED_NOW = dt.datetime.combine(FEED_START - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC).timestamp()


@functools.cache
def pinned_clock() -> ShiftedClock:
    """The process's one clock, started at :data:`PINNED_NOW` when first asked for. Every server and harness
    of a test process share it, so they always agree on "now" (a lease asked for ``now + 2`` is live)."""
    return ShiftedClock(PINNED_NOW)
