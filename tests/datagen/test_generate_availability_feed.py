"""The stable in-process API: generate_availability_feed(*, seed, merchants=6, days=30, start=None)."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import time
from collections import Counter

from booking_protocol.feed import FeedSlot, iter_feed_document
from mock_server.datagen import generate_availability_feed

START = dt.date(2030, 1, 7)


def _slots(doc: dict[str, object]) -> list[FeedSlot]:
    return list(iter_feed_document(json.loads(json.dumps(doc)), "generated"))


def test_signature_is_the_promised_one() -> None:
    sig = inspect.signature(generate_availability_feed)
    params = sig.parameters
    assert list(params) == ["seed", "merchants", "days", "start"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert (params["merchants"].default, params["days"].default, params["start"].default) == (6, 30, None)


def test_layout_and_metadata() -> None:
    doc = generate_availability_feed(seed=1, start=START)
    assert set(doc) == {"metadata", "service_availability"}
    meta = doc["metadata"]
    assert meta["processing_instruction"] == "PROCESS_AS_COMPLETE"
    assert (meta["shard_number"], meta["total_shards"]) == (0, 1)
    assert meta["generation_timestamp"] == int(dt.datetime(2030, 1, 6, tzinfo=dt.UTC).timestamp())
    assert doc["service_availability"][0]["availability"]


def test_deterministic_for_seed_and_start_and_differs_across_seeds() -> None:
    a = generate_availability_feed(seed=3, start=START)
    assert json.dumps(a) == json.dumps(generate_availability_feed(seed=3, start=START))
    assert json.dumps(a) != json.dumps(generate_availability_feed(seed=4, start=START))


def test_default_is_small_varied_and_within_bounds() -> None:
    slots = _slots(generate_availability_feed(seed=2, start=START))
    assert 2_000 <= len(slots) <= 10_000
    merchants = {s.merchant_id.split("-")[0] for s in slots}
    assert merchants == {"salon", "dining", "fitness"}
    assert all(1 <= s.spots_open <= s.spots_total <= 20 for s in slots)
    totals = Counter(s.spots_total for s in slots)
    assert totals[1] > 0 and (totals[2] + totals[3]) > 0 and max(totals) > 10
    assert any(s.spots_open < s.spots_total for s in slots)
    share_async = sum(s.is_async for s in slots) / len(slots)
    assert 0.05 <= share_async <= 0.16
    assert {s.confirmation_mode for s in slots} == {
        "CONFIRMATION_MODE_SYNCHRONOUS",
        "CONFIRMATION_MODE_ASYNCHRONOUS",
    }
    assert len({s.key for s in slots}) == len(slots), "every slot is a distinct inventory key"


def test_vertical_resources() -> None:
    slots = _slots(generate_availability_feed(seed=5, start=START))
    salon = [s for s in slots if s.merchant_id.startswith("salon-")]
    dining = [s for s in slots if s.merchant_id.startswith("dining-")]
    fitness = [s for s in slots if s.merchant_id.startswith("fitness-")]
    assert salon and all(s.staff_id and s.staff_name and s.spots_total == 1 for s in salon)
    assert dining and all(s.party_size >= 1 and not s.staff_id for s in dining)
    # each party size is its own entry at the same seating
    seating = Counter((s.merchant_id, s.service_id, s.start_sec) for s in dining)
    assert max(seating.values()) >= 4
    classes = [s for s in fitness if s.room_id]
    assert classes and all(8 <= s.spots_total <= 20 for s in classes)


def test_days_and_start_bound_the_slots() -> None:
    slots = _slots(generate_availability_feed(seed=6, merchants=3, days=30, start=START))
    first = int(dt.datetime(2030, 1, 7, tzinfo=dt.UTC).timestamp())
    assert min(s.start_sec for s in slots) >= first
    # local days 0..29 end at most a day (time zone) after the 30th UTC day
    assert max(s.start_sec for s in slots) < first + 31 * 86_400
    assert max(s.start_sec for s in slots) >= first + 28 * 86_400


def test_default_start_is_tomorrow_so_every_slot_is_in_the_future() -> None:
    slots = _slots(generate_availability_feed(seed=7, merchants=3, days=2))
    assert slots and min(s.start_sec for s in slots) > time.time()


def test_zero_merchants_gives_an_empty_but_valid_feed() -> None:
    doc = generate_availability_feed(seed=1, merchants=0, start=START)
    assert _slots(doc) == []
