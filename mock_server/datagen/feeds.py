"""Turning merchant plans into records of Google's three JSON feed layouts.

Records keep a fixed key order (insertion order; orjson and json both keep it) so output is byte-identical
for the same seed and options. int64 values are JSON numbers, as in Google's feed samples.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mock_server.datagen.model import ASYNC, DAY, SYNC, MerchantPlan, SlotRow, derive_seed

#: Nonces (uint64, a string in proto3 JSON as in Google's samples) stay below 2**53 for JavaScript readers.
_NONCE_MASK = (1 << 53) - 1


def day_start_utc(day: dt.date) -> int:
    """Epoch seconds of 00:00 UTC on ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def feed_metadata(seed: int, kind: str, start: dt.date) -> dict[str, Any]:
    """FeedMetadata of a complete single-shard feed. The timestamp is the day before ``start`` (not the wall
    clock), so regenerating gives byte-identical files."""
    return {
        "processing_instruction": "PROCESS_AS_COMPLETE",
        "shard_number": 0,
        "total_shards": 1,
        "nonce": str(derive_seed(seed, "nonce", kind) & _NONCE_MASK),
        "generation_timestamp": day_start_utc(start) - DAY,
    }


def availability_record(plan: MerchantPlan, row: SlotRow) -> dict[str, Any]:
    """One Availability record of spec §2.10."""
    si, start_sec, duration_sec, total, open_, resource, party, is_async = row
    rec: dict[str, Any] = {
        "merchant_id": plan.merchant_id,
        "service_id": plan.services[si].service_id,
        "start_sec": start_sec,
        "duration_sec": duration_sec,
        "spots_total": total,
        "spots_open": open_,
    }
    resources = resource.as_json(party)
    if resources:
        rec["resources"] = resources
    rec["confirmation_mode"] = ASYNC if is_async else SYNC
    return rec


def merchant_record(plan: MerchantPlan) -> dict[str, Any]:
    """One Merchant of Google's merchant feed (structured address, the recommended form)."""
    a = plan.address
    address: dict[str, Any] = {"country": a.country, "locality": a.locality}
    if a.region:
        address["region"] = a.region
    address["postal_code"] = a.postal_code
    address["street_address"] = a.street_address
    return {
        "merchant_id": plan.merchant_id,
        "name": plan.name,
        "telephone": plan.telephone,
        "url": plan.url,
        "geo": {"latitude": plan.latitude, "longitude": plan.longitude, "address": address},
        "category": plan.vertical.category,
    }


def service_records(plan: MerchantPlan) -> list[dict[str, Any]]:
    """The merchant's Services of Google's service feed; free dining reservations carry no price."""
    lang = plan.locale.language.split("-")[0]
    out = []
    for svc in plan.services:
        t = svc.template
        rec: dict[str, Any] = {
            "merchant_id": plan.merchant_id,
            "service_id": svc.service_id,
            "localized_service_name": {
                "value": t.name,
                "localized_value": [{"locale": lang, "value": t.name}],
            },
            "localized_description": {"value": t.description},
        }
        if svc.price_micros:
            rec["price"] = {"price_micros": svc.price_micros, "currency_code": plan.locale.currency}
        rec["scheduling_rules"] = {"min_advance_booking": 3600, "min_advance_online_canceling": 4 * 3600}
        out.append(rec)
    return out
