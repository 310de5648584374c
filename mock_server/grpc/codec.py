"""Protobuf messages ⇄ domain values, by attribute access (no ``json_format`` on the hot path).

Decoding follows the domain's conventions (see ``mock_server.domain.model``): a required field the request
did not carry is ``None``, so the domain names it in its INVALID_ARGUMENT. Proto3 cannot tell an absent
scalar from its default, so an empty string and a zero ``start_sec``/``duration_sec`` count as "not given"
(no real slot starts at the epoch or lasts zero seconds). Sub-messages use ``HasField``, so an absent
``slot`` or ``user_information`` is told apart from an empty one.

Payment information is the one opaque part: the domain keeps it as a mapping in proto field-name form
(snake_case keys, int64 as ``int``, enums as names) and echoes it back. :func:`message_to_mapping` and
:func:`fill_from_mapping` walk the descriptor for that, generically, and only when a request carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from booking_protocol import booking_pb2 as pb
from mock_server.domain.model import (
    BookingStatus,
    BookingView,
    CreateBookingCommand,
    CreateLeaseCommand,
    Failure,
    InvalidArgument,
    InventorySlot,
    LeaseView,
    PostalAddress,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
)

_INT64 = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)

# ----------------------------------------------------------------------------------------------------------
# Requests → domain
# ----------------------------------------------------------------------------------------------------------


def slot_query(slot: pb.Slot) -> SlotQuery:
    """A Slot as a query; "" and 0 mean "not given" (see the module docstring)."""
    r = slot.resources
    return SlotQuery(
        merchant_id=slot.merchant_id or None,
        service_id=slot.service_id or None,
        start_sec=slot.start_sec or None,
        duration_sec=slot.duration_sec or None,
        availability_tag=slot.availability_tag,
        staff_id=r.staff_id,
        room_id=r.room_id,
        party_size=r.party_size,
    )


_CONFIRMATION_MODES = frozenset(pb.ConfirmationMode.values())


def slot_time_query(merchant_id: str, st: pb.SlotTime, where: str = "slot_time") -> SlotQuery:
    """A SlotTime as a query. Its one enum is checked here, in the loop that reads it anyway (a 1 MiB
    BatchAvailabilityLookup holds tens of thousands of SlotTimes; see :func:`check_enums`)."""
    if st.confirmation_mode not in _CONFIRMATION_MODES:
        raise InvalidArgument(
            f"{where}.confirmation_mode", f"unknown ConfirmationMode value {st.confirmation_mode}"
        )
    r = st.resource_ids
    return SlotQuery(
        merchant_id=merchant_id or None,
        service_id=st.service_id or None,
        start_sec=st.start_sec or None,
        duration_sec=st.duration_sec or None,
        availability_tag=st.availability_tag,
        staff_id=r.staff_id,
        room_id=r.room_id,
        party_size=r.party_size,
    )


def user_info(u: pb.UserInformation) -> UserInfo:
    address = None
    if u.HasField("address"):
        a = u.address
        address = PostalAddress(a.country, a.locality, a.region, a.postal_code, a.street_address)
    return UserInfo(u.user_id, u.given_name, u.family_name, u.telephone, u.email, u.language_code, address)


def create_booking_command(req: pb.CreateBookingRequest) -> CreateBookingCommand:
    return CreateBookingCommand(
        slot=slot_query(req.slot) if req.HasField("slot") else None,
        user=user_info(req.user_information) if req.HasField("user_information") else None,
        idempotency_token=req.idempotency_token or None,
        lease_id=(req.lease_ref.lease_id or None) if req.HasField("lease_ref") else None,
        payment=message_to_mapping(req.payment_information) if req.HasField("payment_information") else None,
        offer_id=req.offer_id,
    )


def create_lease_command(req: pb.CreateLeaseRequest) -> CreateLeaseCommand:
    lease = req.lease
    return CreateLeaseCommand(
        slot=slot_query(lease.slot) if lease.HasField("slot") else None,
        user_reference=lease.user_reference or None,
        expires_sec=lease.lease_expiration_time_sec or None,
    )


def booking_status(value: int, where: str) -> BookingStatus | None:
    """An enum number from the wire; 0 (UNSPECIFIED) is "not given", an unknown number is invalid."""
    if not value:
        return None
    try:
        return BookingStatus(value)
    except ValueError:
        raise InvalidArgument(where, f"unknown BookingStatus value {value}") from None


def update_booking_command(req: pb.UpdateBookingRequest) -> UpdateBookingCommand:
    b = req.booking
    status = booking_status(b.status, "booking.status")
    if not b.HasField("slot"):
        return UpdateBookingCommand(booking_id=b.booking_id or None, status=status)
    s = b.slot
    has_resources = s.HasField("resources")
    r = s.resources
    return UpdateBookingCommand(
        booking_id=b.booking_id or None,
        status=status,
        start_sec=s.start_sec or None,
        duration_sec=s.duration_sec or None,
        party_size=(r.party_size or None) if has_resources else None,
        merchant_id=s.merchant_id or None,
        service_id=s.service_id or None,
        staff_id=(r.staff_id or None) if has_resources else None,
        room_id=(r.room_id or None) if has_resources else None,
    )


# ----------------------------------------------------------------------------------------------------------
# Domain → responses
# ----------------------------------------------------------------------------------------------------------


def fill_slot(out: pb.Slot, slot: InventorySlot) -> None:
    out.merchant_id = slot.merchant_id
    out.service_id = slot.service_id
    out.start_sec = slot.start_sec
    out.duration_sec = slot.duration_sec
    if slot.availability_tag:
        out.availability_tag = slot.availability_tag
    if slot.staff_id or slot.room_id or slot.party_size:
        r = out.resources
        r.staff_id = slot.staff_id
        r.room_id = slot.room_id
        r.party_size = slot.party_size
    if slot.confirmation_mode:
        out.confirmation_mode = int(slot.confirmation_mode)  # type: ignore[assignment]


def fill_user(out: pb.UserInformation, user: UserInfo) -> None:
    out.user_id = user.user_id
    out.given_name = user.given_name
    out.family_name = user.family_name
    out.telephone = user.telephone
    out.email = user.email
    out.language_code = user.language_code
    a = user.address
    if a is not None:
        oa = out.address
        oa.country = a.country
        oa.locality = a.locality
        oa.region = a.region
        oa.postal_code = a.postal_code
        oa.street_address = a.street_address


def fill_booking(out: pb.Booking, view: BookingView) -> None:
    out.booking_id = view.booking_id
    fill_slot(out.slot, view.slot)
    fill_user(out.user_information, view.user)
    out.status = int(view.status)  # type: ignore[assignment]
    if view.payment:
        fill_from_mapping(out.payment_information, view.payment)
    if view.offer_id:
        out.offer_info.offer_id = view.offer_id


def fill_failure(out: pb.BookingFailure, failure: Failure) -> None:
    out.cause = int(failure.cause)  # type: ignore[assignment]
    if failure.description:
        out.description = failure.description


def fill_lease(out: pb.Lease, view: LeaseView) -> None:
    out.lease_id = view.lease_id
    fill_slot(out.slot, view.slot)
    out.user_reference = view.user_reference
    out.lease_expiration_time_sec = view.expires_sec


def prepayment_status_number(name: str) -> int:
    return pb.PrepaymentStatus.Value(name) if name in pb.PrepaymentStatus.keys() else 0


# ----------------------------------------------------------------------------------------------------------
# Opaque payment information: message ⇄ mapping in proto field-name form
# ----------------------------------------------------------------------------------------------------------


def message_to_mapping(msg: Message) -> dict[str, Any]:
    """Set fields only; int64 as ``int``, enums as names, sub-messages as dicts, maps as dicts."""
    out: dict[str, Any] = {}
    for fd, value in msg.ListFields():
        out[fd.name] = _to_plain(fd, value)
    return out


def _to_plain(fd: FieldDescriptor, value: Any) -> Any:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        vfd = fd.message_type.fields_by_name["value"]
        return {k: _scalar_to_plain(vfd, v) for k, v in value.items()}
    if fd.is_repeated:
        return [_scalar_to_plain(fd, v) for v in value]
    return _scalar_to_plain(fd, value)


def _scalar_to_plain(fd: FieldDescriptor, value: Any) -> Any:
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_mapping(value)
    if fd.type == FieldDescriptor.TYPE_ENUM:
        assert fd.enum_type is not None
        ev = fd.enum_type.values_by_number.get(value)
        return ev.name if ev is not None else value
    return value


def fill_from_mapping(msg: Message, data: Mapping[str, Any]) -> None:
    """The inverse of :func:`message_to_mapping`; also takes lowerCamelCase keys and int64 strings (REST)."""
    fields = msg.DESCRIPTOR.fields_by_name
    camel = msg.DESCRIPTOR.fields_by_camelcase_name
    for key, value in data.items():
        fd = fields.get(key) or camel.get(key)
        if fd is None or value is None:
            continue  # unknown keys are ignored, as over REST (D15)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            target = getattr(msg, fd.name)
            vfd = fd.message_type.fields_by_name["value"]
            for k, v in value.items():
                if vfd.type == FieldDescriptor.TYPE_MESSAGE:
                    fill_from_mapping(target[k], v)
                else:
                    target[k] = _plain_to_scalar(vfd, v)
        elif fd.is_repeated:
            target = getattr(msg, fd.name)
            for v in value:
                if fd.type == FieldDescriptor.TYPE_MESSAGE:
                    fill_from_mapping(target.add(), v)
                else:
                    target.append(_plain_to_scalar(fd, v))
        elif fd.type == FieldDescriptor.TYPE_MESSAGE:
            fill_from_mapping(getattr(msg, fd.name), value)
        else:
            setattr(msg, fd.name, _plain_to_scalar(fd, value))


def _plain_to_scalar(fd: Any, value: Any) -> Any:
    """``fd`` is a FieldDescriptor (the pure-Python or the upb one: their stubs differ)."""
    if fd.type == FieldDescriptor.TYPE_ENUM and isinstance(value, str):
        ev = fd.enum_type.values_by_name.get(value)
        return ev.number if ev is not None else 0
    if fd.type in _INT64 and isinstance(value, str):
        return int(value)
    return value


# ----------------------------------------------------------------------------------------------------------
# Enum numbers the proto does not define
# ----------------------------------------------------------------------------------------------------------

#: message full name -> whether it, or any message it reaches, has an enum field (walks skip the others)
_HAS_ENUMS: dict[str, bool] = {}


def _has_enums(desc: Any) -> bool:
    known = _HAS_ENUMS.get(desc.full_name)
    if known is not None:
        return known
    _HAS_ENUMS[desc.full_name] = False  # recursion guard
    found = any(
        fd.type == FieldDescriptor.TYPE_ENUM or (fd.message_type is not None and _has_enums(fd.message_type))
        for fd in desc.fields
    )
    _HAS_ENUMS[desc.full_name] = found
    return found


def check_enums(msg: Message, path: str = "") -> None:
    """Raise :class:`InvalidArgument` naming the first field that holds an enum number the proto does not
    define. Proto3 enums are open, so the binary parser keeps such numbers; stored, they would later be
    written over REST as bare numbers that neither our JSON Schemas nor protobuf's JSON printer accept."""
    if not _has_enums(msg.DESCRIPTOR):
        return
    for fd, value in msg.ListFields():
        where = f"{path}.{fd.name}" if path else fd.name
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            vfd = fd.message_type.fields_by_name["value"]
            for key, item in value.items():
                _check_value(vfd, item, f"{where}[{key!r}]")
        elif fd.is_repeated:
            for i, item in enumerate(value):
                _check_value(fd, item, f"{where}[{i}]")
        else:
            _check_value(fd, value, where)


def _check_value(fd: Any, value: Any, where: str) -> None:
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        check_enums(value, where)
    elif fd.type == FieldDescriptor.TYPE_ENUM and value not in fd.enum_type.values_by_number:
        raise InvalidArgument(where, f"unknown {fd.enum_type.name} value {value}")
