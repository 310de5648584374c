"""The reference model of an explored example: bookcheck's own domain core, run beside the target.

This is the only place (with the rest of ``harness/explore``) where the harness imports
``mock_server.domain``, and only the pure core: :class:`BookingService` over an :class:`Inventory` holding
exactly the example's slots, with the real clock (the target lives in real time too) and sequential ids.
No adapter, no fault hook, no server option is involved: the model is the spec's behaviour (§3, §11
column 2), and where §11 column 3 allows several answers the judge accepts any of them and makes the model
*follow* the one the target took:

* D10 (same user, same slot, new token): the model runs with ``same_user_rebook="allow"``; when the target
  refuses instead, the judge simply does not apply the booking to the model.
* Leases: the model's longest hold is unbounded and each lease is asked for with the expiry the target
  returned, so both expire at the same moment.
* Asynchronous slots (D18): the model never confirms on its own; the judge accepts CONFIRMED or
  DECLINED_BY_MERCHANT once the target reports it, and a decline frees the model's spot.

The model also keeps the bookkeeping the judge needs to name the rule a divergence breaks: the history of
each slot (what took and what released its spots) and the mapping between model and target ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from booking_protocol.feed import FeedSlot
from harness.explore.ops import ROLE_UNKNOWN
from harness.explore.world import World
from mock_server.domain import (
    BookingResult,
    BookingService,
    BookingStatus,
    BookingView,
    ConfirmationMode,
    CreateBookingCommand,
    CreateLeaseCommand,
    DomainConfig,
    Inventory,
    InventorySlot,
    LeaseResult,
    SequentialIds,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
)

#: "Never" for the model's own timers: leases expire when the target said, async bookings when it says.
FOREVER_SEC = 10**9


@dataclass
class Booked:
    """One booking as both sides know it."""

    model_id: str
    target_id: str
    token: int
    user: int
    step: int  # the step that created it (for reproducers)
    declined: bool = False
    confirmed: bool = False  # an async booking the target reported CONFIRMED
    updated_step: int = -1  # the step of its latest accepted cancel or move (for D26 reproducers)


@dataclass
class Leased:
    model_id: str
    target_id: str
    role: int
    step: int
    #: the expiry the target answered (0: none), which the model's lease follows
    expires_sec: int = 0


#: SlotLog.last -> the rule a refusal after that event breaks
FREED_BY = {
    "replay": "create-booking/idempotent-capacity",
    "move-out": "update-booking/reschedule-frees-old",
    "cancel": "update-booking/cancel-frees-spot",
}


@dataclass
class SlotLog:
    """What happened to one slot role during the example (for naming the broken rule)."""

    released: bool = False  # a cancel, reschedule away or decline gave a spot back
    moved_out: bool = False  # ... and it was a reschedule or party-size change
    replayed: bool = False  # a CreateBooking was resent on it
    leased: bool = False
    moved_in: bool = False  # a reschedule or party-size change took a spot here
    booked: int = 0
    #: the latest of "cancel", "move-out", "replay" (what most recently should have changed capacity)
    last: str = ""


@dataclass
class ModelState:
    """The domain service of one example and the bookkeeping around it."""

    world: World
    service: BookingService
    slots: dict[int, InventorySlot]
    bookings: list[Booked] = field(default_factory=list)
    by_token: dict[int, Booked] = field(default_factory=dict)
    #: token -> (role, user, lease step or -1) of the request that made its booking
    first_body: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    failed_tokens: set[int] = field(default_factory=set)
    leases: dict[int, Leased] = field(default_factory=dict)
    log: dict[int, SlotLog] = field(default_factory=dict)
    target_ids: set[str] = field(default_factory=set)

    # -- lookups ----------------------------------------------------------------------------------------

    def booking(self, index: int) -> Booked | None:
        return self.bookings[index % len(self.bookings)] if self.bookings else None

    def lease(self, index: int) -> Leased | None:
        """The (index mod n)-th lease granted in this history (like :meth:`booking`: any index resolves once
        there is a lease, so shrinking the index keeps the operation meaningful)."""
        granted = list(self.leases.values())
        return granted[index % len(granted)] if granted else None

    def view(self, b: Booked) -> BookingView:
        return self.service.get_booking(b.model_id)

    def role_of(self, slot: InventorySlot) -> int:
        return next((r for r, s in self.slots.items() if s is slot), ROLE_UNKNOWN)

    def slot_log(self, role: int) -> SlotLog:
        return self.log.setdefault(role, SlotLog())

    def freed_by(self, role: int) -> str | None:
        """The rule of the event that most recently should have left a spot open on ``role`` (a resend that
        must not take one, a move away, a cancel): it explains a refusal there best. None: no such event."""
        return FREED_BY.get(self.slot_log(role).last)

    def user_info(self, user: int) -> UserInfo:
        u = self.world.user(user)
        return UserInfo(
            user_id=u["user_id"],
            given_name=u.get("given_name", ""),
            family_name=u.get("family_name", ""),
            telephone=u.get("telephone", ""),
            email=u.get("email", ""),
        )

    def query(self, role: int) -> SlotQuery:
        s = self.world.main if role == ROLE_UNKNOWN else self.world.slots[role]
        start = self.world.unknown_start if role == ROLE_UNKNOWN else s.start_sec
        return SlotQuery(
            merchant_id=s.merchant_id,
            service_id=s.service_id,
            start_sec=start,
            duration_sec=s.duration_sec,
            availability_tag=s.availability_tag,
            staff_id=s.staff_id,
            room_id=s.room_id,
            party_size=s.party_size,
        )

    def holds_live(self, user: int, role: int) -> Booked | None:
        """D10: a live booking of ``user`` on the slot of ``role`` (the earlier booking a new token must
        never get back)."""
        slot = self.slots.get(role)
        for b in self.bookings:
            v = self.view(b)
            if b.user == user and v.slot is slot and not _released(v, b):
                return b
        return None

    # -- commands (the model's side of each step) -------------------------------------------------------

    def create_booking(self, role: int, user: int, token: int, lease: Leased | None = None) -> BookingResult:
        q = self.query(role)
        cmd = CreateBookingCommand(
            slot=q,
            user=self.user_info(user),
            idempotency_token=self.world.token(token),
            lease_id=lease.model_id if lease is not None else None,
        )
        return self.service.create_booking(cmd)

    def create_lease(self, role: int, ref: int, expires_sec: int | None) -> LeaseResult:
        cmd = CreateLeaseCommand(self.query(role), self.world.lease_ref(ref), expires_sec)
        return self.service.create_lease(cmd)

    def update(self, b: Booked, **changes: Any) -> BookingResult:
        return self.service.update_booking(UpdateBookingCommand(booking_id=b.model_id, **changes))


def _released(v: BookingView, b: Booked) -> bool:
    return b.declined or v.status in (
        BookingStatus.CANCELED,
        BookingStatus.DECLINED_BY_MERCHANT,
        BookingStatus.FAILED,
    )


def build_model(world: World, clock: Callable[[], float] = time.time) -> ModelState:
    """A fresh domain service whose inventory is exactly the example's slots."""
    inventory = Inventory()
    slots: dict[int, InventorySlot] = {}
    for role, s in sorted(world.slots.items()):
        slots[role] = _add(inventory, s)
    inventory.done_loading()
    config = DomainConfig(
        lease_ttl_sec=FOREVER_SEC,
        async_confirm_after_sec=float(FOREVER_SEC),
        same_user_rebook="allow",
        recancel="failure",
        invalid_slot="unavailable",
        list_bookings="all",
    )
    service = BookingService(
        inventory,
        config=config,
        clock=clock,
        booking_ids=SequentialIds("model-b"),
        lease_ids=SequentialIds("model-l"),
    )
    return ModelState(world=world, service=service, slots=slots)


def _add(inventory: Inventory, s: FeedSlot) -> InventorySlot:
    return inventory.add(
        s.merchant_id,
        s.service_id,
        s.start_sec,
        s.duration_sec,
        spots_total=s.spots_total,
        spots_open=s.spots_open,
        availability_tag=s.availability_tag,
        staff_id=s.staff_id,
        room_id=s.room_id,
        party_size=s.party_size,
        confirmation_mode=ConfirmationMode[s.confirmation_mode],
    )
