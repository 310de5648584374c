"""The reference server's domain core: inventory, bookings, leases, idempotency and time — no transport.

Modules: :mod:`.model` (types, commands, results, errors), :mod:`.inventory` (slot index, §8 matching) and
:mod:`.service` (:class:`BookingService`, the behaviour, with its injectable clock and id generators).
Adapters (REST, gRPC) reach it through :mod:`mock_server.app`, which adds the server options.
"""

from .inventory import DuplicateSlot, Inventory, SlotRecord
from .model import (
    RELEASED_STATUSES,
    Booking,
    BookingResult,
    BookingStatus,
    BookingView,
    ConfirmationMode,
    CreateBookingCommand,
    CreateLeaseCommand,
    DomainError,
    Failure,
    FailureCause,
    InvalidArgument,
    InventorySlot,
    Lease,
    LeaseResult,
    LeaseView,
    NotFound,
    PostalAddress,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
)
from .service import (
    BookingService,
    Clock,
    DomainConfig,
    FakeClock,
    IdGenerator,
    SequentialIds,
    ShiftedClock,
    default_ids,
)

__all__ = [
    "RELEASED_STATUSES",
    "Booking",
    "BookingResult",
    "BookingService",
    "BookingStatus",
    "BookingView",
    "Clock",
    "ConfirmationMode",
    "CreateBookingCommand",
    "CreateLeaseCommand",
    "DomainConfig",
    "DomainError",
    "DuplicateSlot",
    "FakeClock",
    "Failure",
    "FailureCause",
    "IdGenerator",
    "InvalidArgument",
    "Inventory",
    "InventorySlot",
    "Lease",
    "LeaseResult",
    "LeaseView",
    "NotFound",
    "PostalAddress",
    "SequentialIds",
    "ShiftedClock",
    "SlotQuery",
    "SlotRecord",
    "UpdateBookingCommand",
    "UserInfo",
    "default_ids",
]
