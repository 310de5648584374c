"""Money, offers and online sessions of a booking (§3.12, §3.13, D32–D54), for the booking service.

:class:`Payments` is what :class:`~.service.BookingService` consults when its config carries a non-empty
:class:`~booking_protocol.commerce.Catalogue`; without one the service echoes payment information and charges
nothing, as before D32. The service calls it under its lock, in two phases, so that a failed CreateBooking
leaves no trace (D53):

1. :meth:`Payments.plan` runs the D52 decision steps that follow the slot and same-user checks — offer (D49)
   → asynchronous slot with payment (D51) → payment option (D44) → price (D35) → token (D36) → the
   processor's card checks (D37, D38, outcome) — and returns a :class:`Plan` or the first
   :class:`~.model.Failure`. It changes nothing (an issued 3DS1 challenge is remembered by the processor).
2. :meth:`Payments.commit` writes the ledger, takes or creates the pack, and fills the booking's reported
   payment information, offer and virtual session.

Later: :meth:`Payments.on_cancel` refunds (D40), voids a deposit hold or credits a pack use (D45);
:meth:`Payments.reschedule_failure` refuses a move to a slot with another price (D54).

The reported payment information is always a new mapping (never mutated), so a view taken earlier — e.g. the
first answer under an idempotency token, D26 ``original`` — keeps what it said.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from booking_protocol.commerce import (
    Catalogue,
    Money,
    PaymentOptionTerms,
    Quote,
    ServiceTerms,
    round_half_even,
)

from .model import (
    Booking,
    CreateBookingCommand,
    Failure,
    FailureCause,
    InvalidArgument,
    InventorySlot,
    Settlement,
)
from .packs import PackStore, UserOption
from .pricing import fee_problem, nonzero, price_problem
from .processor import Processor, booking_key, processor_id
from .tokens import Card, parse_card, token_of

#: request-only fields of PaymentInformation, never reported back
_REQUEST_ONLY = frozenset({"pa_response", "md_merchant_data", "fraud_signals"})
GOOGLE = "PROCESSED_BY_GOOGLE"
PARTNER = "PROCESSED_BY_PARTNER"


def _error(description: str) -> Failure:
    return Failure(FailureCause.PAYMENT_ERROR, description)


def virtual_session(booking_id: str) -> dict[str, str]:
    """D50: VirtualSessionInfo of a booking, derived from its id (the same on every read and replay)."""
    digest = hashlib.sha256(f"bookcheck-meeting|{booking_id}".encode()).hexdigest()
    return {
        "session_url": f"https://meet.bookcheck.invalid/{booking_id}",
        "meeting_id": f"bc-{digest[:4]}-{digest[4:8]}-{digest[8:12]}",
        "password": digest[12:22],
    }


def party_of(slot: InventorySlot) -> int:
    """PER_PERSON multiplier: the slot's party size, 1 when it has none (P8)."""
    return max(slot.party_size, 1)


@dataclass(slots=True)
class Plan:
    """A CreateBooking that passed every payment step, waiting to be committed.

    ``kind``: ``echo`` (nothing to charge: the request's payment information is echoed), ``google``
    (PROCESSED_BY_GOOGLE, D32), ``charge`` (prepaid), ``hold`` (deposit), ``card_on_file`` (no-show fee or
    card required), ``buy`` (a pack bought with this booking) or ``use`` (an owned pack).
    """

    kind: str
    key: str
    offer_id: str
    online: bool
    payment: Mapping[str, Any] | None
    amount: Money | None = None
    card: Card | None = None
    option_terms: PaymentOptionTerms | None = None
    option: UserOption | None = None


def _kind(payment: Mapping[str, Any], terms: ServiceTerms | None) -> str:
    if payment.get("payment_processed_by") in (GOOGLE, 1):
        return "google"
    if payment.get("user_payment_option_id"):
        return "use"
    if payment.get("payment_option_id"):
        return "buy"
    if terms is None:
        return "echo"
    if terms.prepayment_required:
        return "charge"
    if terms.deposit is not None:
        return "hold"
    if terms.no_show_fee is not None or terms.card_required:
        return "card_on_file"
    return "echo"


