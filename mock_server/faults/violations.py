"""Spec violations in the application layer: each profile breaks one behaviour the spec requires, for
REST and gRPC alike.

Each profile is a small :class:`~mock_server.faults.base.Fault` subclass whose :meth:`intercept` rewrites a
request, a result or the capacity around one domain call. The domain is reached through its public API
only: ``app.service.inventory.candidates()`` / ``exact()`` give the inventory slots (whose ``spots_open``
counter a capacity fault moves by one — the server runs all requests on one event loop thread, so nothing
runs between such a move and the domain call next to it), ``get_booking``, ``list_bookings`` and
``knows_user`` read state. Which rules each profile is expected to break lives in :mod:`.registry`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from mock_server.app import AppError, ErrorCode
from mock_server.domain import (
    RELEASED_STATUSES,
    BookingResult,
    BookingStatus,
    BookingView,
    CreateBookingCommand,
    CreateLeaseCommand,
    DomainError,
    Failure,
    FailureCause,
    InventorySlot,
    LeaseResult,
    LeaseView,
    SlotQuery,
    UpdateBookingCommand,
)
from mock_server.domain.updates import UpdateIntent, UpdateKind, classify_update

from .base import Fault, Handler, profile
from .spec import FaultSpecError, parse_duration, parse_int

FAILURE_METHODS = frozenset({"CreateBooking", "UpdateBooking", "CreateLease"})
CREATE = frozenset({"CreateBooking"})
UPDATE = frozenset({"UpdateBooking"})
LEASE = frozenset({"CreateLease"})
BAL = frozenset({"BatchAvailabilityLookup"})
STATUS = frozenset({"GetBookingStatus"})
LIST = frozenset({"ListBookings"})


def _fail(cause: FailureCause, description: str) -> BookingResult:
    return BookingResult(failure=Failure(cause, description))


class _Domain(Fault):
    """Shortcuts to the domain's public API."""

    def slots(self, q: SlotQuery | None) -> list[InventorySlot]:
        return self.app.service.inventory.candidates(q) if q is not None else []

    def booking(self, booking_id: str | None) -> BookingView | None:
        if not booking_id:
            return None
        try:
            return self.app.service.get_booking(booking_id)
        except DomainError:
            return None

    def now(self) -> float:
        return self.app.service.clock()

    def update(self, request: Any) -> tuple[BookingView, UpdateIntent] | None:
        """The stored booking an UpdateBooking names and what the request asks of it, classified by the
        domain's own rule (D27: the short and the whole-booking form alike); None for anything else."""
        if not isinstance(request, UpdateBookingCommand):
            return None
        before = self.booking(request.booking_id)
        if before is None:
            return None
        return before, classify_update(request, before.slot, before.status)

    def target_slot(self, intent: UpdateIntent) -> InventorySlot | None:
        """The slot a modify would move the booking to (the domain's own rule, D22)."""
        return self.app.service.inventory.exact(intent.target)


class _Update(_Domain):
    """A fault of UpdateBooking: :meth:`change` sees every request on a known booking, with its intent."""

    default_methods = UPDATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        found = self.update(request)
        if found is None or not self.wants(found[1]):
            return await call_next(request)
        before, intent = found
        return await self.change(request, before, intent, call_next)

    def wants(self, intent: UpdateIntent) -> bool:
        return True

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        return await call_next(request)


class _Cancel(_Update):
    def wants(self, intent: UpdateIntent) -> bool:
        return intent.is_cancel


class _Modify(_Update):
    """Reschedules and party-size changes, and their repetitions (a no-op that names slot fields)."""

    def wants(self, intent: UpdateIntent) -> bool:
        return intent.is_modify


# ==========================================================================================================
# HealthCheck, authentication, bad requests
# ==========================================================================================================


@profile
class HealthFail(Fault):
    name = "health-fail"
    summary = "HealthCheck answers HTTP 503 / gRPC health UNAVAILABLE although the server works"
    default_methods = frozenset({"HealthCheck"})

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        raise AppError(ErrorCode.UNAVAILABLE, "unhealthy (--fault health-fail)")


@profile
class RejectValidAuth(Fault):
    name = "reject-valid-auth"
    summary = "refuse correct credentials with 401 / UNAUTHENTICATED (default: on HealthCheck only)"
    default_methods = frozenset({"HealthCheck"})

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        raise AppError(ErrorCode.UNAUTHENTICATED, "credentials refused (--fault reject-valid-auth)")


