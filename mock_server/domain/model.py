"""The booking domain's vocabulary: enums, value objects, commands, results and the two input errors.

Everything here is plain Python (dataclasses and enums), with no transport, JSON or protobuf in sight, so
the REST adapter and the gRPC adapter can each translate their wire form to these types with a codec of
their own.

Conventions every adapter relies on:

- **Missing vs. empty.** Command fields that the spec marks *required* are ``None`` when the request did not
  carry them; the service turns that into :class:`InvalidArgument` naming the field in proto (snake_case)
  path form, e.g. ``slot.merchant_id``. A gRPC codec, which cannot tell "absent" from "0"/"" in proto3,
  passes ``None`` for empty strings and may pass ``0`` for integers.
- **Enums** carry the proto names and numbers (``BookingStatus.CONFIRMED == 1``), so ``.name`` is the JSON
  form and ``int()`` the wire number.
- **Business failures are values** (:class:`Failure` inside a result), never exceptions. Exceptions mean the
  request itself is unusable: :class:`InvalidArgument` (HTTP 400 / INVALID_ARGUMENT) and :class:`NotFound`
  (HTTP 404 / NOT_FOUND, or 400 by option).
- **Value objects are not frozen** (a frozen dataclass costs ~0.5 µs more to build, on every request);
  treat commands, results and views as immutable all the same. ``UserInfo`` is hashable (``unsafe_hash``)
  so identical users share one object in memory: never mutate one.
- **Payment information** is a mapping in proto field-name form (the adapter's decoded message: snake_case
  keys, int64 as ``int``, enums as names). Without a catalogue it is echoed back untouched; with one the
  domain reads it (price, option ids, 3DS1 answer) and reports the payment state it settled (D32–D54).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class BookingStatus(enum.IntEnum):
    """Booking.status (spec §2.2), same names and numbers as the proto."""

    BOOKING_STATUS_UNSPECIFIED = 0
    CONFIRMED = 1
    PENDING_MERCHANT_CONFIRMATION = 2
    CANCELED = 3
    NO_SHOW = 4
    NO_SHOW_PENALIZED = 5
    FAILED = 6
    DECLINED_BY_MERCHANT = 7


class FailureCause(enum.IntEnum):
    """BookingFailure.Cause (spec §2.5), same names and numbers as the proto."""

    CAUSE_UNSPECIFIED = 0
    SLOT_UNAVAILABLE = 1
    SLOT_ALREADY_BOOKED_BY_USER = 2
    LEASE_EXPIRED = 3
    OUTSIDE_CANCELLATION_WINDOW = 4
    PAYMENT_ERROR_CARD_TYPE_REJECTED = 5
    PAYMENT_ERROR_CARD_DECLINED = 6
    PAYMENT_OPTION_NOT_VALID = 7
    PAYMENT_ERROR = 8
    USER_CANNOT_USE_PAYMENT_OPTION = 9
    BOOKING_ALREADY_CANCELLED = 10
    BOOKING_NOT_CANCELLABLE = 11
    OVERLAPPING_RESERVATION = 12
    USER_OVER_BOOKING_LIMIT = 13
    DEAL_UNAVAILABLE = 14
    PAYMENT_REQUIRES_3DS1 = 15
    OFFER_UNAVAILABLE = 16


class ConfirmationMode(enum.IntEnum):
    CONFIRMATION_MODE_UNSPECIFIED = 0
    CONFIRMATION_MODE_SYNCHRONOUS = 1
    CONFIRMATION_MODE_ASYNCHRONOUS = 2


#: Statuses in which a booking no longer holds a spot.
RELEASED_STATUSES = frozenset(
    {BookingStatus.CANCELED, BookingStatus.DECLINED_BY_MERCHANT, BookingStatus.FAILED}
)


# ----------------------------------------------------------------------------------------------------------
# Errors: the request cannot be served at all (not a business failure)
# ----------------------------------------------------------------------------------------------------------


class DomainError(Exception):
    """Base of the input errors; ``str()`` is a one-line message fit for an error body."""


class InvalidArgument(DomainError):
    """A missing or malformed field, or a merchant/service this server does not know (HTTP 400)."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}" if field else message)