class Payments:
    """The payment side of the booking service: catalogue, simulated processor and the users' packs."""

    def __init__(self, catalogue: Catalogue, refund_policy: str = "feed") -> None:
        self.catalogue = catalogue
        self.refund_policy = refund_policy
        self.processor = Processor()
        self.packs = PackStore()
        self._quotes: dict[tuple[str, str, int], Quote | None] = {}

    # -- CreateBooking, phase 1: decide ---------------------------------------------------------------------

    def plan(
        self,
        cmd: CreateBookingCommand,
        slot: InventorySlot,
        user_id: str,
        now: float,
        *,
        known_to_merchant: bool,
    ) -> Plan | Failure:
        """D52's steps after the slot and same-user checks; the first failing one decides."""
        cat, m = self.catalogue, slot.merchant_id
        offer_id = cmd.offer_id
        if offer_id and cat.has_offers:
            offer = cat.offer(offer_id)
            if offer is None or not offer.applies_to(m, slot.service_id, slot.start_sec):
                return Failure(
                    FailureCause.OFFER_UNAVAILABLE, f"offer {offer_id!r} does not apply to this slot"
                )
        terms = cat.service(m, slot.service_id)
        payment: Mapping[str, Any] = cmd.payment or {}
        token = token_of(cmd.payment_processing)
        kind = _kind(payment, terms)
        if slot.is_async and (
            kind in ("google", "use", "buy") or token or (terms is not None and terms.takes_payment)
        ):
            return _error("payments are not supported with asynchronous confirmation")
        plan = Plan(
            kind,
            booking_key(m, cmd.idempotency_token or ""),
            offer_id,
            bool(terms and terms.online),
            cmd.payment,
        )
        if payment.get("user_payment_option_id") and payment.get("payment_option_id"):
            return _error("payment_option_id and user_payment_option_id are exclusive")
        listed = terms.payment_option_ids if terms is not None else ()
        if kind == "use":
            found = self.packs.check_use(
                str(payment["user_payment_option_id"]), user_id, m, listed, slot.start_sec, now
            )
            if isinstance(found, Failure):
                return found
            plan.option = found
            return plan
        if kind == "buy":
            failure = self._check_buy(plan, payment, user_id, slot, listed, now, known_to_merchant)
            if failure is not None:
                return failure
        failure = self._check_price(plan, payment, terms, slot, token)
        if failure is not None or kind in ("echo", "google"):
            return failure or plan
        return self._authorize(plan, token, payment, m)

    def _check_buy(
        self,
        plan: Plan,
        payment: Mapping[str, Any],
        user_id: str,
        slot: InventorySlot,
        listed: tuple[str, ...],
        now: float,
        known_to_merchant: bool,
    ) -> Failure | None:
        option_id = str(payment["payment_option_id"])
        terms = self.catalogue.payment_option(slot.merchant_id, option_id)
        if terms is None:
            return Failure(FailureCause.PAYMENT_OPTION_NOT_VALID, f"unknown payment option {option_id!r}")
        plan.option_terms = terms
        return self.packs.check_buy(
            terms, user_id, slot.merchant_id, listed, slot.start_sec, now, known_to_merchant=known_to_merchant
        )

    def _check_price(
        self,
        plan: Plan,
        payment: Mapping[str, Any],
        terms: ServiceTerms | None,
        slot: InventorySlot,
        token: object,
    ) -> Failure | None:
        """D35 (and D36's "payment required" for a paid booking that carries neither price nor token)."""
        if plan.kind == "buy":
            assert plan.option_terms is not None
            expected = self._quote(slot.merchant_id, plan.option_terms.payment_option_id, 0)
        else:
            expected = self._quote(slot.merchant_id, slot.service_id, party_of(slot))
        required = plan.kind in ("charge", "buy")
        got = Money.from_price(payment.get("price"))
        if required and got is None and not token:
            return _error("payment required")
        problem = price_problem(expected, payment, required=required)
        if problem is None and terms is not None:
            problem = fee_problem(terms, payment)
        if problem is not None:
            return _error(problem)
        if plan.kind in ("charge", "buy"):
            quote = expected or (
                Quote(got, nonzero(Money.from_price(payment.get("tax_amount")))) if got else None
            )
            if quote is None:
                return _error("price mismatch: the request states no price")
            plan.amount = Money(
                quote.price.micros + (quote.tax.micros if quote.tax else 0), quote.price.currency
            )
        elif plan.kind == "hold" and terms is not None and terms.deposit is not None:
            plan.amount = terms.deposit.for_party(party_of(slot))
        elif plan.kind == "card_on_file" and terms is not None:
            charge = terms.no_show_fee
            currency = charge.amount.currency if charge else (terms.price.currency if terms.price else "")
            plan.amount = Money(0, currency)
        return None

    def _quote(self, merchant_id: str, service_or_option_id: str, party: int) -> Quote | None:
        """The catalogue's quote, memoised (the catalogue never changes); ``party`` 0 = a payment option."""
        key = (merchant_id, service_or_option_id, party)
        if key not in self._quotes:
            cat = self.catalogue
            self._quotes[key] = (
                cat.quote(*key) if party else cat.quote_option(merchant_id, service_or_option_id)
            )
        return self._quotes[key]

    def _authorize(
        self, plan: Plan, token: object, payment: Mapping[str, Any], merchant_id: str
    ) -> Plan | Failure:
        """D36 (token present and readable) and the processor's steps (D37, D38, outcome)."""
        if not token:
            return _error("payment required")
        card = parse_card(token)
        if card is None:
            return _error("unusable payment token")
        accepted = self.catalogue.merchant(merchant_id).accepted_card_types
        failure = self.processor.authorize(card, accepted, merchant_id, plan.key, payment)
        if failure is not None:
            return failure
        plan.card = card
        return plan

    # -- CreateBooking, phase 2: commit --------------------------------------------------------------------

    def commit(self, plan: Plan, b: Booking, now: float) -> Mapping[str, Any] | None:
        """Charge/hold/use for the booking just made; returns the UserPaymentOption to report, if any."""
        b.offer_id = plan.offer_id
        if plan.online:
            b.virtual_session = virtual_session(b.booking_id)
        if plan.kind in ("echo", "google"):
            b.payment = plan.payment or None
            return None
        reported = {k: v for k, v in (plan.payment or {}).items() if k not in _REQUEST_ONLY}
        reported["payment_processed_by"] = PARTNER
        if plan.kind == "use":
            option = plan.option
            assert option is not None
            self.packs.use(option)
            b.settlement = Settlement(
                "use", b.slot.merchant_id, plan.key, option.purchase_id, upo_id=option.upo_id
            )
            b.payment = reported | {
                "prepayment_status": "PREPAYMENT_PROVIDED",
                "payment_transaction_id": option.purchase_id,
            }
            return option.as_mapping()
        amount, card = plan.amount or Money(0, ""), plan.card
        assert card is not None
        ledger_kind = "charge" if plan.kind == "buy" else plan.kind
        tid = self.processor.record(
            ledger_kind,
            plan.key,
            merchant_id=b.slot.merchant_id,
            booking_id=b.booking_id,
            amount_micros=amount.micros,
            currency=amount.currency,
            fingerprint=card.fingerprint,
            at=now,
            md_merchant_data=str((plan.payment or {}).get("md_merchant_data") or ""),
        )
        b.settlement = Settlement(
            ledger_kind, b.slot.merchant_id, plan.key, tid, amount.micros, amount.currency, card.fingerprint
        )
        reported["payment_transaction_id"] = tid
        if plan.kind in ("hold", "card_on_file"):
            self._echo_feed_charges(reported, b.slot)
            b.payment = reported | {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
            return None
        reported["prepayment_status"] = "PREPAYMENT_PROVIDED"
        if plan.kind == "buy":
            assert plan.option_terms is not None
            option = self.packs.create(
                b.user.user_id, b.slot.merchant_id, plan.option_terms, now, purchase_id=tid, uses_taken=1
            )
            b.settlement.upo_id = option.upo_id
            reported.pop("payment_option_id", None)  # a oneof with user_payment_option_id (P22, P23)
            reported["user_payment_option_id"] = option.upo_id
            b.payment = reported
            return option.as_mapping()
        b.payment = reported
        return None

    def _echo_feed_charges(self, reported: dict[str, Any], slot: InventorySlot) -> None:
        """D34: the deposit / no-show fee the booking is under, from the feed when the request left it out."""
        terms = self.catalogue.service(slot.merchant_id, slot.service_id)
        if terms is None:
            return
        if terms.deposit is not None and "deposit" not in reported:
            reported["deposit"] = terms.deposit.as_deposit(party_of(slot))
        if terms.no_show_fee is not None and "no_show_fee" not in reported:
            reported["no_show_fee"] = terms.no_show_fee.as_no_show_fee()

    # -- later: cancel and reschedule ----------------------------------------------------------------------

    def on_cancel(self, b: Booking, now: float) -> Mapping[str, Any] | None:
        """D40/D45: refund a prepayment per the policy, void a deposit hold that may still be released, or
        give a pack use back (CREDITED); returns the credited UserPaymentOption, if any."""
        s = b.settlement
        if s is None:
            return None
        if s.upo_id:
            credited = self.packs.credit(self.packs.by_id[s.upo_id], now)
            if credited is None:
                return None
            s.upo_id = credited.upo_id
            b.payment = dict(b.payment or {}) | {
                "prepayment_status": "PREPAYMENT_CREDITED",
                "user_payment_option_id": credited.upo_id,
            }
            return credited.as_mapping()
        if s.kind == "charge":
            percent = self._refund_percent(b, now)
            if percent > 0:
                refund = round_half_even(s.amount_micros * percent, 100, s.currency) if s.currency else 0
                rid = self._record(b, "refund", refund, now)
                b.payment = dict(b.payment or {}) | {
                    "prepayment_status": "PREPAYMENT_REFUNDED",
                    "payment_transaction_id": rid,
                }
        elif s.kind == "hold":
            terms = self.catalogue.service(b.slot.merchant_id, b.slot.service_id)
            notice = terms.deposit.min_advance_cancellation_sec if terms and terms.deposit else 0
            if b.slot.start_sec - now >= notice:
                self._record(b, "void", s.amount_micros, now)
        return None

    def _record(self, b: Booking, kind: str, amount_micros: int, now: float) -> str:
        s = b.settlement
        assert s is not None
        return self.processor.record(
            kind,
            s.key,
            merchant_id=s.merchant_id,
            booking_id=b.booking_id,
            amount_micros=amount_micros,
            currency=s.currency,
            at=now,
        )

    def _refund_percent(self, b: Booking, now: float) -> int:
        """D40: 100 or 0 by option; ``feed``: as the services feed states it
        (``ServiceTerms.refund_percent``), a full refund for a service without terms."""
        if self.refund_policy != "feed":
            return 100 if self.refund_policy == "full" else 0
        terms = self.catalogue.service(b.slot.merchant_id, b.slot.service_id)
        return 100 if terms is None else terms.refund_percent(b.slot.start_sec - now)

    def reschedule_failure(self, b: Booking, new: InventorySlot) -> Failure | None:
        """D54: a prepaid or deposit booking may move only to a slot with the same price."""
        s = b.settlement
        if s is None or s.upo_id or s.kind not in ("charge", "hold"):
            return None
        if s.kind == "charge":
            quote = self._quote(new.merchant_id, new.service_id, party_of(new))
            due = quote.price.micros + (quote.tax.micros if quote.tax else 0) if quote else s.amount_micros
        else:
            terms = self.catalogue.service(new.merchant_id, new.service_id)
            deposit = terms.deposit if terms else None
            due = deposit.for_party(party_of(new)).micros if deposit else s.amount_micros
        if due != s.amount_micros:
            return _error("price differs; cancel and rebook")
        return None

    def seed(
        self,
        user_id: str,
        merchant_id: str,
        payment_option_id: str,
        now: float,
        *,
        upo_id: str = "",
        current_count: int | None = None,
        window: tuple[int | None, int | None] = (None, None),
    ) -> dict[str, Any]:
        """A fixture's pack or membership (see ``BookingService.seed_user_payment_option``)."""
        terms = self.catalogue.payment_option(merchant_id, payment_option_id)
        if terms is None:
            raise InvalidArgument(
                "payment_option_id",
                f"unknown payment option {payment_option_id!r} of merchant {merchant_id!r}",
            )
        seed_key = booking_key(merchant_id, f"seed|{user_id}|{upo_id or payment_option_id}")
        try:
            option = self.packs.create(
                user_id,
                merchant_id,
                terms,
                now,
                purchase_id=processor_id("charge", seed_key),
                upo_id=upo_id,
                current_count=current_count,
                window=window if window != (None, None) else None,
            )
        except ValueError as exc:
            raise InvalidArgument("user_payment_option_id", str(exc)) from None
        return option.as_mapping()

    def current_option(self, b: Booking) -> Mapping[str, Any] | None:
        """The UserPaymentOption a booking bought or used, as it is now (for a replay, D39)."""
        s = b.settlement
        option = self.packs.by_id.get(s.upo_id) if s is not None and s.upo_id else None
        return option.as_mapping() if option is not None else None
