"""Feeds with money: the generated paid services, merchants, offers and fixtures, read back with
``booking_protocol.commercefeed`` into the catalogue the server and the harness price bookings with."""

from __future__ import annotations

import datetime as dt
import hashlib
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from booking_protocol.commerce import (
    MULTI_USE,
    PER_PERSON,
    SINGLE_USE,
    UNLIMITED_USE,
    Catalogue,
    Money,
    minor_unit_micros,
)
from booking_protocol.commercefeed import OUTCOMES, load_catalogue, load_payment_fixtures
from booking_protocol.feed import load_availability_feed
from mock_server.datagen import generate_availability_feed, iter_merchants
from mock_server.datagen.commerce import PAID_TEMPLATES
from mock_server.datagen.writer import write_feeds

PAID = {t.slug for templates in PAID_TEMPLATES.values() for t in templates}
#: Length and SHA-256 of availability.json and services.json of the ``feeds_dir`` options as generated
#: before payments existed, without their closing brackets: the files must still begin with exactly these
#: bytes (tests that pin a seed keep their slots and services).
BEFORE_PAYMENTS = {
    "availability.json": (1_678_891, "abd3f8f073063595443d8c70d013f1aff1c4e82953aa130af96231ded36c41bd"),
    "services.json": (9_278, "2898d32b55647e7601906e0f3eab020339d6c6994958c780a3dbe44219f45b2e"),
}


@pytest.fixture(scope="module")
def catalogue(feeds_dir: Path) -> Catalogue:
    return load_catalogue(feeds_dir)


def _service(cat: Catalogue, service_id: str, merchant_prefix: str = "") -> Any:
    return next(
        s for s in cat.services() if s.service_id == service_id and s.merchant_id.startswith(merchant_prefix)
    )


@pytest.mark.parametrize("name", sorted(BEFORE_PAYMENTS))
def test_the_rows_and_services_from_before_payments_are_unchanged(feeds_dir: Path, name: str) -> None:
    size, digest = BEFORE_PAYMENTS[name]
    data = (feeds_dir / name).read_bytes()
    assert hashlib.sha256(data[:size]).hexdigest() == digest
    assert data[size:].startswith(b",\n"), "the paid records follow the old ones"


def test_paid_slots_follow_the_slots_of_the_in_memory_feed(tmp_path: Path) -> None:
    start = dt.date(2030, 1, 7)
    free = generate_availability_feed(seed=3, merchants=3, days=7, start=start)
    write_feeds(tmp_path, seed=3, merchants=3, days=7, start=start, kinds=("availability",))
    written = orjson.loads((tmp_path / "availability.json").read_bytes())
    rows, paid_rows = (d["service_availability"][0]["availability"] for d in (free, written))
    assert paid_rows[: len(rows)] == rows
    paid = {r["service_id"] for r in paid_rows[len(rows) :]}
    assert paid == {"balayage", "bridal-trial", "tasting-menu", "prepaid-hiit", "online-yoga"}


def test_new_files_are_deterministic(feeds_dir: Path, tmp_path: Path, make_feeds: Any) -> None:
    again = make_feeds(tmp_path / "again")
    for name in ("offers.json", "payment-fixtures.yaml", "merchants.json"):
        assert (feeds_dir / name).read_bytes() == (again / name).read_bytes(), name


def test_every_paid_service_has_synchronous_slots(feeds_dir: Path) -> None:
    slots = [s for s in load_availability_feed(feeds_dir) if s.service_id in PAID]
    assert {s.service_id for s in slots} == PAID
    assert not any(s.is_async for s in slots), "payments never apply to asynchronous slots (P4)"


def test_catalogue_has_each_payment_use_case(catalogue: Catalogue) -> None:
    assert _service(catalogue, "balayage").deposit is not None
    assert _service(catalogue, "hot-stone").deposit.min_advance_cancellation_sec == 2 * 86_400
    assert _service(catalogue, "bridal-trial").card_required
    fee = _service(catalogue, "tasting-menu").no_show_fee
    assert fee is not None and fee.price_type == PER_PERSON
    assert _service(catalogue, "spa-day").prepayment_required
    hiit = _service(catalogue, "prepaid-hiit")
    assert hiit.prepayment_required and hiit.price_type == PER_PERSON and hiit.payment_option_ids
    assert [c.refund_percent for c in hiit.refund_conditions] == [100, 50]
    assert _service(catalogue, "online-yoga").online and not _service(catalogue, "online-yoga").takes_payment
    free = [s for s in catalogue.services() if s.service_id not in PAID]
    assert free and not any(s.takes_payment or s.online for s in free)


def test_quote_follows_party_size_and_the_service_tax_rate(catalogue: Catalogue) -> None:
    hiit = _service(catalogue, "prepaid-hiit")
    quote = catalogue.quote(hiit.merchant_id, hiit.service_id, 3)
    assert quote is not None and hiit.price is not None
    assert quote.price == hiit.price.times(3)
    assert hiit.tax_micro_percent == 7_000_000  # the service's own rate wins over the merchant's (D46)
    unit = minor_unit_micros(quote.price.currency)
    expected_tax = round(Fraction(quote.price.micros * 7, 100 * unit)) * unit  # round() is half-even
    assert quote.tax == Money(expected_tax, quote.price.currency)


