"""Payment, offer and virtual-session violations (issue 15: spec §3.12, §3.13, §11 D32–D54).

Each profile breaks one payment, offer or virtual-session rule: the switches §11 lists under the simulated
payment processor, plus one for each rule that list does not name (processed-by, price mismatch, card
declined, status consistency, credit on cancel, offer unavailable, slot precedence, session-info shape, and
``refund-status-reset``). They act in the application layer, on the domain's results, so REST and gRPC see
the same misbehaviour. A profile that lies about the payment state lies *consistently* — in CreateBooking,
UpdateBooking, GetBookingStatus and ListBookings alike — so it breaks the rule it is named after and not the
rule that compares those answers with each other (``payments/status-consistent``).

What the profiles read (the domain contract of issue 15): ``BookingView.payment`` (PaymentInformation in
proto field-name form: ``prepayment_status`` by enum name, ``payment_transaction_id``, ``price``
``{price_micros, currency_code}``, ``user_payment_option_id`` …), ``BookingView.offer_id``,
``BookingView.virtual_session`` (``session_url``, ``meeting_id``, ``password``),
``BookingResult.user_payment_option`` (``user_payment_option_id``, ``type``, ``current_count`` …),
``Failure.rejected_card_type`` and ``Failure.threeds1``, and ``CreateBookingCommand.payment_processing``.
Which rules each profile is expected to break lives in :mod:`.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mock_server.app import AppError, ErrorCode, carries_payment
from mock_server.domain import (
    BookingResult,
    BookingView,
    CreateBookingCommand,
    Failure,
    FailureCause,
    UpdateBookingCommand,
)

from .base import Fault, Handler, profile
from .chaos import Latency
from .spec import FaultSpecError, parse_duration, parse_int, parse_keywords
from .violations import CREATE, LIST, STATUS, UPDATE, _Domain

#: Every method whose answer shows a booking's payment state.
READS = CREATE | UPDATE | STATUS | LIST

PROVIDED = "PREPAYMENT_PROVIDED"
NOT_PROVIDED = "PREPAYMENT_NOT_PROVIDED"
REFUNDED = "PREPAYMENT_REFUNDED"
UNLIMITED = "PAYMENT_OPTION_UNLIMITED_USE"
BY_PARTNER = "PROCESSED_BY_PARTNER"
BY_GOOGLE = "PROCESSED_BY_GOOGLE"
#: The start of the description of the domain's price-check failure (D35)
PRICE_MISMATCH = "price mismatch"

#: Final payment failures: after one of these nothing may have changed (D53). 3DS1 is not final (D38).
PAYMENT_FAILURES = frozenset(
    {
        FailureCause.PAYMENT_ERROR,
        FailureCause.PAYMENT_ERROR_CARD_DECLINED,
        FailureCause.PAYMENT_ERROR_CARD_TYPE_REJECTED,
        FailureCause.PAYMENT_OPTION_NOT_VALID,
        FailureCause.USER_CANNOT_USE_PAYMENT_OPTION,
    }
)

THREEDS1_PARAMETERS = ("acs_url", "pa_req", "transaction_id", "md_merchant_data")


# ==========================================================================================================
# Reading and rewriting the issue-15 parts of results (one place, so the contract is named once)
# ==========================================================================================================


def payment_of(view: BookingView) -> Mapping[str, Any]:
    """The booking's PaymentInformation ({} when it has none)."""
    return view.payment or {}


def with_payment(view: BookingView, **fields: Any) -> BookingView:
    """The view with those PaymentInformation fields replaced (a field given as None is dropped)."""
    payment = {k: v for k, v in {**payment_of(view), **fields}.items() if v is not None}
    return replace(view, payment=payment)


def upo_of(result: BookingResult) -> Mapping[str, Any] | None:
    """The UserPaymentOption a Create/UpdateBooking answer returns, if any."""
    return result.user_payment_option or None


def _views(result: Any) -> list[BookingView]:
    """The booking views an answer shows (a Create/UpdateBooking result, a status, a list)."""
    if isinstance(result, BookingResult):
        return [result.booking] if result.booking is not None else []
    if isinstance(result, BookingView):
        return [result]
    if isinstance(result, list):
        return [v for v in result if isinstance(v, BookingView)]
    return []


