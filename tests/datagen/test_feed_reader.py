"""booking_protocol.feed's fast path gives exactly what the general path gives, or steps aside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from booking_protocol import feed
from booking_protocol.feed import FeedError, FeedSlot, load_availability_feed


def _general(rec: Any) -> list[FeedSlot] | str:
    """The general path's answer: its slots, or its error."""
    try:
        return feed._parse_record_general(rec, "f", "$")
    except FeedError as exc:
        return f"error: {exc.problem}"


def _mutations(base: dict[str, Any]) -> list[Any]:
    out: list[Any] = [base, dict(reversed(base.items())), [], "x", None]
    values: list[Any] = [None, True, False, -1, 0, 1, 7, 1.0, 2.5, "", "x", "12", [], {}]
    for key in [*base, "availability_tag", "confirmation_mode", "spots_total", "spots_open", "resources"]:
        out.append({k: v for k, v in base.items() if k != key})
        out.extend({**base, key: v} for v in values)
    for key in ("staff_id", "staff_name", "room_id", "room_name", "party_size", "other"):
        out.extend({**base, "resources": {key: v}} for v in values)
    out.append({**base, "startSec": base["start_sec"]})
    out.append(
        {**base, "recurrence": {"repeat_every_sec": 600, "repeat_until_sec": base["start_sec"] + 1800}}
    )
    out.extend({**base, "confirmation_mode": m} for m in (*feed.CONFIRMATION_MODES, "OTHER", 2))
    return out


def test_fast_path_matches_the_general_path(feeds_dir: Path) -> None:
    doc = json.loads((feeds_dir / "availability.json").read_text())
    rows = doc["service_availability"][0]["availability"]
    samples = rows[:: max(1, len(rows) // 40)]
    checked = 0
    for base in samples:
        for rec in _mutations(base):
            general = _general(rec)
            fast = feed._fast_slot(rec)
            if fast is not None:
                assert [fast] == general, rec
                checked += 1
            try:
                actual: list[FeedSlot] | str = feed.parse_record(rec, "f", "$")
            except FeedError as exc:
                actual = f"error: {exc.problem}"
            assert actual == general, rec
    assert checked > 100


def test_errors_still_come_from_the_general_path() -> None:
    rec = {
        "merchant_id": "m",
        "service_id": "s",
        "start_sec": 1,
        "duration_sec": 60,
        "spots_total": 1,
        "spots_open": 2,
    }
    with pytest.raises(FeedError, match="greater than spots_total"):
        feed.parse_record(rec, "f", "$")


def test_invalid_json_message_is_unchanged(tmp_path: Path) -> None:
    bad = tmp_path / "availability.json"
    bad.write_text('{"service_availability": [}')
    with pytest.raises(FeedError) as info:
        load_availability_feed(tmp_path)
    assert str(info.value) == f"{bad}: line 1 column 27: not valid JSON: Expecting value"
