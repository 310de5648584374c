"""The booking service's stored state and the small helpers that build its answers (no behaviour)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import (
    Booking,
    BookingResult,
    BookingView,
    Failure,
    FailureCause,
    InvalidArgument,
    InventorySlot,
    Lease,
    LeaseView,
    SlotQuery,
    UserInfo,
)


@dataclass(slots=True)
class UserIndex:
    """A user's bookings in creation order, and how many live bookings they hold per slot (for D10)."""

    bookings: list[Booking] = field(default_factory=list)
    live: dict[InventorySlot, int] = field(default_factory=dict)

    def count(self, slot: InventorySlot, delta: int) -> None:
        n = self.live.get(slot, 0) + delta
        if n > 0:
            self.live[slot] = n
        else:
            self.live.pop(slot, None)


@dataclass(slots=True)
class State:
    bookings: dict[str, Booking] = field(default_factory=dict)
    by_token: dict[str, Booking] = field(default_factory=dict)
    first_views: dict[str, BookingView] = field(default_factory=dict)  # by token, as first answered (D26)
    first_options: dict[str, Mapping[str, Any]] = field(
        default_factory=dict
    )  # by token: its UserPaymentOption
    by_user: dict[str, UserIndex] = field(default_factory=dict)
    users: dict[UserInfo, UserInfo] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    leases_by_ref: dict[str, Lease] = field(default_factory=dict)
    pending: list[tuple[float, int, Booking]] = field(default_factory=list)
    lease_due: list[tuple[float, int, Lease]] = field(default_factory=list)


def view_of(b: Booking) -> BookingView:
    return BookingView(b.booking_id, b.slot, b.user, b.status, b.payment, b.offer_id, b.virtual_session)


def lease_view(lease: Lease) -> LeaseView:
    return LeaseView(lease.lease_id, lease.slot, lease.user_reference, lease.expires_sec)


def fail(cause: FailureCause, description: str) -> BookingResult:
    return BookingResult(failure=Failure(cause, description))


def no_spot(cands: list[InventorySlot], now: float) -> Failure:
    if all(c.start_sec <= now for c in cands):
        return Failure(FailureCause.SLOT_UNAVAILABLE, "the slot has already started")
    return Failure(FailureCause.SLOT_UNAVAILABLE, "no spot left")


def require_slot(q: SlotQuery | None, where: str, *, need_duration: bool) -> SlotQuery:
    if q is None:
        raise InvalidArgument(where, "is required")
    if not q.merchant_id:
        raise InvalidArgument(f"{where}.merchant_id", "is required")
    if not q.service_id:
        raise InvalidArgument(f"{where}.service_id", "is required")
    if q.start_sec is None:
        raise InvalidArgument(f"{where}.start_sec", "is required")
    if need_duration and q.duration_sec is None:
        raise InvalidArgument(f"{where}.duration_sec", "is required")
    return q