def test_merchants_pay_with_packs_memberships_and_restricted_cards(catalogue: Catalogue) -> None:
    fitness = next(m for m in catalogue.merchants() if m.merchant_id.startswith("fitness"))
    types = {o.payment_option_id: o.type for o in fitness.payment_options}
    assert {SINGLE_USE, MULTI_USE, UNLIMITED_USE} == set(types.values())
    options = {o.payment_option_id: o for o in fitness.payment_options}
    assert options["pack-5"].session_count == 5 and options["intro-class"].new_to_merchant
    assert options["trial-pack-3"].new_to_payment_option and options["pack-10"].valid_end_sec
    hiit = catalogue.service(fitness.merchant_id, "prepaid-hiit")
    assert hiit is not None and set(hiit.payment_option_ids) <= set(options)
    option_quote = catalogue.quote_option(fitness.merchant_id, "pack-5")
    assert option_quote is not None and option_quote.price == options["pack-5"].price
    without_amex = [m for m in catalogue.merchants() if "AMERICAN_EXPRESS" not in m.accepted_card_types]
    with_amex = [m for m in catalogue.merchants() if "AMERICAN_EXPRESS" in m.accepted_card_types]
    assert without_amex and with_amex
    assert all(m.tokenization_parameter.get("gateway") == "bookcheck" for m in catalogue.merchants())


def test_offers_have_windows_that_match_local_evening_slots(
    catalogue: Catalogue, feeds_dir: Path, feed_options: dict[str, Any]
) -> None:
    offers = catalogue.offers()
    assert offers and all(o.merchant_id.startswith("dining") for o in offers)
    early = next(o for o in offers if o.offer_id.endswith("-early-bird"))
    plans = iter_merchants(**{k: v for k, v in feed_options.items() if k != "start"})
    zone = {p.merchant_id: p.timezone for p in plans}
    dinners = [
        s
        for s in load_availability_feed(feeds_dir)
        if s.merchant_id == early.merchant_id and s.service_id == "dinner"
    ]
    for slot in dinners:
        local = dt.datetime.fromtimestamp(slot.start_sec, ZoneInfo(zone[early.merchant_id]))
        applies = early.applies_to(slot.merchant_id, "dinner", slot.start_sec)
        assert applies == (local.hour == 18), (slot, local)
    assert any(early.applies_to(s.merchant_id, "dinner", s.start_sec) for s in dinners)
    expired = next(o for o in offers if o.offer_id.endswith("-expired"))
    assert not any(expired.applies_to(s.merchant_id, s.service_id, s.start_sec) for s in dinners)
    assert catalogue.offer(f"{early.merchant_id}-tasting") is not None


def test_generated_fixtures_name_every_outcome(feeds_dir: Path) -> None:
    fixtures = load_payment_fixtures(feeds_dir / "payment-fixtures.yaml")
    assert fixtures.outcomes() == OUTCOMES
    assert fixtures.token("declined", "n1") == "bookcheck:VISA:0002:n1"
    assert fixtures.token("approved", "a") != fixtures.token("approved", "b"), "fresh per use"
    assert fixtures.rejected_card_type == "AMERICAN_EXPRESS"
    assert (fixtures.pa_response_pass, fixtures.pa_response_fail) == (
        "bookcheck-3ds1:pass",
        "bookcheck-3ds1:fail",
    )
    owned = fixtures.user_payment_options
    assert [(o.payment_option_id, o.merchant_id) for o in owned] == [("pack-5", ""), ("pack-10", "")]
    assert all("{merchant_id}" in o.user_payment_option_id for o in owned)
    text = (feeds_dir / "payment-fixtures.yaml").read_text()
    assert text.startswith("# bookcheck payment fixtures") and "{nonce}" in text


def test_catalogue_reads_camel_case_and_string_int64(tmp_path: Path) -> None:
    doc = {
        "service": [
            {
                "merchantId": "m1",
                "serviceId": "s1",
                "price": {"priceMicros": "19990000", "currencyCode": "USD"},
                "taxRate": {"microPercent": "8875000"},
                "prepaymentType": "REQUIRED",
                "noShowFee": {"fee": {"priceMicros": 5000000, "currencyCode": "USD"}, "feeType": 1},
                "schedulingRules": {
                    "cancellationPolicy": {
                        "refundCondition": [{"minDurationBeforeStartTime": "3600s", "refundPercent": 100}]
                    }
                },
            }
        ]
    }
    (tmp_path / "services.json").write_bytes(orjson.dumps(doc))
    cat = load_catalogue(tmp_path / "availability.json")  # the feed file names its directory
    terms = cat.service("m1", "s1")
    assert terms is not None and terms.price == Money(19_990_000, "USD") and terms.prepayment_required
    assert terms.no_show_fee is not None and terms.no_show_fee.price_type == PER_PERSON
    assert terms.refund_conditions[0].min_duration_before_start_sec == 3600
    quote = cat.quote("m1", "s1", 1)
    assert quote is not None and quote.tax == Money(1_770_000, "USD")  # 1.774… rounds half-even to 1.77


def test_missing_files_give_an_empty_catalogue(tmp_path: Path) -> None:
    assert load_catalogue(tmp_path).empty