class _ViewRewrite(Fault):
    """Rewrites every booking an answer shows; :meth:`see` observes each one first (on every method the
    profile could rewrite, even those ``@Method`` leaves out, so it learns from CreateBooking answers)."""

    default_methods = CREATE

    def see(self, method: str, request: Any, view: BookingView) -> None:
        """Remember what the profile needs of a booking (called before :meth:`rewrite`)."""

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        return view

    def applies(self, method: str) -> bool:
        return method in READS

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        for view in _views(result):
            self.see(method, request, view)
        if not super().applies(method):
            return result
        if isinstance(result, BookingResult) and result.booking is not None:
            return replace(result, booking=self.rewrite(method, request, result.booking))
        if isinstance(result, BookingView):
            return self.rewrite(method, request, result)
        if isinstance(result, list):
            return [self.rewrite(method, request, v) if isinstance(v, BookingView) else v for v in result]
        return result


class _Replays(Fault):
    """Tells a CreateBooking resent with a known idempotency token (a replay) from a first request."""

    default_methods = CREATE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.replays: dict[str, int] = {}

    def replay_number(self, request: Any, result: Any) -> int:
        """0 for the first successful answer under a token, then 1, 2, … for its replays."""
        if not isinstance(request, CreateBookingCommand) or not request.idempotency_token:
            return 0
        if not isinstance(result, BookingResult) or result.booking is None:
            return 0
        token = request.idempotency_token
        n = self.replays[token] = self.replays[token] + 1 if token in self.replays else 0
        return n


# ==========================================================================================================
# CreateBooking with payment: the answer (D32, D33, D39)
# ==========================================================================================================


@profile
class PaymentEchoWrongPrice(_ViewRewrite):
    name = "payment-echo-wrong-price"
    summary = (
        "a paid CreateBooking answers payment_information.price with price_micros off by one currency unit "
        "(or the micros given) from the price the request sent"
    )
    args_help = "[MICROS] added to price_micros (default 1000000)"
    delta = 1_000_000

    def configure(self, args: str) -> None:
        self.delta = parse_int(args, self.where(), minimum=1) if args else 1_000_000

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        price = payment_of(view).get("price")
        if not isinstance(price, Mapping) or "price_micros" not in price:
            return view
        wrong = {**price, "price_micros": int(price["price_micros"]) + self.delta}
        return with_payment(view, price=wrong)


@profile
class PaymentNoTransactionId(_ViewRewrite):
    name = "payment-no-transaction-id"
    summary = (
        "a paid CreateBooking answers payment_information without payment_transaction_id (the purchase "
        "id the partner must fill in when it processes the payment)"
    )

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        if not payment_of(view).get("payment_transaction_id"):
            return view
        return with_payment(view, payment_transaction_id=None)


@profile
class PaymentProcessedByGoogle(_ViewRewrite):
    name = "payment-processed-by-google"
    summary = (
        "a CreateBooking whose payment the partner processed answers payment_processed_by "
        "PROCESSED_BY_GOOGLE instead of the request's PROCESSED_BY_PARTNER"
    )

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        if payment_of(view).get("payment_processed_by") != BY_PARTNER:
            return view
        return with_payment(view, payment_processed_by=BY_GOOGLE)


@profile
class PaymentStatusNotProvided(_ViewRewrite):
    name = "payment-status-not-provided"
    summary = (
        "a prepaid booking is reported PREPAYMENT_NOT_PROVIDED instead of PREPAYMENT_PROVIDED (in every "
        "answer, consistently: CreateBooking, UpdateBooking, GetBookingStatus, ListBookings)"
    )
    default_methods = READS

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        if payment_of(view).get("prepayment_status") != PROVIDED:
            return view
        return with_payment(view, prepayment_status=NOT_PROVIDED)


@profile
class PaymentReplayNewCharge(_Replays):
    name = "payment-replay-new-charge"
    summary = (
        "a paid CreateBooking resent with the same idempotency_token returns the same booking with a new "
        "payment_transaction_id, as if it had charged the token again"
    )

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        n = self.replay_number(request, result)
        if not n or not isinstance(result, BookingResult) or result.booking is None:
            return result
        charge = payment_of(result.booking).get("payment_transaction_id")
        if not charge:
            return result
        return replace(result, booking=with_payment(result.booking, payment_transaction_id=f"{charge}-r{n}"))


# ==========================================================================================================
# Payment failures (D37, D38, D53)
# ==========================================================================================================


class _FailureRewrite(Fault):
    """Rewrites the failure of a CreateBooking answer whose cause is :attr:`cause`."""

    default_methods = CREATE
    cause = FailureCause.CAUSE_UNSPECIFIED

    def rewrite(self, failure: Failure) -> Failure:
        return failure

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingResult) and result.failure is not None:
            if result.failure.cause is self.cause:
                return replace(result, failure=self.rewrite(result.failure))
        return result


