"""A tiny feed directory with money in it, for the payment tests of the server and gRPC rooms.

``availability.json`` plus ``services.json`` and ``merchants.json`` in Google's feed layouts and an
``offers.json`` (bookcheck's subset, D49), written small and by hand so every amount a test asserts is
visible here. Slots lie on the day after :data:`timebase.FEED_START` and later; servers run on
:func:`timebase.pinned_clock`, so "now" is two days before and every refund condition below is met whatever
the machine's date.

The merchant :data:`MERCHANT` sells:

- :data:`PREPAID`: a prepaid class, 20.00 USD + 10 % tax = 22.00 USD, full refund until a day before;
- :data:`PACK_CLASS`: a class paid with the 5-class pack :data:`PACK` (50.00 USD, no tax);
- :data:`ONLINE`: an online session (virtual session info, D50), free;
- :data:`FREE`: a class without any payment terms.

It accepts VISA and MASTERCARD only, so an AMEX token is rejected with ``rejected_card_type`` (D37).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

from timebase import FEED_START

MERCHANT = "pay-gym"
OTHER_MERCHANT = "other-gym"
PREPAID, PACK_CLASS, ONLINE, FREE = "spin-prepaid", "yoga-pack", "zoom-coaching", "stretch-free"
PACK = "pack-5"
OFFER = "early-bird"
CURRENCY = "USD"
PRICE_MICROS = 20_000_000
TAX_MICROS = 2_000_000  # 10 % of 20.00 USD
PACK_PRICE_MICROS = 50_000_000
PACK_SESSIONS = 5
HOUR = 3600
#: the first slot: 10:00 UTC on the feed's second day, 46 hours after the pinned "now" (so more than the
#: prepaid class's one-day refund condition)
FIRST_START = int(
    dt.datetime.combine(FEED_START + dt.timedelta(days=1), dt.time(10), tzinfo=dt.UTC).timestamp()
)
#: slots per service: one an hour from FIRST_START
SLOTS = 120


def price(micros: int) -> dict[str, Any]:
    return {"price_micros": str(micros), "currency_code": CURRENCY}


def _availability() -> dict[str, Any]:
    records = [
        {
            "merchant_id": MERCHANT,
            "service_id": service,
            "start_sec": FIRST_START + i * HOUR,
            "duration_sec": HOUR,
            "spots_total": 1,
            "spots_open": 1,
            "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
        }
        for service in (PREPAID, PACK_CLASS, ONLINE, FREE)
        for i in range(SLOTS)
    ]
    return {"metadata": {"processing_instruction": "PROCESS_AS_COMPLETE"}, "service_availability": [
        {"availability": records}
    ]}  # fmt: skip


def _service(service_id: str, name: str, **terms: Any) -> dict[str, Any]:
    return {
        "merchant_id": MERCHANT,
        "service_id": service_id,
        "localized_service_name": {"value": name},
        **terms,
    }


def _services() -> dict[str, Any]:
    day = 24 * HOUR
    return {
        "metadata": {"processing_instruction": "PROCESS_AS_COMPLETE"},
        "service": [
            _service(
                PREPAID,
                "Spin class (prepaid)",
                price=price(PRICE_MICROS),
                tax_rate={"micro_percent": 10_000_000},
                prepayment_type="REQUIRED",
                scheduling_rules={
                    "min_advance_online_canceling": HOUR,
                    "cancellation_policy": {
                        "refund_condition": [
                            {"min_duration_before_start_time_sec": str(day), "refund_percent": 100}
                        ]
                    },
                },
            ),
            _service(PACK_CLASS, "Yoga (5-class pack)", price=price(12_000_000), payment_option_id=[PACK]),
            _service(
                ONLINE,
                "Online coaching",
                type="SERVICE_TYPE_ONLINE_APPOINTMENT",
                virtual_session={"session_instructions": {"value": "A link comes with the booking."}},
            ),
            _service(FREE, "Stretching"),
        ],
    }


def _merchants() -> dict[str, Any]:
    return {
        "metadata": {"processing_instruction": "PROCESS_AS_COMPLETE"},
        "merchant": [
            {
                "merchant_id": MERCHANT,
                "name": "Pay Gym",
                "category": "gym",
                "geo": {"latitude": 52.52, "longitude": 13.40},
                "tokenization_config": {"tokenization_parameter": {"gateway": "bookcheck"}},
                "payment_restrictions": {
                    "credit_card_restrictions": {"credit_card_type": ["VISA", "MASTERCARD"]}
                },
                "payment_option": [
                    {
                        "payment_option_id": PACK,
                        "name": "5 classes",
                        "price": price(PACK_PRICE_MICROS),
                        "payment_option_type": "PAYMENT_OPTION_MULTI_USE",
                        "session_count": PACK_SESSIONS,
                        "valid_duration_sec": str(90 * 24 * HOUR),
                    }
                ],
            },
            {
                "merchant_id": OTHER_MERCHANT,
                "name": "Other Gym",
                "category": "gym",
                "geo": {"latitude": 48.14, "longitude": 11.58},
            },
        ],
    }


def _offers() -> dict[str, Any]:
    """One offer on :data:`FREE`, valid for the first half of its slots."""
    window = {"start_sec": FIRST_START, "end_sec": FIRST_START + SLOTS // 2 * HOUR}
    return {
        "offer": [
            {"offer_id": OFFER, "merchant_id": MERCHANT, "service_id": [FREE], "validity_periods": [window]}
        ]
    }


def write_payment_feed(directory: Path) -> Path:
    """Write the four files into ``directory`` (created if needed); returns the directory (``--feed DIR``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, doc in (
        ("availability.json", _availability()),
        ("services.json", _services()),
        ("merchants.json", _merchants()),
        ("offers.json", _offers()),
    ):
        (directory / name).write_text(json.dumps(doc), encoding="utf-8")
    return directory


_numbers = itertools.count()


def next_start() -> int:
    """A slot start no other test of this process uses (each slot has one spot)."""
    n = next(_numbers)
    assert n < SLOTS, "payment feed too small for the number of tests"
    return FIRST_START + n * HOUR


def card_token(last4: str, nonce: str, network: str = "VISA") -> str:
    """A simulated processor token (D52 shorthand): the last four digits decide the outcome."""
    return f"bookcheck:{network}:{last4}:{nonce}"


def user_json(user_id: str) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "given_name": "Grace",
        "family_name": "Hopper",
        "telephone": "+1 415-736-0000",
        "email": f"{user_id}@example.com",
    }


