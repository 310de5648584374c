"""The table-driven codec and the one-pass BAL decoder agree with the proto3 JSON rules and each other."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.domain import InvalidArgument
from mock_server.rest import codec
from mock_server.rest.handlers import ROUTES, _bal_fast, _bal_out

BAL = ROUTES["batchavailabilitylookup"]


def test_decode_accepts_both_names_and_int_forms() -> None:
    msg = codec.message("CreateBookingRequest")
    a = codec.decode(msg, {"slot": {"merchant_id": "m", "start_sec": "12", "duration_sec": 60}})
    b = codec.decode(msg, {"slot": {"merchantId": "m", "startSec": 12, "durationSec": "60"}})
    assert a == b == {"slot": {"merchant_id": "m", "start_sec": 12, "duration_sec": 60}}


def test_decode_enums_by_name_or_number_and_null_is_unset() -> None:
    msg = codec.message("Slot")
    assert codec.decode(msg, {"confirmation_mode": 2, "service_id": None}) == {
        "confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS"
    }


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        ({"slot_time": [{"service_id": "a"}, {"start_sec": "1.5"}]}, "slot_time[1].start_sec"),
        ({"slot_time": [{"resource_ids": {"party_size": "x"}}]}, "slot_time[0].resource_ids.party_size"),
        ({"merchant_id": ["m"]}, "merchant_id"),
        ({"slot_time": {}}, "slot_time"),
        ({"slot_time": [{"start_sec": "99999999999999999999"}]}, "slot_time[0].start_sec"),
    ],
)
def test_decode_errors_name_the_path(obj: Any, path: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        codec.decode(codec.message("BatchAvailabilityLookupRequest"), obj)
    assert err.value.field == path


@pytest.mark.parametrize(
    "style", [codec.Style(), codec.Style(camel=True), codec.Style(int64_as_string=False)], ids=repr
)
def test_encode_drops_defaults_and_applies_style(style: codec.Style) -> None:
    canon = {
        "booking_id": "b",
        "status": "CONFIRMED",
        "slot": {
            "start_sec": 5,
            "duration_sec": 0,
            "confirmation_mode": "CONFIRMATION_MODE_UNSPECIFIED",
            "resources": {"party_size": 2},
        },
    }
    out = codec.encode(codec.message("Booking"), canon, style)
    start = "5" if style.int64_as_string else 5
    if style.camel:
        assert out == {
            "bookingId": "b",
            "status": "CONFIRMED",
            "slot": {"startSec": start, "resources": {"partySize": 2}},
        }
    else:
        assert out == {
            "booking_id": "b",
            "status": "CONFIRMED",
            "slot": {"start_sec": start, "resources": {"party_size": 2}},
        }


FAST_CASES: list[Any] = [
    {"merchant_id": "m1", "slot_time": [{"service_id": "s", "start_sec": "10", "duration_sec": 60}]},
    {"merchantId": "m1", "slotTime": [{"serviceId": "s", "startSec": 10, "availabilityTag": "t"}]},
    {"merchant_id": "m1", "slot_time": []},
    {"merchant_id": "m1", "slot_time": [{"service_id": "s", "start_sec": "0", "duration_sec": "0"}]},
]
SLOW_CASES: list[Any] = [
    {
        "merchant_id": "m1",
        "slot_time": [{"service_id": "s", "start_sec": 1, "resource_ids": {"party_size": 2}}],
    },
    {"merchant_id": "m1", "slot_time": [{"service_id": "s", "start_sec": 1, "confirmation_mode": 1}]},
    {"merchant_id": "m1", "slot_time": [{"service_id": "s", "start_sec": "-1"}]},
    {"merchant_id": "m1", "slot_time": [{"service_id": "s", "start_sec": None}]},
    {"merchant_id": "m1", "slot_time": [{"service_id": 5, "start_sec": 1}]},
    {"merchant_id": "m1", "slot_time": [{"start_sec": 1}]},
    {"merchant_id": "", "slot_time": [{"service_id": "s", "start_sec": 1}]},
    {"merchant_id": "m1", "extra": 1, "slot_time": []},
    [1],
]


@pytest.mark.parametrize("raw", FAST_CASES + SLOW_CASES)
@pytest.mark.parametrize(
    "style",
    [codec.Style(), codec.Style(camel=True), codec.Style(camel=True, int64_as_string=False)],
    ids=repr,
)
def test_fast_bal_path_equals_generic(raw: Any, style: codec.Style) -> None:
    fast = _bal_fast(raw, style)
    assert (fast is not None) == (raw in FAST_CASES)
    if fast is None:
        return
    req = codec.decode(BAL.request, raw)
    assert fast[1] == BAL.to_domain(req)
    result = [True] * len(fast[1])
    assert _bal_out(fast[0], result, style) == _bal_out(req, result, style)
    generic = [codec.encode(codec.message("SlotTime"), t, style) for t in req.get("slot_time", [])]
    key = "slotTimeAvailability" if style.camel else "slot_time_availability"
    echoed = [e["slotTime" if style.camel else "slot_time"] for e in _bal_out(fast[0], result, style)[key]]
    assert echoed == generic


def _views() -> list[Any]:
    from mock_server.domain import (
        BookingStatus,
        BookingView,
        ConfirmationMode,
        InventorySlot,
        PostalAddress,
        UserInfo,
    )

    plain = InventorySlot("m", "s", 100, 60, 1, 1)
    rich = InventorySlot(
        "m", "s", 100, 60, 3, 1, "tag", "st", "room", 4, ConfirmationMode.CONFIRMATION_MODE_ASYNCHRONOUS
    )
    return [
        BookingView("b1", plain, UserInfo("u"), BookingStatus.CONFIRMED, None, ""),
        BookingView(
            "b2",
            rich,
            UserInfo("u", "Ada", "L", "+1", "a@b", "en", PostalAddress("US", "SF", "", "94", "1 Main")),
            BookingStatus.PENDING_MERCHANT_CONFIRMATION,
            {
                "prepayment_status": "PREPAYMENT_PROVIDED",
                "price": {"price_micros": 1500000, "currency_code": "USD"},
            },
            "offer",
        ),
        BookingView("b3", plain, UserInfo("u", address=PostalAddress()), BookingStatus.CANCELED, {}, ""),
    ]


@pytest.mark.parametrize(
    "style", [codec.Style(), codec.Style(camel=True), codec.Style(int64_as_string=False)], ids=repr
)
def test_booking_fast_writer_equals_generic_encoding(style: codec.Style) -> None:
    from mock_server.rest import mapping
    from mock_server.rest.handlers import booking_json

    for view in _views():
        assert booking_json(view, style) == codec.encode(
            codec.message("Booking"), mapping.booking_out(view), style
        )