@profile
class MissingRequired200(Fault):
    name = "missing-required-200"
    summary = (
        "a CreateBooking without slot, user_information or idempotency_token is answered 200 with "
        "booking_failure SLOT_UNAVAILABLE instead of 400"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if isinstance(request, CreateBookingCommand) and (
            request.slot is None or request.user is None or not request.idempotency_token
        ):
            return _fail(FailureCause.SLOT_UNAVAILABLE, "cannot book (--fault missing-required-200)")
        return await call_next(request)


@profile
class MissingRequired500(Fault):
    name = "missing-required-500"
    summary = (
        "a CreateBooking without slot, user_information or idempotency_token is answered HTTP 500 / "
        "INTERNAL instead of 400 / INVALID_ARGUMENT (the server crashes on the missing field)"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if isinstance(request, CreateBookingCommand) and (
            request.slot is None or request.user is None or not request.idempotency_token
        ):
            raise AppError(
                ErrorCode.INTERNAL, "internal error: NoneType has no attribute (--fault missing-required-500)"
            )
        return await call_next(request)


@profile
class BadRequestTakesSpot(_Domain):
    name = "bad-request-takes-spot"
    summary = (
        "a CreateBooking refused with 400 for a missing user or token still takes a spot of its slot "
        "(the capacity is decremented before validation)"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if (
            isinstance(request, CreateBookingCommand)
            and request.slot is not None
            and (request.user is None or not request.user.user_id or not request.idempotency_token)
        ):
            for s in self.slots(request.slot):
                if s.spots_open > 0:
                    s.spots_open -= 1
                    break
        return await call_next(request)


# ==========================================================================================================
# Business failures
# ==========================================================================================================


@profile
class CauseUnspecified(Fault):
    name = "cause-unspecified"
    summary = "every booking_failure carries cause CAUSE_UNSPECIFIED instead of the specific cause"
    default_methods = FAILURE_METHODS

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, (BookingResult, LeaseResult)) and result.failure is not None:
            return replace(
                result, failure=Failure(FailureCause.CAUSE_UNSPECIFIED, result.failure.description)
            )
        return result


@profile
class BusinessAsHttpError(Fault):
    name = "business-as-http-error"
    summary = "business failures are answered with an HTTP error (default 409 / gRPC ABORTED) instead of 200"
    args_help = "[STATUS] one of 400, 409, 500 (default 409)"
    default_methods = FAILURE_METHODS
    code = ErrorCode.ABORTED

    def configure(self, args: str) -> None:
        codes = {400: ErrorCode.INVALID_ARGUMENT, 409: ErrorCode.ABORTED, 500: ErrorCode.INTERNAL}
        if args:
            try:
                self.code = codes[int(args)]
            except (ValueError, KeyError):
                raise FaultSpecError(f"{self.where()}: the status must be 400, 409 or 500") from None

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, (BookingResult, LeaseResult)) and result.failure is not None:
            raise AppError(self.code, f"{result.failure.cause.name}: {result.failure.description}")
        return result


# ==========================================================================================================
# Availability
# ==========================================================================================================


@profile
class BalUnknownAvailable(_Domain):
    name = "bal-unknown-available"
    summary = "BatchAvailabilityLookup answers available=true for a SlotTime that is not in the inventory"
    default_methods = BAL

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        answers: list[bool] = await call_next(request)
        return [a or not self.slots(q) for q, a in zip(request, answers, strict=True)]


@profile
class BalFullAvailable(_Domain):
    name = "bal-full-available"
    summary = "BatchAvailabilityLookup answers available=true for a slot with no spot left (capacity ignored)"
    default_methods = BAL

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        answers: list[bool] = await call_next(request)
        return [a or bool(self.slots(q)) for q, a in zip(request, answers, strict=True)]


@profile
class BalStaleCache(Fault):
    name = "bal-stale-cache"
    summary = (
        "BatchAvailabilityLookup caches 'unavailable' forever: a slot freed by a cancel stays unavailable"
    )
    default_methods = BAL

    def configure(self, args: str) -> None:
        super().configure(args)
        self.unavailable: set[tuple[Any, ...]] = set()

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        answers: list[bool] = await call_next(request)
        out = []
        for q, a in zip(request, answers, strict=True):
            key = _query_key(q)
            if not a:
                self.unavailable.add(key)
            out.append(a and key not in self.unavailable)
        return out


def _query_key(q: SlotQuery) -> tuple[Any, ...]:
    return (
        q.merchant_id,
        q.service_id,
        q.start_sec,
        q.duration_sec,
        q.availability_tag,
        q.staff_id,
        q.room_id,
        q.party_size,
    )


@profile
class BalSingleService(Fault):
    name = "bal-single-service"
    summary = (
        "BatchAvailabilityLookup looks every SlotTime up under the first SlotTime's service_id "
        "(requests spanning several services are answered wrongly)"
    )
    default_methods = BAL

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not request:
            return await call_next(request)
        first = request[0].service_id
        answers: list[bool] = await call_next([replace(q, service_id=first) for q in request])
        return answers


@profile
class BalTruncate(Fault):
    name = "bal-truncate"
    summary = (
        "BatchAvailabilityLookup only looks up the first N SlotTimes (default 2); the rest are 'unavailable'"
    )
    args_help = "[N] (default 2)"
    default_methods = BAL
    limit = 2

    def configure(self, args: str) -> None:
        self.limit = parse_int(args, self.where(), minimum=0) if args else 2

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        answers: list[bool] = await call_next(request)
        return [a and i < self.limit for i, a in enumerate(answers)]


@profile
class CheckZero(Fault):
    name = "check-zero"
    summary = "CheckAvailability answers count_available 0 for every slot"
    default_methods = frozenset({"CheckAvailability"})

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        await call_next(request)
        return 0


@profile
class CheckTotal(_Domain):
    name = "check-total"
    summary = "CheckAvailability answers spots_total instead of the open spots (a full slot looks available)"
    default_methods = frozenset({"CheckAvailability"})

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        await call_next(request)
        return sum(s.spots_total for s in self.slots(request))


# ==========================================================================================================
# CreateBooking: answers
# ==========================================================================================================


@profile
class UnknownSlot500(_Domain):
    name = "unknown-slot-500"
    summary = "CreateBooking on a slot, service or merchant that does not exist answers HTTP 500 / INTERNAL"
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        q = request.slot if isinstance(request, CreateBookingCommand) else None
        if q is not None and q.merchant_id and q.service_id and q.start_sec is not None and not self.slots(q):
            raise AppError(
                ErrorCode.INTERNAL, "internal error: slot lookup failed (--fault unknown-slot-500)"
            )
        return await call_next(request)


@profile
class AsyncUnsupported(_Domain):
    name = "async-unsupported"
    summary = "CreateBooking on a CONFIRMATION_MODE_ASYNCHRONOUS slot fails with SLOT_UNAVAILABLE"
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if isinstance(request, CreateBookingCommand) and any(s.is_async for s in self.slots(request.slot)):
            return _fail(FailureCause.SLOT_UNAVAILABLE, "asynchronous slots are not supported")
        return await call_next(request)


class _BookingRewrite(Fault):
    """Rewrites the booking of a successful CreateBooking/UpdateBooking answer (the state is untouched)."""

    default_methods = CREATE

    def rewrite(self, request: Any, view: BookingView) -> BookingView:
        raise NotImplementedError

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingResult) and result.booking is not None:
            return replace(result, booking=self.rewrite(request, result.booking))
        return result


