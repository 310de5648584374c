"""Realistic, reproducible fake partner data: merchants, services, availability and users (issue 6).

Public API (stable):

* :func:`generate_availability_feed` -- an availability feed document (spec §2.10) as a ``dict``, for tests
  and in-process servers. Small by default (a few thousand slots).
* :func:`mock_server.datagen.writer.write_feeds` -- the feed files (merchants, services, availability, offers)
  and the payment fixtures, streamed to disk at any size.
* :func:`mock_server.datagen.users.iter_users` -- UserInformation records.
* :mod:`mock_server.datagen.validate` -- ``bookcheck validate-feed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from mock_server.datagen.feeds import availability_record, day_start_utc, feed_metadata
from mock_server.datagen.locales import DEFAULT_LOCALE
from mock_server.datagen.model import FakerPool, MerchantPlan, build_merchant, iter_slots
from mock_server.datagen.verticals import DEFAULT_VERTICALS, VERTICALS

__all__ = ["generate_availability_feed", "iter_merchants", "default_start"]


def default_start() -> dt.date:
    """Tomorrow (UTC): every generated slot is then in the future."""
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def iter_merchants(
    *,
    seed: int,
    merchants: int,
    verticals: Sequence[str] = DEFAULT_VERTICALS,
    locales: Sequence[str] = (DEFAULT_LOCALE,),
) -> Iterator[MerchantPlan]:
    """Merchant plans 0..merchants-1; the vertical of merchant ``i`` is ``verticals[i % len(verticals)]``."""
    if not verticals:
        raise ValueError("at least one vertical is needed")
    unknown = [v for v in verticals if v not in VERTICALS]
    if unknown:
        raise ValueError(f"unknown vertical {unknown[0]!r}; known: {', '.join(VERTICALS)}")
    pool = FakerPool()
    locs = tuple(locales) or (DEFAULT_LOCALE,)
    for i in range(merchants):
        yield build_merchant(seed, i, VERTICALS[verticals[i % len(verticals)]], locs, pool)


def generate_availability_feed(
    *, seed: int, merchants: int = 6, days: int = 30, start: dt.date | None = None
) -> dict[str, Any]:
    """An availability feed document (Google's JSON layout, spec §2.10), deterministic for seed and start.

    Merchants alternate between beauty (stylists as ``staff`` resources, capacity 1), dining (one entry per
    party size) and fitness (classes in rooms with up to 20 places, personal training with capacity 1).
    Slots lie within opening hours of ``days`` local days from ``start`` (default: tomorrow, UTC), never
    before 00:00 UTC of ``start``. About one in ten is ``CONFIRMATION_MODE_ASYNCHRONOUS``.
    The paid services' slots (:mod:`mock_server.datagen.commerce`) are not in it: ``write_feeds`` writes
    them, after these, which stay byte for byte the same.
    """
    if merchants < 0 or days < 0:
        raise ValueError("merchants and days must not be negative")
    first = start if start is not None else default_start()
    not_before = day_start_utc(first)
    records: list[dict[str, Any]] = []
    for plan in iter_merchants(seed=seed, merchants=merchants):
        records.extend(
            availability_record(plan, row) for row in iter_slots(plan, seed, first, days, not_before)
        )
    return {
        "metadata": feed_metadata(seed, "availability", first),
        "service_availability": [{"availability": records}],
    }