class NotFound(DomainError):
    """An unknown booking, lease or user id (``what`` is "booking", "lease" or "user")."""

    def __init__(self, what: str, id: str) -> None:
        self.what, self.id = what, id
        super().__init__(f"unknown {what} id {id!r}")


# ----------------------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------------------


@dataclass(slots=True, unsafe_hash=True)
class PostalAddress:
    country: str = ""
    locality: str = ""
    region: str = ""
    postal_code: str = ""
    street_address: str = ""


@dataclass(slots=True, unsafe_hash=True)
class UserInfo:
    """UserInformation as sent by Google (hashable, so identical users share one object in memory)."""

    user_id: str
    given_name: str = ""
    family_name: str = ""
    telephone: str = ""
    email: str = ""
    language_code: str = ""
    address: PostalAddress | None = None


@dataclass(slots=True)
class SlotQuery:
    """A slot as a request names it (Slot or SlotTime). ``None`` / "" / 0 = not given.

    Matching (spec §8): merchant_id, service_id and start_sec always; duration_sec, availability_tag,
    staff_id, room_id and party_size only when given. (Not frozen: it is built per request on the hot path,
    and a frozen dataclass is several times slower to construct.)
    """

    merchant_id: str | None
    service_id: str | None
    start_sec: int | None
    duration_sec: int | None = None
    availability_tag: str = ""
    staff_id: str = ""
    room_id: str = ""
    party_size: int = 0


@dataclass(slots=True, eq=False)
class InventorySlot:
    """One inventory entry (spec §8 key) and its capacity. Only ``spots_open`` ever changes.

    ``spots_open`` counts spots that neither a live booking nor a live lease holds.
    """

    merchant_id: str
    service_id: str
    start_sec: int
    duration_sec: int
    spots_total: int
    spots_open: int
    availability_tag: str = ""
    staff_id: str = ""
    room_id: str = ""
    party_size: int = 0
    confirmation_mode: ConfirmationMode = ConfirmationMode.CONFIRMATION_MODE_UNSPECIFIED

    @property
    def is_async(self) -> bool:
        return self.confirmation_mode is ConfirmationMode.CONFIRMATION_MODE_ASYNCHRONOUS

    @property
    def key(self) -> tuple[str, str, int, int, str, str, int]:
        return (
            self.merchant_id,
            self.service_id,
            self.start_sec,
            self.duration_sec,
            self.staff_id,
            self.room_id,
            self.party_size,
        )

    def matches(self, q: SlotQuery) -> bool:
        """§8 matching of the optional parts (merchant, service and start are matched by the index)."""
        return (
            (not q.duration_sec or q.duration_sec == self.duration_sec)
            and (not q.availability_tag or q.availability_tag == self.availability_tag)
            and (not q.staff_id or q.staff_id == self.staff_id)
            and (not q.room_id or q.room_id == self.room_id)
            and (not q.party_size or q.party_size == self.party_size)
        )


@dataclass(slots=True, eq=False)
class Booking:
    """A booking as stored (mutable under the service lock; adapters only ever see :class:`BookingView`)."""

    booking_id: str
    slot: InventorySlot
    user: UserInfo
    status: BookingStatus
    payment: Mapping[str, Any] | None = None
    offer_id: str = ""
    #: VirtualSessionInfo in field-name form (session_url, meeting_id, password) of an online service (D50)
    virtual_session: Mapping[str, str] | None = None
    #: what was charged, held or used for this booking (None: nothing; see :mod:`.payments`)
    settlement: Settlement | None = None


@dataclass(slots=True)
class Settlement:
    """The money side of one booking, as the simulated processor settled it (D33, D34, D42, D43).

    ``kind``: ``charge`` (prepaid, or a pack bought with this booking: ``upo_id`` set), ``hold`` (deposit),
    ``card_on_file`` (no-show fee / card required) or ``use`` (paid with an owned pack or membership).
    """

    kind: str
    merchant_id: str
    #: sha256(merchant_id | idempotency_token)[:16]: the suffix of every processor id of this booking
    key: str
    transaction_id: str
    amount_micros: int = 0
    currency: str = ""
    token_fingerprint: str = ""
    upo_id: str = ""