@profile
class EmptyBookingId(_BookingRewrite):
    name = "empty-booking-id"
    summary = (
        "CreateBooking answers the new booking without a booking_id (empty-booking-id=async: only "
        "bookings on asynchronous slots)"
    )
    args_help = "[async]"
    only_async = False

    def configure(self, args: str) -> None:
        if args.strip().lower() not in ("", "async"):
            raise FaultSpecError(f"{self.where()}: use empty-booking-id or empty-booking-id=async")
        self.only_async = args.strip().lower() == "async"

    def rewrite(self, request: Any, view: BookingView) -> BookingView:
        if self.only_async and not view.slot.is_async:
            return view
        return replace(view, booking_id="")


@profile
class DuplicateBookingId(_BookingRewrite):
    name = "duplicate-booking-id"
    summary = (
        "every booking on a slot gets the booking_id of the slot's first booking (ids are not unique; "
        "the id names that first booking)"
    )

    def configure(self, args: str) -> None:
        super().configure(args)
        self.first: dict[tuple[Any, ...], str] = {}

    def rewrite(self, request: Any, view: BookingView) -> BookingView:
        first = self.first.setdefault(view.slot.key, view.booking_id)
        return replace(view, booking_id=first)


@profile
class EchoLocalTime(_BookingRewrite):
    name = "echo-local-time"
    summary = "CreateBooking echoes the slot's start in local time (start_sec shifted, default +3600 s)"
    args_help = "[SECONDS] (default 3600)"
    offset = 3600

    def configure(self, args: str) -> None:
        self.offset = parse_int(args, self.where(), minimum=1) if args else 3600

    def rewrite(self, request: Any, view: BookingView) -> BookingView:
        return replace(view, slot=replace(view.slot, start_sec=view.slot.start_sec + self.offset))


@profile
class EchoNoUser(_BookingRewrite):
    name = "echo-no-user"
    summary = "CreateBooking echoes the user's information without user_id"

    def rewrite(self, request: Any, view: BookingView) -> BookingView:
        return replace(view, user=replace(view.user, user_id=""))


@profile
class SyncAsPending(_BookingRewrite):
    name = "sync-as-pending"
    summary = (
        "CreateBooking and UpdateBooking report bookings on synchronous slots as "
        "PENDING_MERCHANT_CONFIRMATION"
    )
    default_methods = CREATE | UPDATE

    def rewrite(self, request: Any, view: BookingView) -> BookingView:
        if view.status is BookingStatus.CONFIRMED:
            return replace(view, status=BookingStatus.PENDING_MERCHANT_CONFIRMATION)
        return view


@profile
class AsyncAsConfirmed(_BookingRewrite):
    name = "async-as-confirmed"
    summary = "CreateBooking reports a booking on an asynchronous slot as CONFIRMED at once"

    def rewrite(self, request: Any, view: BookingView) -> BookingView:
        if view.status is BookingStatus.PENDING_MERCHANT_CONFIRMATION:
            return replace(view, status=BookingStatus.CONFIRMED)
        return view


# ==========================================================================================================
# CreateBooking: idempotency
# ==========================================================================================================


class _Tokens(_Domain):
    default_methods = CREATE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.seen: dict[str, int] = {}

    def fresh(self, token: str) -> str:
        n = self.seen[token] = self.seen.get(token, 0) + 1
        return f"{token}~fault{n}"


@profile
class ReplayNewBooking(_Tokens):
    name = "replay-new-booking"
    summary = (
        "a CreateBooking resent with the same idempotency_token is processed as a new request (with "
        "the default duplicate check it then fails with SLOT_ALREADY_BOOKED_BY_USER)"
    )

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not isinstance(request, CreateBookingCommand) or not request.idempotency_token:
            return await call_next(request)
        token = request.idempotency_token
        if token in self.seen:
            return await call_next(replace(request, idempotency_token=self.fresh(token)))
        self.seen[token] = 0
        return await call_next(request)


