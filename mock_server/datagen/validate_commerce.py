"""``bookcheck validate-feed``: the money fields of the services and merchant feeds, and ``offers.json``.

The records are read with the very reader ``bookcheck serve`` and ``bookcheck run`` use
(:mod:`booking_protocol.commercefeed`), so a feed this accepts is one they accept, and a field they would
refuse is reported here with the same reason, before anything runs. Rules:

=====================================  =================================================================
``service/payment-field``              a money field of a service cannot be used: a price without integer
                                       ``price_micros`` or an ISO 4217 ``currency_code``, a negative amount,
                                       an unknown ``prepayment_type`` / ``require_credit_card`` /
                                       ``price_type`` name, a ``refund_percent`` outside 0-100, …
``merchant/payment-field``             the same for a merchant: ``tax_rate``, an unknown ``credit_card_type``,
                                       a ``payment_option`` without id, type or price, ``session_count`` < 1,
                                       a ``valid_interval`` that ends before it starts, duplicate option ids
``service/prepayment-without-price``   ``prepayment_type: REQUIRED`` on a service that has no ``price``
``service/unknown-payment-option``     a ``payment_option_id`` the service's merchant does not sell
``service/payment-currency``           the deposit or no-show fee is in another currency than the price
                                       (warning)
``offer/field``                        an offer without ``offer_id`` or ``merchant_id``, or with a bad
                                       validity period
``offer/duplicate-id``                 two offers with one ``offer_id``
``offer/unknown-merchant``             the offer's merchant is not in the merchant feed
``offer/unknown-service``              the offer names a service its merchant does not have
=====================================  =================================================================

Cross-file rules run only when the files they need are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from booking_protocol.commerce import MerchantTerms, OfferTerms, ServiceTerms
from booking_protocol.commercefeed import (
    At,
    CommerceFeedError,
    merchant_terms,
    offer_terms,
    service_terms,
)

T = TypeVar("T")


class Finding(NamedTuple):
    """One problem, in the fields of ``validate.Finding`` (which ``validate_paths`` turns it into: this
    module cannot import ``validate``, which imports it)."""

    file: str
    path: str
    rule: str
    message: str
    level: str = "error"


#: a parsed feed document with its file name
Doc = tuple[str, Any]


@dataclass(slots=True)
class CommerceDocs:
    """The documents of one ``validate-feed`` run, by kind (several files of a kind are allowed)."""

    merchants: list[Doc] = field(default_factory=list)
    services: list[Doc] = field(default_factory=list)
    offers: list[Doc] = field(default_factory=list)


def _records(docs: list[Doc], key: str) -> Iterator[tuple[Any, At]]:
    for file, doc in docs:
        items = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(items, list):
            for i, rec in enumerate(items):
                yield rec, At(file, f"$.{key}[{i}]")


def _parsed(
    docs: list[Doc], key: str, parse: Callable[[Any, At], T], rule: str, out: list[Finding]
) -> list[tuple[T, At]]:
    """Each record read with the commerce reader; a record it refuses becomes one finding."""
    parsed = []
    for rec, at in _records(docs, key):
        try:
            parsed.append((parse(rec, at), at))
        except CommerceFeedError as exc:
            out.append(Finding(exc.file, exc.record, rule, exc.problem))
    return parsed


def check_commerce(docs: CommerceDocs) -> list[Finding]:
    """Every finding of the rules above for the given documents."""
    out: list[Finding] = []
    merchants = _parsed(docs.merchants, "merchant", merchant_terms, "merchant/payment-field", out)
    services = _parsed(docs.services, "service", service_terms, "service/payment-field", out)
    offers = _parsed(docs.offers, "offer", offer_terms, "offer/field", out)
    by_merchant = {m.merchant_id: m for m, _ in merchants}
    for terms, at in services:
        out.extend(_service_findings(terms, at, by_merchant if docs.merchants else None))
    known_services = {(s.merchant_id, s.service_id) for s, _ in services}
    out.extend(
        _offer_findings(
            offers,
            set(by_merchant) if docs.merchants else None,
            known_services if docs.services else None,
        )
    )
    return out


def _service_findings(
    terms: ServiceTerms, at: At, merchants: dict[str, MerchantTerms] | None
) -> Iterator[Finding]:
    if terms.prepayment_required and terms.price is None:
        yield Finding(
            at.file,
            f"{at.path}.prepayment_type",
            "service/prepayment-without-price",
            "prepayment_type is REQUIRED but the service has no price to charge",
        )
    for name, charge in (("deposit", terms.deposit), ("no_show_fee", terms.no_show_fee)):
        if charge is not None and terms.price is not None and charge.amount.currency != terms.price.currency:
            yield Finding(
                at.file,
                f"{at.path}.{name}",
                "service/payment-currency",
                f"{name} is in {charge.amount.currency} but the price is in {terms.price.currency}",
                level="warning",
            )
    merchant = merchants.get(terms.merchant_id) if merchants is not None else None
    if merchant is None:
        return  # no merchant feed, or an unknown merchant (service/unknown-merchant says so)
    sold = {o.payment_option_id for o in merchant.payment_options}
    for i, option_id in enumerate(terms.payment_option_ids):
        if option_id not in sold:
            yield Finding(
                at.file,
                f"{at.path}.payment_option_id[{i}]",
                "service/unknown-payment-option",
                f"merchant {terms.merchant_id!r} has no payment_option {option_id!r}"
                + (f" (it sells: {', '.join(sorted(sold))})" if sold else " (it sells none)"),
            )


def _offer_findings(
    offers: list[tuple[OfferTerms, At]],
    merchants: set[str] | None,
    services: set[tuple[str, str]] | None,
) -> Iterator[Finding]:
    seen: dict[str, str] = {}
    for offer, at in offers:
        if offer.offer_id in seen:
            yield Finding(
                at.file,
                f"{at.path}.offer_id",
                "offer/duplicate-id",
                f"offer_id {offer.offer_id!r} already used at {seen[offer.offer_id]}",
            )
        seen.setdefault(offer.offer_id, at.path)
        if merchants is not None and offer.merchant_id not in merchants:
            yield Finding(
                at.file,
                f"{at.path}.merchant_id",
                "offer/unknown-merchant",
                f"merchant_id {offer.merchant_id!r} is not in the merchant feed",
            )
            continue
        for i, sid in enumerate(offer.service_ids):
            if services is not None and (offer.merchant_id, sid) not in services:
                yield Finding(
                    at.file,
                    f"{at.path}.service_id[{i}]",
                    "offer/unknown-service",
                    f"service {sid!r} of merchant {offer.merchant_id!r} is not in the service feed",
                )