@dataclass(slots=True)
class BookingView:
    """A snapshot of a booking taken under the lock, safe to encode outside it.

    ``slot`` is the inventory entry (its identifying fields never change; ignore its counters).
    """

    booking_id: str
    slot: InventorySlot
    user: UserInfo
    status: BookingStatus
    payment: Mapping[str, Any] | None
    offer_id: str
    #: VirtualSessionInfo (session_url, meeting_id, password) for an online service (D50), else None
    virtual_session: Mapping[str, str] | None = None

    @property
    def prepayment_status(self) -> str:
        """The PrepaymentStatus name: from the payment information, else PREPAYMENT_NOT_PROVIDED."""
        if self.payment:
            value = self.payment.get("prepayment_status")
            if isinstance(value, str) and value:
                return value
        return "PREPAYMENT_NOT_PROVIDED"


@dataclass(slots=True, eq=False)
class Lease:
    lease_id: str
    slot: InventorySlot
    user_reference: str
    expires_sec: int
    #: booking id once a booking consumed the lease; its spot then belongs to the booking.
    used_by: str = ""
    #: True once the lease's spot went back to the slot (expiry); never released twice.
    released: bool = False


@dataclass(slots=True)
class LeaseView:
    lease_id: str
    slot: InventorySlot
    user_reference: str
    expires_sec: int


@dataclass(slots=True)
class Failure:
    """A business-logic failure (HTTP 200 + booking_failure)."""

    cause: FailureCause
    description: str = ""
    #: CreditCardType name of the rejected card (PAYMENT_ERROR_CARD_TYPE_REJECTED, D37)
    rejected_card_type: str = ""
    #: ThreeDS1Parameters in field-name form: acs_url, pa_req, transaction_id, md_merchant_data (D38)
    threeds1: Mapping[str, str] | None = None


# ----------------------------------------------------------------------------------------------------------
# Commands and results
# ----------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class CreateBookingCommand:
    slot: SlotQuery | None
    user: UserInfo | None
    idempotency_token: str | None
    lease_id: str | None = None
    payment: Mapping[str, Any] | None = None
    offer_id: str = ""
    #: PaymentProcessingParameters in field-name form (``unparsed_payment_method_token``,
    #: ``tokenization_config``); None when the request carried none
    payment_processing: Mapping[str, Any] | None = None


@dataclass(slots=True)
class CreateLeaseCommand:
    slot: SlotQuery | None
    user_reference: str | None
    #: requested expiry; None or 0 = "as long as the server allows" (now + lease_ttl_sec).
    expires_sec: int | None = None


@dataclass(slots=True)
class UpdateBookingCommand:
    """Cancel (``status`` = CANCELED) or modify (new start/duration and/or party size).

    ``merchant_id``/``service_id``/``staff_id``/``room_id`` are only checked: they cannot change.
    """

    booking_id: str | None
    status: BookingStatus | None = None
    start_sec: int | None = None
    duration_sec: int | None = None
    party_size: int | None = None
    merchant_id: str | None = None
    service_id: str | None = None
    staff_id: str | None = None
    room_id: str | None = None

    @property
    def modifies_slot(self) -> bool:
        return self.start_sec is not None or self.duration_sec is not None or self.party_size is not None


@dataclass(slots=True)
class BookingResult:
    """Exactly one of ``booking`` and ``failure`` is set."""

    booking: BookingView | None = None
    failure: Failure | None = None
    #: UserPaymentOption in field-name form, when the call bought, used or credited one (D42, D43, D45)
    user_payment_option: Mapping[str, Any] | None = None


@dataclass(slots=True)
class LeaseResult:
    lease: LeaseView | None = None
    failure: Failure | None = None