@profile
class ReplayTakesSpot(_Tokens):
    name = "replay-takes-spot"
    summary = "a replayed CreateBooking returns the same booking but takes one more spot of its slot"

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(request, CreateBookingCommand) and isinstance(result, BookingResult) and result.booking:
            token = request.idempotency_token or ""
            if token in self.seen:
                slot = result.booking.slot
                if slot.spots_open > 0:
                    slot.spots_open -= 1
            else:
                self.seen[token] = 0
        return result


@profile
class RaceReplay(_Tokens):
    name = "race-replay"
    summary = (
        "the idempotency-token lookup and the commit are not atomic: copies of one CreateBooking that "
        "arrive together are each processed as new (sequential replays are fine)"
    )
    args_help = "[WINDOW] the gap between lookup and commit (default 200ms)"
    window = 0.2

    def configure(self, args: str) -> None:
        self.seen = {}
        self.alias: dict[str, str] = {}
        self.window = parse_duration(args, self.where()) if args else 0.2

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not isinstance(request, CreateBookingCommand) or not request.idempotency_token:
            return await call_next(request)
        token = request.idempotency_token
        known = self.alias.get(token)
        if known is not None:
            return await call_next(replace(request, idempotency_token=known))
        await self.plan.sleep(self.window)
        fresh = self.fresh(token)
        result = await call_next(replace(request, idempotency_token=fresh))
        if isinstance(result, BookingResult) and result.booking is not None:
            self.alias.setdefault(token, fresh)
        return result


@profile
class DedupeReturnsEarlier(_Domain):
    name = "dedupe-returns-earlier"
    summary = (
        "the same user booking the same slot again with a new idempotency_token gets the earlier "
        "booking back instead of a new booking or a failure"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if (
            isinstance(result, BookingResult)
            and result.failure is not None
            and isinstance(request, CreateBookingCommand)
            and request.user is not None
            and result.failure.cause is FailureCause.SLOT_ALREADY_BOOKED_BY_USER
        ):
            cands = self.slots(request.slot)
            for view in self.app.service.list_bookings(request.user.user_id):
                if view.status not in RELEASED_STATUSES and any(view.slot is c for c in cands):
                    return BookingResult(booking=view)
        return result


@profile
class StickyFailure(Fault):
    name = "sticky-failure"
    summary = "a failed CreateBooking is cached under its idempotency_token and replayed when resent"
    default_methods = CREATE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.failed: dict[str, BookingResult] = {}

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        token = request.idempotency_token if isinstance(request, CreateBookingCommand) else None
        if token and token in self.failed:
            return self.failed[token]
        result = await call_next(request)
        if token and isinstance(result, BookingResult) and result.failure is not None:
            self.failed[token] = result
        return result


# ==========================================================================================================
# CreateBooking: capacity
# ==========================================================================================================


class _Capacity(_Domain):
    default_methods = CREATE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.booked: set[str] = set()

    def is_new_booking(self, result: Any) -> bool:
        if isinstance(result, BookingResult) and result.booking is not None:
            bid = result.booking.booking_id
            if bid not in self.booked:
                self.booked.add(bid)
                return True
        return False

    async def book_with_phantom(self, request: Any, call_next: Handler, slot: InventorySlot | None) -> Any:
        """Give ``slot`` one phantom spot, book, and take the spot back if no new booking used it."""
        if slot is None:
            result = await call_next(request)
            self.is_new_booking(result)
            return result
        slot.spots_open += 1
        result = await call_next(request)
        if not self.is_new_booking(result) and slot.spots_open > 0:
            slot.spots_open -= 1
        return result


@profile
class CapacityOffByOne(_Domain):
    name = "capacity-off-by-one"
    summary = (
        "the last open spot of a slot cannot be booked (CreateBooking fails with SLOT_UNAVAILABLE "
        "while BatchAvailabilityLookup still says available)"
    )
    default_methods = CREATE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if (
            isinstance(request, CreateBookingCommand)
            and not request.lease_id
            and request.user is not None
            and request.idempotency_token
        ):
            open_ = [s for s in self.slots(request.slot) if s.spots_open > 0]
            if open_ and all(s.spots_open == 1 for s in open_):
                return _fail(FailureCause.SLOT_UNAVAILABLE, "no spot left (--fault capacity-off-by-one)")
        return await call_next(request)


@profile
class Overbook(_Capacity):
    name = "overbook"
    summary = "CreateBooking on a full slot succeeds: capacity is not checked"

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not isinstance(request, CreateBookingCommand) or request.lease_id:
            return await call_next(request)
        cands = self.slots(request.slot)
        full = bool(cands) and not any(s.spots_open > 0 for s in cands)
        return await self.book_with_phantom(request, call_next, cands[0] if full else None)


@profile
class RaceOverbook(_Capacity):
    name = "race-overbook"
    summary = (
        "the capacity check and the commit of CreateBooking are not atomic: concurrent bookings of the "
        "last spots all succeed (sequential ones are refused correctly)"
    )
    args_help = "[WINDOW] the gap between check and commit (default 200ms)"
    window = 0.2

    def configure(self, args: str) -> None:
        self.booked = set()
        self.window = parse_duration(args, self.where()) if args else 0.2

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not isinstance(request, CreateBookingCommand) or request.lease_id:
            return await call_next(request)
        saw_open = any(s.spots_open > 0 for s in self.slots(request.slot))  # the check …
        await self.plan.sleep(self.window)  # … a slow backend …
        cands = self.slots(request.slot)
        full_now = bool(cands) and not any(s.spots_open > 0 for s in cands)
        return await self.book_with_phantom(
            request,
            call_next,  # … and the commit
            cands[0] if saw_open and full_now else None,
        )


# ==========================================================================================================
# Leases
# ==========================================================================================================


@profile
class LeaseUnsupported(Fault):
    name = "lease-unsupported"
    summary = "CreateLease answers HTTP 501 / UNIMPLEMENTED (for a target profile that claims leases)"
    default_methods = LEASE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        raise AppError(ErrorCode.UNIMPLEMENTED, "leases are not implemented (--fault lease-unsupported)")


class _LeaseRewrite(Fault):
    default_methods = LEASE

    def rewrite(self, view: LeaseView) -> LeaseView:
        raise NotImplementedError

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, LeaseResult) and result.lease is not None:
            return replace(result, lease=self.rewrite(result.lease))
        return result


