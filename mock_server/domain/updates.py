"""What an UpdateBooking asks for (§11 D27): the one classification the service and every fault profile use.

A client may send the short form (``booking_id`` plus only the fields that change) or the whole booking sent
back with some fields changed (Google's older FAQ). Both mean the same thing once every field equal to the
stored booking is ignored:

- ``status: CANCELED`` → a cancel (a repeated cancel is still a cancel: the service decides its answer);
- a ``start_sec`` or ``duration_sec`` different from the stored slot → a reschedule;
- a ``party_size`` different from the stored slot → a party-size change (both may come together);
- fields named but all equal to the stored booking → a no-op (e.g. a repeated reschedule, or the whole
  booking sent back unchanged);
- nothing named at all → an empty request; only a status, other than CANCELED and the stored one → a status
  change the API does not offer (both invalid).

Pure: it reads the command and the stored slot and status, and never the inventory or the clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .model import BookingStatus, InventorySlot, UpdateBookingCommand

SlotKey = tuple[str, str, int, int, str, str, int]


class UpdateKind(enum.Enum):
    CANCEL = "cancel"
    MODIFY = "modify"  # a reschedule and/or a party-size change
    NO_OP = "no-op"
    EMPTY = "empty"  # names nothing to update
    BAD_STATUS = "bad-status"  # only a status, neither CANCELED nor the stored one


@dataclass(frozen=True, slots=True)
class UpdateIntent:
    """The classification of one UpdateBooking against the stored booking."""

    kind: UpdateKind
    #: the slot key the booking would be on afterwards (the stored key when nothing moves it)
    target: SlotKey
    #: start_sec or duration_sec differs from the stored slot
    reschedule: bool = False
    #: party_size differs from the stored slot
    party_size_change: bool = False
    #: the request names a start, duration or party size at all (equal to the stored ones or not)
    names_slot: bool = False

    @property
    def changes_slot(self) -> bool:
        return self.reschedule or self.party_size_change

    @property
    def is_cancel(self) -> bool:
        return self.kind is UpdateKind.CANCEL

    @property
    def is_modify(self) -> bool:
        """A reschedule or party-size change, or its repetition (a no-op naming slot fields, which the
        service checks like a modify: D22)."""
        return self.kind is UpdateKind.MODIFY or (self.kind is UpdateKind.NO_OP and self.names_slot)


def target_key(cmd: UpdateBookingCommand, stored: InventorySlot) -> SlotKey:
    """The §8 key of the slot the command moves the booking to (D22: merchant, service, staff, room stay)."""
    return (
        stored.merchant_id,
        stored.service_id,
        stored.start_sec if cmd.start_sec is None else cmd.start_sec,
        stored.duration_sec if cmd.duration_sec is None else cmd.duration_sec,
        stored.staff_id,
        stored.room_id,
        stored.party_size if cmd.party_size is None else cmd.party_size,
    )


def classify_update(cmd: UpdateBookingCommand, stored: InventorySlot, status: BookingStatus) -> UpdateIntent:
    """Classify ``cmd`` against the booking stored on slot ``stored`` with status ``status`` (D27)."""
    target = target_key(cmd, stored)
    reschedule = target[2:4] != stored.key[2:4]
    party = target[6] != stored.party_size
    named = cmd.modifies_slot
    if cmd.status is BookingStatus.CANCELED:
        kind = UpdateKind.CANCEL
    elif reschedule or party:
        kind = UpdateKind.MODIFY
    elif not named and cmd.status is None:
        kind = UpdateKind.EMPTY
    elif not named and cmd.status is not status:
        kind = UpdateKind.BAD_STATUS
    else:
        kind = UpdateKind.NO_OP
    return UpdateIntent(kind, target, reschedule, party, named)
