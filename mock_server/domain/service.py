"""BookingService: the reference server's whole behaviour, transport-free and thread-safe.

API (all methods are synchronous, cheap, and safe to call from any thread; one lock guards all state):

==============================================  =============================================================
``batch_availability(queries) -> list[bool]``   one answer per query, in order (D3, D4); unknown → False
``check_availability(query) -> int``            open spots over all matching slots; unknown merchant
                                                or service → :class:`InvalidArgument`
``create_lease(CreateLeaseCommand)``            :class:`LeaseResult` (D1, D23)
``create_booking(CreateBookingCommand)``        :class:`BookingResult` (§3.2, §3.3, D9–D11, D18, D32–D53)
``update_booking(UpdateBookingCommand)``        :class:`BookingResult`: cancel (D8, D21, D40, D45) or
                                                modify (D22, D54)
``get_booking(booking_id) -> BookingView``      :class:`NotFound` for an unknown id (D5)
``list_bookings(user_id) -> list[BookingView]`` D7 (all, or active future ones); unknown user → ``[]``
``knows_user(user_id) -> bool``                 for the "unknown user → 404" option (D6)
``ledger(merchant_id=None) -> list[dict]``      the simulated processor's entries (D52); ``[]`` without
                                                a catalogue
``seed_user_payment_option(user, merchant,      a fixture's pack or membership (D42); returns the
payment_option_id, ...) -> dict``               UserPaymentOption
``user_payment_options(user_id=None)``          snapshots of the users' packs and memberships
==============================================  =============================================================

With a non-empty ``DomainConfig.catalogue`` CreateBooking also runs the offer and payment steps of D52 after
the slot and same-user checks (:mod:`.payments`), and cancel/reschedule refund, credit or refuse per D40,
D45 and D54; without one, payment information is echoed and nothing is charged.

Time is read from an injectable clock (``() -> float`` epoch seconds), and everything that "happens later"
is computed from it when the next call arrives — no background tasks: every call first *settles* the
state, i.e. expires the leases whose time has come (their spot goes back to the slot) and gives due
asynchronous bookings their final status (CONFIRMED, or DECLINED_BY_MERCHANT which frees the spot). Two
small heaps ordered by due time make that O(1) when nothing is due.

Slots that have started (``start_sec <= now``) are never bookable: BAL says false, CheckAvailability
counts 0, CreateBooking/CreateLease/reschedule fail with SLOT_UNAVAILABLE.

Capacity invariant: ``0 <= slot.spots_open`` always; a spot is taken only under the lock after checking it
is open, and given back exactly once (cancel, decline, expired unused lease, or the old slot of a move).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

from .clocks import Clock, FakeClock, IdGenerator, SequentialIds, ShiftedClock, default_ids
from .config import DomainConfig
from .inventory import Inventory
from .model import (
    RELEASED_STATUSES,
    Booking,
    BookingResult,
    BookingStatus,
    BookingView,
    CreateBookingCommand,
    CreateLeaseCommand,
    Failure,
    FailureCause,
    InvalidArgument,
    InventorySlot,
    Lease,
    LeaseResult,
    NotFound,
    SlotQuery,
    UpdateBookingCommand,
)
from .payments import Payments, Plan
from .records import State, UserIndex, fail, lease_view, no_spot, require_slot, view_of
from .updates import UpdateKind, classify_update, target_key

__all__ = [
    "BookingService",
    "Clock",
    "DomainConfig",
    "FakeClock",
    "IdGenerator",
    "SequentialIds",
    "ShiftedClock",
    "default_ids",
]


class BookingService:
    def __init__(
        self,
        inventory: Inventory,
        *,
        config: DomainConfig | None = None,
        clock: Clock | None = None,
        booking_ids: IdGenerator | None = None,
        lease_ids: IdGenerator | None = None,
    ) -> None:
        self.inventory = inventory
        self.config = config or DomainConfig()
        self.clock: Clock = clock or time.time
        self._booking_ids = booking_ids or default_ids("b")
        self._lease_ids = lease_ids or default_ids("lease")
        self._lock = threading.Lock()
        self._s = State()
        self._seq = itertools.count().__next__
        catalogue = self.config.catalogue
        #: the money side (D32–D54); None: payment information is echoed and nothing charged
        self.payments = (
            Payments(catalogue, self.config.refund_policy)
            if catalogue is not None and not catalogue.empty
            else None
        )
        self._outcome = (
            BookingStatus.DECLINED_BY_MERCHANT
            if self.config.async_outcome == "declined"
            else BookingStatus.CONFIRMED
        )

    # -- time ---------------------------------------------------------------------------------------------

    def _settle(self, now: float) -> None:
        """Apply every expiry and asynchronous outcome that is due (call with the lock held)."""
        due = self._s.lease_due
        while due and due[0][0] <= now:
            lease = heapq.heappop(due)[2]
            if not lease.used_by and not lease.released:
                lease.released = True
                lease.slot.spots_open += 1
        pending = self._s.pending
        while pending and pending[0][0] <= now:
            b = heapq.heappop(pending)[2]
            if b.status is BookingStatus.PENDING_MERCHANT_CONFIRMATION:
                if self._outcome in RELEASED_STATUSES:
                    self._release(b)
                b.status = self._outcome

    def _release(self, b: Booking) -> None:
        """Give a live booking's spot back (the caller then sets its released status)."""
        b.slot.spots_open += 1
        self._s.by_user[b.user.user_id].count(b.slot, -1)

    # -- availability -------------------------------------------------------------------------------------

    def batch_availability(self, queries: Sequence[SlotQuery]) -> list[bool]:
        """Whether each query's slot has an open spot now. Missing service_id/start_sec → InvalidArgument."""
        for i, q in enumerate(queries):
            if not q.merchant_id:
                raise InvalidArgument("merchant_id", "is required")
            if not q.service_id:
                raise InvalidArgument(f"slot_time[{i}].service_id", "is required")
            if q.start_sec is None:
                raise InvalidArgument(f"slot_time[{i}].start_sec", "is required")
        inv = self.inventory
        with self._lock:
            now = self.clock()
            self._settle(now)
            return inv.open_many(list(queries), now)

    def check_availability(self, query: SlotQuery | None) -> int:
        q = require_slot(query, "slot", need_duration=False)
        self._check_known(q, "slot")
        with self._lock:
            now = self.clock()
            self._settle(now)
            return sum(s.spots_open for s in self.inventory.candidates(q) if s.start_sec > now)

    def _check_known(self, q: SlotQuery, where: str) -> None:
        if not self.inventory.has_merchant(q.merchant_id or ""):
            raise InvalidArgument(f"{where}.merchant_id", f"unknown merchant {q.merchant_id!r}")
        if not self.inventory.has_service(q.merchant_id or "", q.service_id or ""):
            raise InvalidArgument(
                f"{where}.service_id", f"unknown service {q.service_id!r} of merchant {q.merchant_id!r}"
            )

    def _no_such_slot(self, where: str) -> Failure:
        """D9: a known service without the requested slot (SLOT_UNAVAILABLE, or 400 by option)."""
        if self.config.invalid_slot == "400":
            raise InvalidArgument(where, "no such slot in the inventory")
        return Failure(FailureCause.SLOT_UNAVAILABLE, "no such slot in the inventory")

    # -- leases -------------------------------------------------------------------------------------------

    def create_lease(self, cmd: CreateLeaseCommand) -> LeaseResult:
        """Hold one spot until the (possibly shortened) expiry. ``user_reference`` is the idempotency key."""
        q = require_slot(cmd.slot, "lease.slot", need_duration=False)
        if not cmd.user_reference:
            raise InvalidArgument("lease.user_reference", "is required")
        self._check_known(q, "lease.slot")
        with self._lock:
            now = self.clock()
            self._settle(now)
            known = self._s.leases_by_ref.get(cmd.user_reference)
            if known is not None:
                return LeaseResult(lease=lease_view(known))
            if cmd.expires_sec and cmd.expires_sec <= now:  # a hold that ends before it starts (issue 16)
                raise InvalidArgument(
                    "lease.lease_expiration_time_sec",
                    f"{cmd.expires_sec} is already past (now is {int(now)})",
                )
            cands = self.inventory.candidates(q)
            if not cands:
                return LeaseResult(failure=self._no_such_slot("lease.slot"))
            slot = next((s for s in cands if s.spots_open > 0 and s.start_sec > now), None)
            if slot is None:
                return LeaseResult(failure=no_spot(cands, now))
            longest = int(now) + self.config.lease_ttl_sec
            expires = cmd.expires_sec if cmd.expires_sec and cmd.expires_sec < longest else longest
            lease = Lease(self._lease_ids(), slot, cmd.user_reference, expires)
            slot.spots_open -= 1
            self._s.leases[lease.lease_id] = lease
            self._s.leases_by_ref[lease.user_reference] = lease
            heapq.heappush(self._s.lease_due, (expires, self._seq(), lease))
            return LeaseResult(lease=lease_view(lease))

    # -- bookings -----------------------------------------------------------------------------------------

    def create_booking(self, cmd: CreateBookingCommand) -> BookingResult:
        q = require_slot(cmd.slot, "slot", need_duration=True)
        if cmd.user is None:
            raise InvalidArgument("user_information", "is required")
        if not cmd.user.user_id:
            raise InvalidArgument("user_information.user_id", "is required")
        if not cmd.idempotency_token:
            raise InvalidArgument("idempotency_token", "is required")
        self._check_known(q, "slot")
        s = self._s
        with self._lock:
            now = self.clock()
            self._settle(now)
            replay = s.by_token.get(cmd.idempotency_token)
            if replay is not None:  # §3.2: the same response; capacity is used once
                return self._replay(replay, cmd, q)
            cands = self.inventory.candidates(q)
            if not cands:
                return BookingResult(failure=self._no_such_slot("slot"))
            lease: Lease | None = None
            if cmd.lease_id:
                lease = s.leases.get(cmd.lease_id)
                if lease is None:
                    raise NotFound("lease", cmd.lease_id)
                if lease.used_by:
                    return fail(
                        FailureCause.LEASE_EXPIRED, f"the lease was already used by booking {lease.used_by}"
                    )
                if lease.expires_sec <= now:
                    return fail(FailureCause.LEASE_EXPIRED, "the lease has expired")
                if not any(c is lease.slot for c in cands):
                    return fail(FailureCause.SLOT_UNAVAILABLE, "the slot does not match the lease's slot")
            dup = self._same_user_failure(cmd.user.user_id, cands)
            if dup is not None:
                return BookingResult(failure=dup)
            slot = lease.slot if lease is not None else self._open_slot(cands, now)
            if slot is None:
                return BookingResult(failure=no_spot(cands, now))
            plan = self._plan_payment(cmd, slot, now)
            if isinstance(plan, Failure):  # D53: nothing taken, charged or stored so far
                return BookingResult(failure=plan)
            return self._commit(cmd, slot, lease, plan, now)

    @staticmethod
    def _open_slot(cands: list[InventorySlot], now: float) -> InventorySlot | None:
        return next((c for c in cands if c.spots_open > 0 and c.start_sec > now), None)

    def _plan_payment(
        self, cmd: CreateBookingCommand, slot: InventorySlot, now: float
    ) -> Plan | Failure | None:
        """The offer and payment steps of D52 (None: no catalogue, payment information is echoed)."""
        if self.payments is None:
            return None
        user_id = cmd.user.user_id if cmd.user is not None else ""
        idx = self._s.by_user.get(user_id)
        buying = bool(cmd.payment and cmd.payment.get("payment_option_id"))  # only a purchase asks (D44)
        known = (
            buying and idx is not None and any(b.slot.merchant_id == slot.merchant_id for b in idx.bookings)
        )
        return self.payments.plan(cmd, slot, user_id, now, known_to_merchant=known)

    def _commit(
        self,
        cmd: CreateBookingCommand,
        slot: InventorySlot,
        lease: Lease | None,
        plan: Plan | None,
        now: float,
    ) -> BookingResult:
        """Take the spot, store the booking under its token, and settle its payment (all or nothing)."""
        s = self._s
        assert cmd.user is not None and cmd.idempotency_token
        if lease is None:
            slot.spots_open -= 1
        user = s.users.setdefault(cmd.user, cmd.user)
        status = BookingStatus.PENDING_MERCHANT_CONFIRMATION if slot.is_async else BookingStatus.CONFIRMED
        b = Booking(self._booking_ids(), slot, user, status, cmd.payment or None, cmd.offer_id)
        option = (
            self.payments.commit(plan, b, now) if plan is not None and self.payments is not None else None
        )
        if lease is not None:
            lease.used_by = b.booking_id
        s.bookings[b.booking_id] = b
        s.by_token[cmd.idempotency_token] = b
        s.first_views[cmd.idempotency_token] = view_of(b)
        if option is not None:
            s.first_options[cmd.idempotency_token] = option
        idx = s.by_user.get(user.user_id)
        if idx is None:
            idx = s.by_user[user.user_id] = UserIndex()
        idx.bookings.append(b)
        idx.count(slot, +1)
        if slot.is_async:
            heapq.heappush(s.pending, (now + self.config.async_confirm_after_sec, self._seq(), b))
        return BookingResult(booking=view_of(b), user_payment_option=option)

    def _replay(self, b: Booking, cmd: CreateBookingCommand, q: SlotQuery) -> BookingResult:
        """The answer to a token already used (§3.2): its booking, now (D26 column 2) or as first answered
        (``replay_state="original"``); a request that differs from the first (another slot, user or party
        size, D24) gets the booking too, or 400 with ``token_reuse="refuse"``."""
        token = cmd.idempotency_token or ""
        if self.config.token_reuse == "refuse":
            same_user = cmd.user is not None and cmd.user.user_id == b.user.user_id
            first = self._s.first_views[token].slot
            if not same_user or not any(c is first for c in self.inventory.candidates(q)):
                raise InvalidArgument("idempotency_token", "was already used for a different request")
        if self.config.replay_state == "original":
            return BookingResult(
                booking=self._s.first_views[token], user_payment_option=self._s.first_options.get(token)
            )
        option = self.payments.current_option(b) if self.payments is not None else None
        return BookingResult(booking=view_of(b), user_payment_option=option)

    def _same_user_failure(self, user_id: str, cands: list[InventorySlot]) -> Failure | None:
        """D10: a live booking of this user on the same slot (reject / overlapping / allow)."""
        mode = self.config.same_user_rebook
        idx = self._s.by_user.get(user_id)
        if mode == "allow" or idx is None or not any(c in idx.live for c in cands):
            return None
        held = next(b for b in idx.bookings if b.status not in RELEASED_STATUSES and b.slot in cands)
        why = f"the user already holds booking {held.booking_id} for this slot"
        if mode == "overlapping":
            return Failure(FailureCause.OVERLAPPING_RESERVATION, why)
        return Failure(FailureCause.SLOT_ALREADY_BOOKED_BY_USER, why)

    def update_booking(self, cmd: UpdateBookingCommand) -> BookingResult:
        if not cmd.booking_id:
            raise InvalidArgument("booking.booking_id", "is required")
        with self._lock:
            now = self.clock()
            self._settle(now)
            b = self._s.bookings.get(cmd.booking_id)
            if b is None:
                raise NotFound("booking", cmd.booking_id)
            intent = classify_update(cmd, b.slot, b.status)  # D27: short and whole-booking forms alike
            if intent.is_cancel:
                if intent.changes_slot:
                    raise InvalidArgument("booking", "give either status CANCELED or a new slot, not both")
                return self._cancel(b, now)
            if intent.is_modify:
                return self._modify(b, cmd, now)
            if intent.kind is UpdateKind.BAD_STATUS and cmd.status is not None:
                raise InvalidArgument("booking.status", f"cannot set status {cmd.status.name}; only CANCELED")
            if intent.kind is UpdateKind.EMPTY:
                raise InvalidArgument(
                    "booking",
                    "nothing to update: give status CANCELED, or slot.start_sec/"
                    "slot.duration_sec, or slot.resources.party_size",
                )
            return BookingResult(booking=view_of(b))

    def _cancel(self, b: Booking, now: float) -> BookingResult:
        if b.status is BookingStatus.CANCELED:
            if self.config.recancel == "echo":
                return BookingResult(booking=view_of(b))
            return fail(FailureCause.BOOKING_ALREADY_CANCELLED, "the booking is already cancelled")
        if b.status in RELEASED_STATUSES:
            return fail(FailureCause.BOOKING_NOT_CANCELLABLE, f"the booking is {b.status.name}")
        if now >= b.slot.start_sec - self.config.cancel_cutoff_sec:
            return fail(
                FailureCause.OUTSIDE_CANCELLATION_WINDOW,
                f"cancellations close {self.config.cancel_cutoff_sec} s before the slot starts",
            )
        self._release(b)
        b.status = BookingStatus.CANCELED
        option = self.payments.on_cancel(b, now) if self.payments is not None else None
        return BookingResult(booking=view_of(b), user_payment_option=option)

    def _modify(self, b: Booking, cmd: UpdateBookingCommand, now: float) -> BookingResult:
        """D22: reschedule and/or party-size change within the same merchant, service and staff/room."""
        old = b.slot
        for name, given, have in (
            ("merchant_id", cmd.merchant_id, old.merchant_id),
            ("service_id", cmd.service_id, old.service_id),
            ("resources.staff_id", cmd.staff_id, old.staff_id),
            ("resources.room_id", cmd.room_id, old.room_id),
        ):
            if given and given != have:
                raise InvalidArgument(f"booking.slot.{name}", f"cannot be changed (the booking has {have!r})")
        if b.status is BookingStatus.CANCELED:
            return fail(FailureCause.BOOKING_ALREADY_CANCELLED, "a cancelled booking cannot be modified")
        if b.status in RELEASED_STATUSES:
            return fail(FailureCause.SLOT_UNAVAILABLE, f"a {b.status.name} booking cannot be modified")
        key = self._target_key(b, cmd)
        if key == old.key:
            return BookingResult(booking=view_of(b))  # a repeated modify has no further effect
        new = self.inventory.exact(key)
        if new is None:
            return BookingResult(failure=self._no_such_slot("booking.slot"))
        if new.start_sec <= now:
            return fail(FailureCause.SLOT_UNAVAILABLE, "the new slot has already started")
        if new.spots_open <= 0:
            return fail(FailureCause.SLOT_UNAVAILABLE, "the new slot has no spot left")
        if self.payments is not None:
            differs = self.payments.reschedule_failure(b, new)
            if differs is not None:
                return BookingResult(failure=differs)
        new.spots_open -= 1
        old.spots_open += 1
        idx = self._s.by_user[b.user.user_id]
        idx.count(old, -1)
        idx.count(new, +1)
        b.slot = new
        return BookingResult(booking=view_of(b))

    @staticmethod
    def _target_key(b: Booking, cmd: UpdateBookingCommand) -> tuple[str, str, int, int, str, str, int]:
        return target_key(cmd, b.slot)

    # -- reads --------------------------------------------------------------------------------------------

    def get_booking(self, booking_id: str | None) -> BookingView:
        if not booking_id:
            raise InvalidArgument("booking_id", "is required")
        with self._lock:
            self._settle(self.clock())
            b = self._s.bookings.get(booking_id)
            if b is None:
                raise NotFound("booking", booking_id)
            return view_of(b)

    def list_bookings(self, user_id: str | None) -> list[BookingView]:
        """D7: the user's bookings in creation order (all, or only live future ones by option)."""
        if not user_id:
            raise InvalidArgument("user_id", "is required")
        with self._lock:
            now = self.clock()
            self._settle(now)
            idx = self._s.by_user.get(user_id)
            mine = idx.bookings if idx is not None else []
            if self.config.list_bookings == "active":
                return [
                    view_of(b) for b in mine if b.status not in RELEASED_STATUSES and b.slot.start_sec > now
                ]
            return [view_of(b) for b in mine]

    def knows_user(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._s.by_user

    # -- the simulated payment processor (D42, D52) ---------------------------------------------------------

    def ledger(self, merchant_id: str | None = None) -> list[dict[str, Any]]:
        """D52: the processor's entries (one merchant's, or all), oldest first; ``[]`` without a catalogue.

        Entry: ``{id, kind: charge|hold|card_on_file|refund|void, merchant_id, amount_micros, currency,
        booking_id, token_fingerprint, at}`` (``at``: the service clock, epoch seconds)."""
        with self._lock:
            return self.payments.processor.ledger(merchant_id) if self.payments is not None else []

    def seed_user_payment_option(
        self,
        user_id: str,
        merchant_id: str,
        payment_option_id: str,
        *,
        user_payment_option_id: str = "",
        current_count: int | None = None,
        valid_start_sec: int | None = None,
        valid_end_sec: int | None = None,
    ) -> dict[str, Any]:
        """Give a user a pack or membership of the merchant feed (a fixture, D42) and return the
        UserPaymentOption. Defaults: a derived ``bc_upo_`` id, full count, validity as if bought now.
        The purchase id it reports when used is derived from the option id (no ledger entry: nothing was
        charged by this server). Unknown option or no catalogue → :class:`InvalidArgument`."""
        if self.payments is None:
            raise InvalidArgument(
                "payment_option_id", "this server has no merchant feed with payment options"
            )
        with self._lock:
            return self.payments.seed(
                user_id,
                merchant_id,
                payment_option_id,
                self.clock(),
                upo_id=user_payment_option_id,
                current_count=current_count,
                window=(valid_start_sec, valid_end_sec),
            )

    def user_payment_options(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Snapshots of a user's packs and memberships (or everyone's), each with its ``user_id``."""
        with self._lock:
            return self.payments.packs.of_user(user_id) if self.payments is not None else []

    @property
    def booking_count(self) -> int:
        return len(self._s.bookings)