@profile
class LeaseNoExpirationTime(_LeaseRewrite):
    name = "lease-no-expiration-time"
    summary = (
        "CreateLease ignores the requested expiry (holds for the server's longest time) and answers "
        "the lease without lease_expiration_time_sec"
    )

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if isinstance(request, CreateLeaseCommand):
            request = replace(request, expires_sec=None)
        return await super().intercept(method, request, call_next)

    def rewrite(self, view: LeaseView) -> LeaseView:
        return replace(view, expires_sec=0)


@profile
class LeaseEchoWrong(_LeaseRewrite):
    name = "lease-echo-wrong"
    summary = "CreateLease answers the lease without the user_reference it was asked for"

    def rewrite(self, view: LeaseView) -> LeaseView:
        return replace(view, user_reference="")


@profile
class LeaseReplayNew(Fault):
    name = "lease-replay-new"
    summary = "CreateLease with a user_reference seen before creates a second lease (not idempotent)"
    default_methods = LEASE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.seen: dict[str, int] = {}

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        ref = request.user_reference if isinstance(request, CreateLeaseCommand) else None
        if ref:
            n = self.seen.get(ref)
            self.seen[ref] = 0 if n is None else n + 1
            if n is not None:
                return await call_next(replace(request, user_reference=f"{ref}~fault{n + 1}"))
        return await call_next(request)


class _LeaseTracker(_Domain):
    """Remembers the leases it saw created (lease_id → view), to recognise bookings made on them."""

    default_methods = LEASE | CREATE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.leases: dict[str, LeaseView] = {}

    def applies(self, method: str) -> bool:
        return method == "CreateLease" or super().applies(method)  # always learn the leases

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if isinstance(request, CreateBookingCommand) and request.lease_id in self.leases:
            return await self.on_booking(request, self.leases[request.lease_id], call_next)
        result = await call_next(request)
        if isinstance(result, LeaseResult) and result.lease is not None:
            if result.lease.lease_id not in self.leases:
                self.leases[result.lease.lease_id] = result.lease
                self.on_new_lease(result.lease)
        return result

    def on_new_lease(self, lease: LeaseView) -> None:
        pass

    async def on_booking(self, request: CreateBookingCommand, lease: LeaseView, call_next: Handler) -> Any:
        return await call_next(request)

    def live(self, lease: LeaseView) -> bool:
        return lease.expires_sec > self.now()

    def matches(self, request: CreateBookingCommand, lease: LeaseView) -> bool:
        return any(s is lease.slot for s in self.slots(request.slot))


@profile
class LeaseNotHolding(_LeaseTracker):
    name = "lease-not-holding"
    summary = "a live lease does not hold its spot: another user can book the leased last spot"

    def on_new_lease(self, lease: LeaseView) -> None:
        lease.slot.spots_open += 1  # the lease's spot goes straight back to the slot

    async def on_booking(self, request: CreateBookingCommand, lease: LeaseView, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingResult) and result.booking is not None and lease.slot.spots_open > 0:
            lease.slot.spots_open -= 1  # the booking on the lease takes a spot after all
        return result


@profile
class LeaseBookingRefused(_LeaseTracker):
    name = "lease-booking-refused"
    summary = "CreateBooking on a live lease with the matching slot fails with SLOT_UNAVAILABLE"

    async def on_booking(self, request: CreateBookingCommand, lease: LeaseView, call_next: Handler) -> Any:
        if self.live(lease) and self.matches(request, lease):
            return _fail(FailureCause.SLOT_UNAVAILABLE, "no spot left (--fault lease-booking-refused)")
        return await call_next(request)


@profile
class LeaseSlotUnchecked(_LeaseTracker):
    name = "lease-slot-unchecked"
    summary = (
        "CreateBooking naming a lease books the slot of the request even when it is not the lease's slot"
    )

    async def on_booking(self, request: CreateBookingCommand, lease: LeaseView, call_next: Handler) -> Any:
        if not self.matches(request, lease):
            return await call_next(replace(request, lease_id=None))
        return await call_next(request)


@profile
class LeaseNoExpiry(_LeaseTracker):
    name = "lease-no-expiry"
    summary = "an expired lease is still honoured: CreateBooking on it succeeds instead of LEASE_EXPIRED"

    async def on_booking(self, request: CreateBookingCommand, lease: LeaseView, call_next: Handler) -> Any:
        if not self.live(lease):
            return await call_next(replace(request, lease_id=None))
        return await call_next(request)