@profile
class CardTypeRejectedWithoutType(_FailureRewrite):
    name = "card-type-rejected-without-type"
    summary = "PAYMENT_ERROR_CARD_TYPE_REJECTED is answered without rejected_card_type"
    cause = FailureCause.PAYMENT_ERROR_CARD_TYPE_REJECTED

    def rewrite(self, failure: Failure) -> Failure:
        return replace(failure, rejected_card_type="")


@profile
class ThreeDs1WithoutParameters(_FailureRewrite):
    name = "3ds1-without-parameters"
    summary = (
        "PAYMENT_REQUIRES_3DS1 is answered without threeds1_parameters (or without the parameters named: "
        "acs_url, pa_req, transaction_id, md_merchant_data)"
    )
    args_help = "[NAME,...] the parameters to leave out (default: all four)"
    cause = FailureCause.PAYMENT_REQUIRES_3DS1

    def configure(self, args: str) -> None:
        names = tuple(n.strip() for n in args.split(",") if n.strip())
        unknown = [n for n in names if n not in THREEDS1_PARAMETERS]
        if unknown:
            raise FaultSpecError(
                f"{self.where()}: {unknown[0]!r} is not a 3DS1 parameter ({', '.join(THREEDS1_PARAMETERS)})"
            )
        self.drop = frozenset(names or THREEDS1_PARAMETERS)

    def rewrite(self, failure: Failure) -> Failure:
        kept = {k: v for k, v in (failure.threeds1 or {}).items() if k not in self.drop}
        return replace(failure, threeds1=kept or None)


@profile
class PaymentFailureTakesSpot(_Domain):
    name = "payment-failure-takes-spot"
    summary = (
        "a CreateBooking refused for its payment (declined, card type, processor error, payment option) "
        "keeps the spots it held for the charge: by default the whole slot stays blocked (a slot-level "
        "checkout lock never released); =N: N spots per failure"
    )
    args_help = "[N] spots kept per failure (default: every open spot of the slot)"
    default_methods = CREATE
    keep: int | None = None

    def configure(self, args: str) -> None:
        self.keep = parse_int(args, self.where(), minimum=1) if args else None

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if (
            isinstance(request, CreateBookingCommand)
            and isinstance(result, BookingResult)
            and result.failure is not None
            and result.failure.cause in PAYMENT_FAILURES
        ):
            self.take(request)
        return result

    def take(self, request: CreateBookingCommand) -> None:
        """Take :attr:`keep` open spots (all of them when None) of the request's slot."""
        left = self.keep
        for slot in self.slots(request.slot):
            taken = slot.spots_open if left is None else min(left, slot.spots_open)
            slot.spots_open -= taken
            if left is not None:
                left -= taken
                if not left:
                    return


# ==========================================================================================================
# Payment state over the booking's life (D40, D41)
# ==========================================================================================================


@profile
class RefundStatusUnchanged(_ViewRewrite):
    name = "refund-status-unchanged"
    summary = (
        "a cancelled prepaid booking is refunded but still reported PREPAYMENT_PROVIDED with its purchase "
        "id (consistently, in every answer that shows it)"
    )
    default_methods = READS

    def configure(self, args: str) -> None:
        super().configure(args)
        self.purchases: dict[str, Mapping[str, Any]] = {}

    def see(self, method: str, request: Any, view: BookingView) -> None:
        payment = payment_of(view)
        if payment.get("prepayment_status") == PROVIDED:
            self.purchases.setdefault(view.booking_id, payment)

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        purchase = self.purchases.get(view.booking_id)
        if purchase is None or payment_of(view).get("prepayment_status") != REFUNDED:
            return view
        return replace(view, payment=purchase)


@profile
class RefundStatusReset(_ViewRewrite):
    name = "refund-status-reset"
    summary = (
        "a cancelled prepaid booking is refunded but reported PREPAYMENT_NOT_PROVIDED, NOT_PROVIDED after "
        "PROVIDED (consistently, in every answer that shows it)"
    )
    default_methods = READS

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        if payment_of(view).get("prepayment_status") != REFUNDED:
            return view
        return with_payment(view, prepayment_status=NOT_PROVIDED)


# ==========================================================================================================
# Packs and memberships (D42, D43, D45)
# ==========================================================================================================


