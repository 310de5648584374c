"""The paid side of the generated feeds: paid services, merchant payment terms, offers, payment fixtures.

Every merchant gets a few *additional* services that take money (§3.12.2), built from a random stream of its
own (``derive_seed(seed, "payments", index)``) and written after all the free services and their slots. So
adding payments moved nothing that was there before: the merchants' existing services, their availability
rows and the random draws behind them are what they were, and tests that pin a seed keep their slots.

Per vertical (the kind of its availability rows):

* beauty (``staff``): ``balayage`` with a deposit; ``bridal-trial`` that needs a card on file.
* dining (``party``): ``tasting-menu`` with a per-guest no-show fee; offers with time windows (offers.json).
* fitness (``class``): ``prepaid-hiit`` paid in full at booking (per person, own tax rate, a refund policy,
  payable with the studio's packs and membership); ``online-yoga``, an online service (D50).
* spa (``room``): ``hot-stone`` with a deposit; ``spa-day`` paid in full, refundable up to 48 h before.

Merchants: a tax rate for some, Google Pay tokenization config for all, a card list without American
Express for every merchant with an even number in its id (``dining-0002``: the card-type rejection path,
D37), and for fitness the payment options (packs, a membership, single-use passes with purchase
restrictions). No paid slot is asynchronous (P4).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from mock_server.datagen.locales import nice_price_micros
from mock_server.datagen.model import DAY, MerchantPlan, Resource, ServicePlan, derive_seed, local_day_base
from mock_server.datagen.verticals import ServiceTemplate

H = 60
#: the random stream of the paid services' availability rows (the free ones use "slots")
SLOT_STREAM = "payment-slots"
NO_AMEX = ("VISA", "MASTERCARD", "DISCOVER", "JCB")
ALL_CARDS = ("VISA", "MASTERCARD", "AMERICAN_EXPRESS", "DISCOVER", "JCB")
#: tax rates (micro-percent) a merchant may charge; 0 means none is written
_MERCHANT_TAX = (0, 5_000_000, 8_875_000, 20_000_000)
_PREPAID_CLASS_TAX = 7_000_000

PAID_TEMPLATES: dict[str, tuple[ServiceTemplate, ...]] = {
    "staff": (
        ServiceTemplate(
            "balayage", "Balayage", "Hand-painted highlights; a deposit holds the chair.", 150, 160.0
        ),
        ServiceTemplate(
            "bridal-trial", "Bridal hair trial", "Trial styling; a card is kept on file.", 90, 85.0
        ),
    ),
    "party": (
        ServiceTemplate(
            "tasting-menu",
            "Chef's tasting menu",
            "Seven courses; a no-show fee per guest.",
            150,
            95.0,
            per_person=True,
        ),
    ),
    "class": (
        ServiceTemplate(
            "prepaid-hiit", "HIIT (pay online)", "Interval class, paid when booked.", 45, 16.0, "studio", True
        ),
        ServiceTemplate(
            "online-yoga", "Live online yoga", "Yoga streamed live; join from home.", 60, 12.0, "online"
        ),
    ),
    "room": (
        ServiceTemplate(
            "hot-stone", "Hot stone massage", "Ninety minutes; a deposit holds the room.", 90, 120.0
        ),
        ServiceTemplate("spa-day", "Spa day", "Two treatments and the sauna, paid when booked.", 120, 150.0),
    ),
}


@dataclass(slots=True)
class PaidPlan:
    """A merchant's paid services, shaped like a merchant plan so the slot generator can serve them."""

    plan: MerchantPlan
    #: feed fields per service id, merged into the service record after the usual ones
    terms: dict[str, dict[str, Any]]


def paid_plan(plan: MerchantPlan, seed: int) -> PaidPlan:
    """The merchant's paid services (a copy of its plan with only those), drawn from its payment stream."""
    rng = random.Random(derive_seed(seed, "payments", plan.index))
    kind = plan.vertical.kind
    services = [
        ServicePlan(t, t.slug, nice_price_micros(t.price, plan.locale), _resources(plan, t))
        for t in PAID_TEMPLATES[kind]
    ]
    copy = dataclasses.replace(
        plan,
        vertical=dataclasses.replace(plan.vertical, async_rate=0.0),  # payments never on asynchronous slots
        services=services,
        tables=dict(plan.tables),
        timetable=_timetable(plan, services, rng) if kind == "class" else {},
    )
    return PaidPlan(copy, {svc.service_id: _terms(svc, copy, rng) for svc in services})