@profile
class LeaseOverbook(_Domain):
    name = "lease-overbook"
    summary = "CreateLease on a full slot succeeds: capacity is not checked"
    default_methods = LEASE

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        cands = self.slots(request.slot) if isinstance(request, CreateLeaseCommand) else []
        if not cands or any(s.spots_open > 0 for s in cands):
            return await call_next(request)
        cands[0].spots_open += 1
        result = await call_next(request)
        if isinstance(result, LeaseResult) and result.lease is None and cands[0].spots_open > 0:
            cands[0].spots_open -= 1
        return result


# ==========================================================================================================
# UpdateBooking
# ==========================================================================================================


@profile
class CancelWrongStatus(_Cancel):
    name = "cancel-wrong-status"
    summary = "a cancel works, but the answer shows the booking still CONFIRMED"

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingResult) and result.booking is not None:
            return replace(result, booking=replace(result.booking, status=BookingStatus.CONFIRMED))
        return result


@profile
class CancelNoRelease(_Cancel):
    name = "cancel-no-release"
    summary = "a cancelled booking does not give its spot back"

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        result = await call_next(request)
        if (
            before.status not in RELEASED_STATUSES
            and isinstance(result, BookingResult)
            and result.booking is not None
            and result.booking.status is BookingStatus.CANCELED
            and before.slot.spots_open > 0
        ):
            before.slot.spots_open -= 1
        return result


@profile
class RecancelError(_Cancel):
    name = "recancel-error"
    summary = (
        "cancelling a cancelled booking answers HTTP 400 / INVALID_ARGUMENT (recancel-error=409: "
        "HTTP 409 / ABORTED)"
    )
    args_help = "[STATUS] 400 or 409 (default 400)"
    code = ErrorCode.INVALID_ARGUMENT

    def configure(self, args: str) -> None:
        codes = {400: ErrorCode.INVALID_ARGUMENT, 409: ErrorCode.ABORTED}
        if args:
            try:
                self.code = codes[int(args)]
            except (ValueError, KeyError):
                raise FaultSpecError(f"{self.where()}: the status must be 400 or 409") from None

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        if before.status is BookingStatus.CANCELED:
            raise AppError(self.code, "the booking is already cancelled (--fault recancel-error)")
        return await call_next(request)


@profile
class UnknownBooking500(Fault):
    name = "unknown-booking-500"
    summary = "UpdateBooking and GetBookingStatus of an unknown booking_id answer HTTP 500 / INTERNAL"
    default_methods = UPDATE | STATUS

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        try:
            return await call_next(request)
        except AppError as exc:
            if exc.message.startswith("unknown booking id"):
                raise AppError(ErrorCode.INTERNAL, "internal error: booking lookup failed") from None
            raise


def _moved(before: BookingView, result: Any) -> bool:
    return (
        isinstance(result, BookingResult)
        and result.booking is not None
        and result.booking.slot is not before.slot
    )


@profile
class RescheduleKeepsOld(_Modify):
    name = "reschedule-keeps-old"
    summary = "a reschedule moves the booking but does not free the spot of the old slot"

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        result = await call_next(request)
        if _moved(before, result) and before.slot.spots_open > 0:
            before.slot.spots_open -= 1
        return result


@profile
class RescheduleNoTake(_Modify):
    name = "reschedule-no-take"
    summary = "a reschedule moves the booking but does not take a spot of the new slot"

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        result = await call_next(request)
        if _moved(before, result):
            result.booking.slot.spots_open += 1
        return result


@profile
class RescheduleEchoOld(_Modify):
    name = "reschedule-echo-old"
    summary = (
        "a reschedule works, but the answer shows the booking at its original start and duration "
        "(party-size changes are answered correctly)"
    )

    def configure(self, args: str) -> None:
        super().configure(args)
        self.original: dict[str, InventorySlot] = {}

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        repeat = intent.kind is UpdateKind.NO_OP and before.booking_id in self.original
        if not (intent.reschedule or repeat):
            return await call_next(request)
        original = self.original.setdefault(before.booking_id, before.slot)
        result = await call_next(request)
        if isinstance(result, BookingResult) and result.booking is not None:
            return replace(result, booking=replace(result.booking, slot=original))
        return result


@profile
class RescheduleOverbook(_Modify):
    name = "reschedule-overbook"
    summary = "a reschedule into a full slot succeeds: the new slot's capacity is not checked"

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        target = self.target_slot(intent)
        if target is None or target is before.slot or target.spots_open > 0:
            return await call_next(request)
        target.spots_open += 1
        result = await call_next(request)
        if not _moved(before, result) and target.spots_open > 0:
            target.spots_open -= 1
        return result


@profile
class RescheduleNotIdempotent(_Modify):
    name = "reschedule-not-idempotent"
    summary = (
        "repeating a reschedule to the slot the booking is already on is refused with HTTP 400 / "
        "INVALID_ARGUMENT"
    )

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        if intent.kind is UpdateKind.NO_OP:
            raise AppError(ErrorCode.INVALID_ARGUMENT, "the booking is already at that time")
        return await call_next(request)


