"""The price checks of a CreateBooking (D35): the request's price, tax, fees, deposit and no-show fee against
what the feeds say, and the one-line descriptions the failures carry ("price mismatch: expected … got …")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking_protocol.commerce import Money, Quote, ServiceTerms, minor_unit_micros


def describe(money: Money | None) -> str:
    """``25.00 USD`` (to the currency's smallest unit, or to the micro when finer), or ``none``."""
    if money is None:
        return "none"
    unit = minor_unit_micros(money.currency)
    whole, frac = divmod(abs(money.micros), 10**6)
    digits = 6 if frac % unit else 6 - len(str(unit)) + 1
    text = f"{whole}.{frac:06d}"[: len(str(whole)) + 1 + digits] if digits else str(whole)
    return f"{'-' if money.micros < 0 else ''}{text} {money.currency}"


def nonzero(money: Money | None) -> Money | None:
    """A zero amount is the same as none (a tax or fee of 0)."""
    return money if money is not None and money.micros else None


def price_problem(expected: Quote | None, payment: Mapping[str, Any], *, required: bool) -> str | None:
    """D35: the request's price, tax and fees against the feed's quote; a description, or ``None`` if fine.

    No quote (the feed has no price): nothing to compare. No price in the request: a problem only when the
    booking is paid now (``required``). A tax or fee of zero is the same as none.
    """
    if expected is None:
        return None
    got = Money.from_price(payment.get("price"))
    if got is None:
        return f"price mismatch: expected {describe(expected.price)} got none" if required else None
    if got != expected.price:
        return f"price mismatch: expected {describe(expected.price)} got {describe(got)}"
    want_tax, got_tax = nonzero(expected.tax), nonzero(Money.from_price(payment.get("tax_amount")))
    if want_tax != got_tax:
        return f"price mismatch: expected tax {describe(want_tax)} got {describe(got_tax)}"
    fees = nonzero(Money.from_price(payment.get("fees")))
    if fees is not None:
        return f"price mismatch: expected fees none got {describe(fees)}"
    return None


def fee_problem(terms: ServiceTerms, payment: Mapping[str, Any]) -> str | None:
    """D35 for the deposit and no-show fee a request states (the per-person unit amount, as in the feed)."""
    for name, inner, charge in (
        ("deposit", "deposit", terms.deposit),
        ("no_show_fee", "fee", terms.no_show_fee),
    ):
        stated = payment.get(name)
        if charge is None or not isinstance(stated, Mapping):
            continue
        got = Money.from_price(stated.get(inner))
        if got is not None and got != charge.amount:
            return f"price mismatch: expected {name} {describe(charge.amount)} got {describe(got)}"
    return None