def _resources(plan: MerchantPlan, t: ServiceTemplate) -> list[Resource]:
    kind = plan.vertical.kind
    if kind == "staff":  # the salon's senior stylist (the first hired) does the paid work
        return [min((r for s in plan.services for r in s.resources), key=lambda r: r.staff_id)]
    if kind == "class":
        if t.pool == "online":
            return [Resource(room_id="online", room_name="Online studio", capacity=30)]
        return [Resource(room_id="studio-p", room_name="Studio P", capacity=16)]
    if kind == "room":
        return [Resource(room_id="room-1", room_name="Treatment room 1")]
    return []


def _timetable(
    plan: MerchantPlan, services: list[ServicePlan], rng: random.Random
) -> dict[int, list[tuple[int, int, Resource]]]:
    """Each paid class once or twice a day the studio is open, within its opening hours."""
    times = [
        t for t in (8 * H, 11 * H, 13 * H, 16 * H, 19 * H + 30) if plan.open_min <= t <= plan.close_min - H
    ]
    table: dict[int, list[tuple[int, int, Resource]]] = {}
    for wd in plan.weekdays:
        for si, svc in enumerate(services):
            for minute in sorted(rng.sample(times, min(len(times), rng.randint(1, 2)))):
                table.setdefault(wd, []).append((minute, si, svc.resources[0]))
        table[wd].sort(key=lambda entry: (entry[0], entry[1]))
    return table


def _price(micros: int, plan: MerchantPlan) -> dict[str, Any]:
    return {"price_micros": micros, "currency_code": plan.locale.currency}


def _euros(amount: float, plan: MerchantPlan) -> dict[str, Any]:
    return _price(nice_price_micros(amount, plan.locale), plan)


def _refunds(*conditions: tuple[int, int]) -> dict[str, Any]:
    return {
        "refund_condition": [
            {"min_duration_before_start_time_sec": before, "refund_percent": percent}
            for before, percent in conditions
        ]
    }


def _terms(svc: ServicePlan, plan: MerchantPlan, rng: random.Random) -> dict[str, Any]:
    """The money fields of one paid service, in Google's services-feed names."""
    slug, euros = svc.service_id, svc.template.price
    deposit_share = rng.choice((0.2, 0.25, 0.3))
    if slug in ("balayage", "hot-stone"):
        return {
            "deposit": {
                "deposit": _euros(euros * deposit_share, plan),
                "min_advance_cancellation_sec": 2 * DAY if slug == "hot-stone" else DAY,
                "deposit_type": "FIXED_RATE_DEFAULT",
            }
        }
    if slug == "bridal-trial":
        return {"require_credit_card": "REQUIRE_CREDIT_CARD_ALWAYS"}
    if slug == "tasting-menu":
        return {
            "no_show_fee": {"fee": _euros(rng.choice((20.0, 25.0, 30.0)), plan), "fee_type": "PER_PERSON"}
        }
    if slug == "prepaid-hiit":
        return {
            "prepayment_type": "REQUIRED",
            "prepayment": {"price_info": {"price_type": "PER_PERSON"}},
            "tax_rate": {"micro_percent": _PREPAID_CLASS_TAX},
            "payment_option_id": [o["payment_option_id"] for o in _class_options(plan, 0, 0)],
            "cancellation_policy": _refunds((DAY, 100), (2 * 3600, 50)),
        }
    if slug == "spa-day":
        return {"prepayment_type": "REQUIRED", "cancellation_policy": _refunds((2 * DAY, 100))}
    if slug == "online-yoga":
        return {
            "type": "SERVICE_TYPE_ONLINE_APPOINTMENT",
            "virtual_session": {
                "session_instructions": {"value": "The joining link comes with the booking confirmation."},
                "is_session_prerecorded": False,
            },
        }
    return {}