@profile
class RescheduleNewId(_Modify):
    name = "reschedule-new-id"
    summary = (
        "a reschedule works, but the answer names the booking by another booking_id (as if it had been "
        "cancelled and booked anew)"
    )

    def configure(self, args: str) -> None:
        super().configure(args)
        self.moved: set[str] = set()

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        result = await call_next(request)
        repeat = intent.kind is UpdateKind.NO_OP and before.booking_id in self.moved
        if (intent.reschedule or repeat) and isinstance(result, BookingResult) and result.booking is not None:
            self.moved.add(before.booking_id)  # a repeat is answered like the first time (D22 idempotent)
            return replace(result, booking=replace(result.booking, booking_id=f"{before.booking_id}-moved"))
        return result


@profile
class PartySizeIgnored(_Modify):
    name = "party-size-ignored"
    summary = "a party-size change is answered 200 with the booking unchanged"

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        if intent.party_size_change and not intent.reschedule:
            return BookingResult(booking=before)
        return await call_next(request)


# ==========================================================================================================
# GetBookingStatus / ListBookings
# ==========================================================================================================


class _StatusMap(Fault):
    default_methods = STATUS
    mapping: dict[BookingStatus, BookingStatus] = {}

    def remap(self, view: BookingView) -> BookingView:
        new = self.mapping.get(view.status)
        return replace(view, status=new) if new is not None else view

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingView):
            return self.remap(result)
        if isinstance(result, list):
            return [self.remap(v) if isinstance(v, BookingView) else v for v in result]
        return result


@profile
class StatusUnmapped(_StatusMap):
    name = "status-unmapped"
    summary = "GetBookingStatus reports CONFIRMED bookings as BOOKING_STATUS_UNSPECIFIED"
    mapping = {BookingStatus.CONFIRMED: BookingStatus.BOOKING_STATUS_UNSPECIFIED}


@profile
class StatusStaleCancel(_StatusMap):
    name = "status-stale-cancel"
    summary = "GetBookingStatus still reports a cancelled booking as CONFIRMED (a stale cache)"
    mapping = {BookingStatus.CANCELED: BookingStatus.CONFIRMED}


@profile
class AsyncStatusFailed(_StatusMap):
    name = "async-status-failed"
    summary = "GetBookingStatus reports a booking awaiting the merchant as FAILED"
    mapping = {BookingStatus.PENDING_MERCHANT_CONFIRMATION: BookingStatus.FAILED}


@profile
class ListCancelledAsConfirmed(_StatusMap):
    name = "list-cancelled-as-confirmed"
    summary = "ListBookings lists cancelled bookings with status CONFIRMED"
    default_methods = LIST
    mapping = {BookingStatus.CANCELED: BookingStatus.CONFIRMED}


@profile
class InvalidEnum(Fault):
    name = "invalid-enum"
    summary = 'GetBookingStatus answers prepayment_status "PAID", not a PrepaymentStatus value (REST only)'
    default_methods = STATUS
    transports: ClassVar[tuple[str, ...]] = ("rest",)

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if isinstance(result, BookingView):
            return replace(result, payment={"prepayment_status": "PAID"})
        return result


@profile
class ListEmpty(Fault):
    name = "list-empty"
    summary = "ListBookings answers an empty list for every user"
    default_methods = LIST

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        await call_next(request)
        return []


@profile
class ListLeaksUsers(_Domain):
    name = "list-leaks-users"
    summary = "ListBookings of a user with bookings also lists the bookings of other users"
    default_methods = LIST | CREATE

    def configure(self, args: str) -> None:
        super().configure(args)
        self.owners: dict[str, str] = {}  # booking_id -> user_id

    def applies(self, method: str) -> bool:
        return method == "CreateBooking" or super().applies(method)  # always learn the owners

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        result = await call_next(request)
        if method == "CreateBooking":
            if isinstance(result, BookingResult) and result.booking is not None:
                self.owners[result.booking.booking_id] = result.booking.user.user_id
            return result
        if not result:
            return result
        others = [self.booking(bid) for bid, uid in self.owners.items() if uid != request]
        return list(result) + [v for v in others if v is not None]


@profile
class UnknownUser500(Fault):
    name = "unknown-user-500"
    summary = "ListBookings of a user the server does not know answers HTTP 500 / INTERNAL"
    default_methods = LIST

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if request and not self.app.service.knows_user(request):
            raise AppError(ErrorCode.INTERNAL, "internal error: user lookup failed")
        return await call_next(request)


# ==========================================================================================================
# Idempotency tokens and the whole-booking UpdateBooking form (issue 11: §11 D24-D27)
# ==========================================================================================================


def _is_whole_form(request: UpdateBookingCommand) -> bool:
    """The whole booking sent back (D27): it names the slot's merchant or service, which the short form of
    §3.5 never needs to."""
    return request.merchant_id is not None or request.service_id is not None


@profile
class TokenOtherBodyBooks(_Tokens):
    name = "token-other-body-books"
    summary = (
        "a CreateBooking resent with a used idempotency_token but another slot, user or party size is "
        "booked as a new request (an identical resend is still answered from the token)"
    )

    def configure(self, args: str) -> None:
        super().configure(args)
        self.bodies: dict[str, tuple[Any, Any]] = {}

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not isinstance(request, CreateBookingCommand) or not request.idempotency_token:
            return await call_next(request)
        token = request.idempotency_token
        body = (request.slot, request.user.user_id if request.user else None)
        first = self.bodies.setdefault(token, body)
        if first != body:
            return await call_next(replace(request, idempotency_token=self.fresh(token)))
        return await call_next(request)


