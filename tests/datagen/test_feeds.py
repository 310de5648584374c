"""The three feed files: determinism, validity, loading into the server's reader, realism per vertical."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from booking_protocol.feed import load_availability_feed
from mock_server.datagen import iter_merchants
from mock_server.datagen.validate import validate_paths
from mock_server.datagen.writer import write_feeds

FILES = ("merchants.json", "services.json", "availability.json")


def test_same_seed_gives_byte_identical_files(feeds_dir: Path, tmp_path: Path, make_feeds: Any) -> None:
    again = make_feeds(tmp_path / "again")
    for name in FILES:
        assert (feeds_dir / name).read_bytes() == (again / name).read_bytes(), name


def test_other_seed_gives_other_data(feeds_dir: Path, tmp_path: Path, make_feeds: Any) -> None:
    other = make_feeds(tmp_path / "other", seed=12)
    for name in FILES:
        assert (feeds_dir / name).read_bytes() != (other / name).read_bytes(), name


def test_files_are_json_in_googles_layouts(feeds_dir: Path) -> None:
    merchants = json.loads((feeds_dir / "merchants.json").read_text())
    services = json.loads((feeds_dir / "services.json").read_text())
    avail = json.loads((feeds_dir / "availability.json").read_text())
    assert set(merchants) == {"metadata", "merchant"} and len(merchants["merchant"]) == 8
    assert set(services) == {"metadata", "service"}
    assert set(avail) == {"metadata", "service_availability"}
    nonces = {d["metadata"]["nonce"] for d in (merchants, services, avail)}
    assert len(nonces) == 3, "each feed type has its own nonce"


def test_generated_feeds_pass_validate_feed(feeds_dir: Path) -> None:
    report = validate_paths([feeds_dir])
    assert report.findings == []
    assert report.counts["merchants"] == 8 and report.counts["availability"] > 1_000


def test_availability_loads_into_the_server_reader(feeds_dir: Path) -> None:
    slots = load_availability_feed(feeds_dir)  # DIR means DIR/availability.json
    services = orjson.loads((feeds_dir / "services.json").read_bytes())["service"]
    assert {(s.merchant_id, s.service_id) for s in slots} == {
        (s["merchant_id"], s["service_id"]) for s in services
    }
    assert all(s.spots_open <= s.spots_total for s in slots)


def test_slots_lie_within_local_opening_hours(feeds_dir: Path, feed_options: dict[str, Any]) -> None:
    opts = {k: v for k, v in feed_options.items() if k != "start"}
    plans = {p.merchant_id: p for p in iter_merchants(**opts)}
    zones = {p.timezone for p in plans.values()}
    assert len(zones) >= 3, "merchants of several locales live in several time zones"
    for slot in load_availability_feed(feeds_dir):
        plan = plans[slot.merchant_id]
        local = dt.datetime.fromtimestamp(slot.start_sec, ZoneInfo(plan.timezone))
        minute = local.hour * 60 + local.minute
        assert local.weekday() in plan.weekdays
        assert plan.open_min <= minute, (slot, plan.open_min)
        assert minute + slot.duration_sec // 60 <= plan.close_min, (slot, plan.close_min)


def test_vertical_shapes(feeds_dir: Path) -> None:
    by_prefix: dict[str, list[object]] = defaultdict(list)
    for slot in load_availability_feed(feeds_dir):
        by_prefix[slot.merchant_id.split("-")[0]].append(slot)
    assert set(by_prefix) == {"salon", "dining", "fitness", "spa"}
    assert all(s.staff_id and s.spots_total == 1 for s in by_prefix["salon"])  # type: ignore[attr-defined]
    assert {s.party_size for s in by_prefix["dining"]} >= {1, 2, 3, 4}  # type: ignore[attr-defined]
    assert any(s.room_id and s.spots_total > 8 for s in by_prefix["fitness"])  # type: ignore[attr-defined]
    assert any(s.staff_id and s.spots_total == 1 for s in by_prefix["fitness"])  # type: ignore[attr-defined]
    assert all(s.room_id for s in by_prefix["spa"])  # type: ignore[attr-defined]


def test_merchants_fit_their_locale(feeds_dir: Path) -> None:
    import phonenumbers

    merchants = orjson.loads((feeds_dir / "merchants.json").read_bytes())["merchant"]
    services = orjson.loads((feeds_dir / "services.json").read_bytes())["service"]
    currency_of = {"US": "USD", "DE": "EUR", "FR": "EUR", "JP": "JPY"}
    country = {m["merchant_id"]: m["geo"]["address"]["country"] for m in merchants}
    assert len(set(country.values())) >= 2
    for m in merchants:
        number = phonenumbers.parse(m["telephone"])
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.region_code_for_number(number) == m["geo"]["address"]["country"]
        assert m["merchant_id"].split("-")[1].isdigit() and len(m["merchant_id"].split("-")[1]) == 4
    for s in services:
        if "price" in s:
            assert s["price"]["currency_code"] == currency_of[country[s["merchant_id"]]]
            assert s["price"]["price_micros"] % 10_000 == 0


def test_merchant_i_does_not_depend_on_how_many_are_generated(
    feeds_dir: Path, tmp_path: Path, make_feeds: Any
) -> None:
    small = make_feeds(tmp_path / "small", merchants=3)
    big = (feeds_dir / "merchants.json").read_text().splitlines()
    lines = small.joinpath("merchants.json").read_text().splitlines()[1:4]
    assert [line.rstrip(",") for line in lines] == [line.rstrip(",") for line in big[1:4]]


def test_single_kind_and_custom_path(tmp_path: Path) -> None:
    target = tmp_path / "x" / "avail.json"
    stats = write_feeds(
        tmp_path / "x",
        seed=1,
        merchants=2,
        start=dt.date(2030, 1, 7),
        kinds=("availability",),
        availability_path=target,
    )
    assert stats.rows == len(load_availability_feed(target))
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["avail.json"]