def paid_service_records(paid: PaidPlan, base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paid services' records: ``base`` (the usual service records of the paid plan) plus their terms.

    ``cancellation_policy`` goes into ``scheduling_rules`` (where Google's layout has it)."""
    out = []
    for rec in base:
        terms = dict(paid.terms.get(rec["service_id"], {}))
        policy = terms.pop("cancellation_policy", None)
        if policy is not None:
            rec["scheduling_rules"] = {**rec.get("scheduling_rules", {}), "cancellation_policy": policy}
        out.append({**rec, **terms})
    return out


# ------------------------------------------------------------------------------------------ merchants


def _class_options(plan: MerchantPlan, start_sec: int, days: int) -> list[dict[str, Any]]:
    """A fitness studio's packs, membership and passes (``payment_option`` of the merchant feed)."""
    drop_in = PAID_TEMPLATES["class"][0].price

    def option(oid: str, kind: str, euros: float, **extra: Any) -> dict[str, Any]:
        return {"payment_option_id": oid, "payment_option_type": kind, "price": _euros(euros, plan), **extra}

    return [
        option("drop-in", "PAYMENT_OPTION_SINGLE_USE", drop_in, session_count=1, valid_duration_sec=90 * DAY),
        option(
            "pack-5", "PAYMENT_OPTION_MULTI_USE", drop_in * 4.25, session_count=5, valid_duration_sec=90 * DAY
        ),
        option(
            "pack-10",
            "PAYMENT_OPTION_MULTI_USE",
            drop_in * 8,
            session_count=10,
            valid_interval={"start_sec": start_sec - DAY, "end_sec": start_sec + (days + 30) * DAY},
        ),
        option("membership", "PAYMENT_OPTION_UNLIMITED_USE", 99.0, valid_duration_sec=30 * DAY),
        option(
            "intro-class",
            "PAYMENT_OPTION_SINGLE_USE",
            5.0,
            session_count=1,
            user_restriction={"new_to_merchant": True},
        ),
        option(
            "trial-pack-3",
            "PAYMENT_OPTION_MULTI_USE",
            drop_in * 2,
            session_count=3,
            user_restriction={"new_to_payment_option": True},
        ),
    ]


def merchant_payment_fields(plan: MerchantPlan, seed: int, start_sec: int, days: int) -> dict[str, Any]:
    """Fields appended to the merchant's record: tax rate, accepted cards, tokenization, payment options."""
    rng = random.Random(derive_seed(seed, "payments-merchant", plan.index))
    out: dict[str, Any] = {}
    tax = rng.choice(_MERCHANT_TAX)
    if tax:
        out["tax_rate"] = {"micro_percent": tax}
    cards = NO_AMEX if plan.index % 2 else ALL_CARDS
    out["payment_restrictions"] = {"credit_card_restrictions": {"credit_card_type": list(cards)}}
    if plan.vertical.kind == "class":
        out["payment_option"] = _class_options(plan, start_sec, days)
    out["tokenization_config"] = {
        "tokenization_parameter": {"gateway": "bookcheck", "gatewayMerchantId": plan.merchant_id},
        "billing_information_format": "MIN",
    }
    return out


# ------------------------------------------------------------------------------------------ offers


def offer_records(plan: MerchantPlan, first: dt.date, days: int) -> list[dict[str, Any]]:
    """Dining offers (D49): an early-bird window each day, an always-on tasting offer, and an expired one."""
    if plan.vertical.kind != "party":
        return []
    mid = plan.merchant_id
    early = []
    for d in range(days):
        day = first + dt.timedelta(days=d)
        if day.weekday() in plan.weekdays:
            base = local_day_base(plan.timezone, day)
            early.append({"start_sec": base + 18 * 3600, "end_sec": base + 19 * 3600})
    first_sec = local_day_base(plan.timezone, first)
    return [
        {"offer_id": f"{mid}-early-bird", "merchant_id": mid, "service_id": ["dinner", "tasting-menu"],
         "validity_periods": early},
        {"offer_id": f"{mid}-tasting", "merchant_id": mid, "service_id": ["tasting-menu"]},
        {"offer_id": f"{mid}-expired", "merchant_id": mid, "service_id": [],
         "validity_periods": [{"start_sec": first_sec - 30 * DAY, "end_sec": first_sec - DAY}]},
    ]  # fmt: skip