@profile
class UpoIdMismatch(Fault):
    name = "upo-id-mismatch"
    summary = (
        "a CreateBooking that buys or uses a payment option answers payment_information."
        "user_payment_option_id different from the id of the user_payment_option it returns"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if not isinstance(result, BookingResult) or result.booking is None:
            return result
        upo = upo_of(result)
        if upo is None or not upo.get("user_payment_option_id"):
            return result
        other = f"{upo['user_payment_option_id']}-other"
        return replace(result, booking=with_payment(result.booking, user_payment_option_id=other))


@profile
class UpoCountUnchanged(_Replays):
    name = "upo-count-unchanged"
    summary = (
        "a booking paid with a pack does not count the use: the returned user_payment_option keeps its "
        "current_count (a new pack reports all its sessions left), while cancels still give a use back"
    )
    default_methods = CREATE | UPDATE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.uncounted: dict[str, int] = {}  # user_payment_option_id -> uses not shown in current_count

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if not isinstance(result, BookingResult):
            return result
        upo = upo_of(result)
        if upo is None or upo.get("type") == UNLIMITED or "current_count" not in upo:
            return result
        upo_id = str(upo.get("user_payment_option_id", ""))
        if method == "CreateBooking" and self.replay_number(request, result) == 0 and result.booking:
            self.uncounted[upo_id] = self.uncounted.get(upo_id, 0) + 1
        hidden = self.uncounted.get(upo_id, 0)
        if not hidden:
            return result
        return replace(
            result, user_payment_option={**upo, "current_count": int(upo["current_count"]) + hidden}
        )


# ==========================================================================================================
# Offers and virtual sessions (D49, D50)
# ==========================================================================================================


@profile
class OfferInfoWrongId(_ViewRewrite):
    name = "offer-info-wrong-id"
    summary = "a CreateBooking with an applied offer answers offer_info with another offer_id than requested"

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        if not view.offer_id:
            return view
        return replace(view, offer_id=f"{view.offer_id}-other")


@profile
class VirtualUrlChangesOnReplay(_Replays):
    name = "virtual-url-changes-on-replay"
    summary = (
        "a CreateBooking of an online service resent with the same idempotency_token answers another "
        "virtual_session_info.session_url (a new meeting per replay)"
    )

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        n = self.replay_number(request, result)
        if not n or not isinstance(result, BookingResult) or result.booking is None:
            return result
        session = result.booking.virtual_session
        if not session or not session.get("session_url"):
            return result
        moved = {**session, "session_url": f"{session['session_url']}-r{n}"}
        return replace(result, booking=replace(result.booking, virtual_session=moved))


# ==========================================================================================================
# Latency (D47)
# ==========================================================================================================


@profile
class PaymentLatency(Latency):
    name = "payment-latency"
    kind = "violation"
    summary = (
        "a CreateBooking that carries a payment token or a payment option answers after 15.5 s (or the "
        "delay given), over its 15 s budget (first=N: only the first N such calls, a cold processor "
        "connection); CreateBooking without payment stays fast"
    )
    args_help = "[DURATION][,first=N] (default 15.5s, every paid CreateBooking)"
    default_methods = CREATE
    first: int | None = None

    def configure(self, args: str) -> None:
        delay, _, rest = args.partition(",")
        if "=" in delay:
            delay, rest = "", args
        self.dist = "fixed"
        self.low = self.high = parse_duration(delay, self.where()) if delay.strip() else 15.5
        keywords = parse_keywords(rest, self.where(), ("first",))
        self.first = parse_int(keywords["first"], self.where(), minimum=1) if "first" in keywords else None

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not carries_payment(request) or self.first == 0:
            return await call_next(request)
        if self.first is not None:
            self.first -= 1
        return await super().intercept(method, request, call_next)


# ==========================================================================================================
# The rules no switch of §11's list names: a profile each, so every payment rule is seen to fire
# ==========================================================================================================


@profile
class PriceMismatch500(Fault):
    name = "price-mismatch-500"
    summary = (
        "a CreateBooking whose price differs from the feed is answered HTTP 500 / INTERNAL instead of a "
        "booking_failure (the price check throws)"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        failure = result.failure if isinstance(result, BookingResult) else None
        if failure is not None and failure.cause is FailureCause.PAYMENT_ERROR:
            if failure.description.startswith(PRICE_MISMATCH):
                raise AppError(ErrorCode.INTERNAL, f"internal error: {failure.description}")
        return result


@profile
class CardDeclined500(Fault):
    name = "card-declined-500"
    summary = (
        "a declined card is answered HTTP 500 / INTERNAL instead of booking_failure "
        "PAYMENT_ERROR_CARD_DECLINED (the processor's decline escapes as an exception)"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        failure = result.failure if isinstance(result, BookingResult) else None
        if failure is not None and failure.cause is FailureCause.PAYMENT_ERROR_CARD_DECLINED:
            raise AppError(ErrorCode.INTERNAL, f"internal error: card declined ({failure.description})")
        return result


@profile
class PaymentStatusStale(_ViewRewrite):
    name = "payment-status-stale"
    summary = (
        "GetBookingStatus and ListBookings report a prepaid booking as PREPAYMENT_NOT_PROVIDED while "
        "CreateBooking said PREPAYMENT_PROVIDED (they read a copy the charge never updates)"
    )
    default_methods = STATUS | LIST

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        if payment_of(view).get("prepayment_status") != PROVIDED:
            return view
        return with_payment(view, prepayment_status=NOT_PROVIDED)


@profile
class UpoNoCreditOnCancel(Fault):
    name = "upo-no-credit-on-cancel"
    summary = (
        "cancelling a booking paid with a pack gives the use back but answers without user_payment_option"
    )
    default_methods = UPDATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingResult) and result.user_payment_option:
            return replace(result, user_payment_option=None)
        return result


@profile
class RescheduleNewTransaction(Fault):
    name = "reschedule-new-transaction"
    summary = (
        "moving a prepaid booking to another start answers with a new payment_transaction_id, as if the "
        "booking had been charged again (nothing is charged; later answers show the original id)"
    )
    default_methods = UPDATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        moved = isinstance(request, UpdateBookingCommand) and request.start_sec is not None
        if not moved or not isinstance(result, BookingResult) or result.booking is None:
            return result
        tid = payment_of(result.booking).get("payment_transaction_id")
        if not tid:
            return result
        return replace(result, booking=with_payment(result.booking, payment_transaction_id=f"{tid}-moved"))


@profile
class UnusableOptionPaymentError(Fault):
    name = "unusable-option-payment-error"
    summary = (
        "a pack or membership that cannot pay (no uses left, another user's, not valid for the slot) is "
        "refused with a generic PAYMENT_ERROR instead of PAYMENT_OPTION_NOT_VALID or "
        "USER_CANNOT_USE_PAYMENT_OPTION (nothing is booked or used)"
    )
    default_methods = CREATE
    causes = frozenset({FailureCause.PAYMENT_OPTION_NOT_VALID, FailureCause.USER_CANNOT_USE_PAYMENT_OPTION})

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingResult) and result.failure is not None:
            if result.failure.cause in self.causes:
                return replace(result, failure=replace(result.failure, cause=FailureCause.PAYMENT_ERROR))
        return result


@profile
class OfferUnavailableAsDeal(_FailureRewrite):
    name = "offer-unavailable-as-deal"
    summary = (
        "an offer that does not apply is refused with the deprecated DEAL_UNAVAILABLE instead of "
        "OFFER_UNAVAILABLE"
    )
    cause = FailureCause.OFFER_UNAVAILABLE

    def rewrite(self, failure: Failure) -> Failure:
        return replace(failure, cause=FailureCause.DEAL_UNAVAILABLE)


@profile
class OfferBeforeSlot(Fault):
    name = "offer-before-slot"
    summary = (
        "a CreateBooking with an offer_id on a slot that does not exist or is full fails with "
        "OFFER_UNAVAILABLE instead of SLOT_UNAVAILABLE (the offer is checked first)"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if not isinstance(request, CreateBookingCommand) or not request.offer_id:
            return result
        if isinstance(result, BookingResult) and result.failure is not None:
            if result.failure.cause is FailureCause.SLOT_UNAVAILABLE:
                return replace(result, failure=Failure(FailureCause.OFFER_UNAVAILABLE, "offer not valid"))
        return result


@profile
class VirtualUrlRelative(_ViewRewrite):
    name = "virtual-url-relative"
    summary = (
        "virtual_session_info.session_url is a relative path (/join/…) instead of an absolute https URL "
        "(the same in every answer)"
    )
    default_methods = READS

    def rewrite(self, method: str, request: Any, view: BookingView) -> BookingView:
        session = view.virtual_session
        url = str(session.get("session_url", "")) if session else ""
        if not session or "://" not in url:
            return view
        path = url.split("://", 1)[1].partition("/")[2]
        return replace(view, virtual_session={**session, "session_url": f"/join/{path}"})