class _InFlight(_Domain):
    """Copies of a CreateBooking that arrive while the first of their token is in flight (held for a short
    window here, as a slow database write would) are answered with an error instead of being serialised."""

    default_methods = CREATE
    args_help = "[WINDOW] how long the first request of a token stays in flight (default 150ms)"
    window = 0.15

    def configure(self, args: str) -> None:
        super().configure(args)
        self.window = parse_duration(args, self.where()) if args else 0.15
        self.in_flight: set[str] = set()

    def busy(self, token: str) -> Any:
        raise AppError(ErrorCode.ABORTED, "a request with this idempotency_token is in progress")

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not isinstance(request, CreateBookingCommand) or not request.idempotency_token:
            return await call_next(request)
        token = request.idempotency_token
        if token in self.in_flight:
            return self.busy(token)
        self.in_flight.add(token)
        try:
            await self.plan.sleep(self.window)
            return await call_next(request)
        finally:
            self.in_flight.discard(token)


@profile
class InFlightConflict(_InFlight):
    name = "in-flight-conflict"
    summary = (
        "a copy of a CreateBooking whose first request is still in flight is answered 409 ABORTED; a "
        "resend after it finished gets the booking (transient, D25)"
    )


@profile
class InFlightNoConverge(_InFlight):
    name = "in-flight-no-converge"
    summary = (
        "a copy of a CreateBooking whose first request is still in flight is answered 503 UNAVAILABLE, "
        "and so is every later request under that token: resends never get the booking (D25)"
    )

    def configure(self, args: str) -> None:
        super().configure(args)
        self.poisoned: set[str] = set()

    def busy(self, token: str) -> Any:
        self.poisoned.add(token)
        raise AppError(ErrorCode.UNAVAILABLE, "the booking service is busy, try again")

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if isinstance(request, CreateBookingCommand) and request.idempotency_token in self.poisoned:
            return self.busy(request.idempotency_token)
        return await super().intercept(method, request, call_next)


class _ReplayAfterUpdate(_Tokens):
    """A token whose booking was changed since is processed as a new request (its record is dropped on
    the change); :meth:`changed` says which change."""

    def configure(self, args: str) -> None:
        super().configure(args)
        self.booked: dict[str, tuple[str, int]] = {}  # token -> (booking_id, start_sec when booked)

    def changed(self, now: BookingView, start_sec: int) -> bool:
        raise NotImplementedError

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not isinstance(request, CreateBookingCommand) or not request.idempotency_token:
            return await call_next(request)
        token = request.idempotency_token
        known = self.booked.get(token)
        view = self.booking(known[0]) if known else None
        if known is not None and view is not None and self.changed(view, known[1]):
            return await call_next(replace(request, idempotency_token=self.fresh(token)))
        result = await call_next(request)
        if known is None and isinstance(result, BookingResult) and result.booking is not None:
            self.booked[token] = (result.booking.booking_id, result.booking.slot.start_sec)
        return result


@profile
class ReplayAfterCancelBooks(_ReplayAfterUpdate):
    name = "replay-after-cancel-books"
    summary = "a CreateBooking token resent after its booking was cancelled books again (D26)"

    def changed(self, now: BookingView, start_sec: int) -> bool:
        return now.status is BookingStatus.CANCELED


@profile
class ReplayAfterRescheduleBooks(_ReplayAfterUpdate):
    name = "replay-after-reschedule-books"
    summary = (
        "a CreateBooking token resent after its booking was rescheduled books its first slot again (D26)"
    )

    def changed(self, now: BookingView, start_sec: int) -> bool:
        return now.status is not BookingStatus.CANCELED and now.slot.start_sec != start_sec


@profile
class WholeCancelIgnored(_Cancel):
    name = "whole-cancel-ignored"
    summary = (
        "an UpdateBooking that sends the whole booking back with status CANCELED is answered with the "
        "booking unchanged (only the short form cancels, D27)"
    )

    def wants(self, intent: UpdateIntent) -> bool:
        return intent.is_cancel and intent.names_slot

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        if not _is_whole_form(request):
            return await call_next(request)
        return BookingResult(booking=before)


@profile
class WholeRescheduleRefused(_Modify):
    name = "whole-reschedule-refused"
    summary = (
        "an UpdateBooking that sends the whole booking back (status CONFIRMED, a new start) is refused "
        "with 400: the status field is taken as a forbidden status change (D27)"
    )

    def wants(self, intent: UpdateIntent) -> bool:
        return intent.reschedule

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        if request.status is None or not _is_whole_form(request):
            return await call_next(request)
        raise AppError(ErrorCode.INVALID_ARGUMENT, "booking.status: cannot be set on a reschedule")


@profile
class WholePartySizeIgnored(_Modify):
    name = "whole-party-size-ignored"
    summary = (
        "an UpdateBooking that sends the whole booking back with a new party_size is answered with the "
        "booking unchanged (D27)"
    )

    def wants(self, intent: UpdateIntent) -> bool:
        return intent.party_size_change and not intent.reschedule

    async def change(
        self, request: UpdateBookingCommand, before: BookingView, intent: UpdateIntent, call_next: Handler
    ) -> Any:
        if not _is_whole_form(request):
            return await call_next(request)
        return BookingResult(booking=before)