def slot_json(service: str, start: int) -> dict[str, Any]:
    return {
        "merchant_id": MERCHANT,
        "service_id": service,
        "start_sec": str(start),
        "duration_sec": str(HOUR),
    }


def prepaid_payment(**extra: Any) -> dict[str, Any]:
    """PaymentInformation of a prepaid class as Google sends it (PROCESSED_BY_PARTNER, no transaction id)."""
    return {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_processed_by": "PROCESSED_BY_PARTNER",
        "price": price(PRICE_MICROS),
        "tax_amount": price(TAX_MICROS),
        **extra,
    }


def create_body(
    service: str,
    start: int,
    user_id: str,
    idempotency_token: str,
    *,
    payment: dict[str, Any] | None = None,
    token: str | None = None,
    offer_id: str = "",
) -> dict[str, Any]:
    """A CreateBookingRequest in JSON (field-name form)."""
    body: dict[str, Any] = {
        "slot": slot_json(service, start),
        "user_information": user_json(user_id),
        "idempotency_token": idempotency_token,
    }
    if payment is not None:
        body["payment_information"] = payment
    if token is not None:
        body["payment_processing_parameters"] = {
            "unparsed_payment_method_token": token,
            "tokenization_config": {"tokenization_parameter": {"gateway": "bookcheck"}},
        }
    if offer_id:
        body["offer_id"] = offer_id
    return body
