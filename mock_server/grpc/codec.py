"""Protobuf messages ⇄ domain values, by attribute access (no ``json_format`` on the hot path).

Decoding follows the domain's conventions (see ``mock_server.domain.model``): a required field the request
did not carry is ``None``, so the domain names it in its INVALID_ARGUMENT. Proto3 cannot tell an absent
scalar from its default, so an empty string and a zero ``start_sec``/``duration_sec`` count as "not given"
(no real slot starts at the epoch or lasts zero seconds). Sub-messages use ``HasField``, so an absent
``slot`` or ``user_information`` is told apart from an empty one.

Payment information, payment processing parameters, user payment options, virtual session info and 3DS1
parameters are the opaque parts: the domain keeps them as mappings in proto field-name form (snake_case
keys, int64 as ``int``, enums as names). :func:`message_to_mapping` and
:func:`fill_from_mapping` walk the descriptor for that, generically, and only when a request carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
from mock_server.paytoken import decode_payment_token

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
        payment_processing=(
            decode_payment_token(message_to_mapping(req.payment_processing_parameters))
            if req.HasField("payment_processing_parameters")
            else None
        ),
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
    if view.virtual_session:
        fill_from_mapping(out.virtual_session_info, view.virtual_session)
    if view.offer_id:
        out.offer_info.offer_id = view.offer_id


def fill_failure(out: pb.BookingFailure, failure: Failure) -> None:
    """The cause, ``rejected_card_type`` (D37), the description and the 3DS1 parameters (D38)."""
    out.cause = int(failure.cause)  # type: ignore[assignment]
    if failure.rejected_card_type:
        out.rejected_card_type = card_type_number(failure.rejected_card_type)  # type: ignore[assignment]
    if failure.description:
        out.description = failure.description
    if failure.threeds1:
        fill_from_mapping(out.payment_failure.threeds1_parameters, failure.threeds1)


def fill_lease(out: pb.Lease, view: LeaseView) -> None:
    out.lease_id = view.lease_id
    fill_slot(out.slot, view.slot)
    out.user_reference = view.user_reference
    out.lease_expiration_time_sec = view.expires_sec


def prepayment_status_number(name: str) -> int:
    return pb.PrepaymentStatus.Value(name) if name in pb.PrepaymentStatus.keys() else 0


def card_type_number(name: str) -> int:
    """A CreditCardType name as its number (an unknown name is UNSPECIFIED, as the proto's own default)."""
    return pb.CreditCardType.Value(name) if name in pb.CreditCardType.keys() else 0


# ----------------------------------------------------------------------------------------------------------
# Opaque parts (payment information, processing parameters, …): message ⇄ mapping in proto field-name form
# ----------------------------------------------------------------------------------------------------------

# What a field is, for the generic walks below.
_SCALAR, _INT64_KIND, _ENUM, _MESSAGE, _MAP = range(5)


@dataclass(frozen=True, slots=True)
class _Field:
    """One field of a message as the walks need it, worked out once per message type (descriptor calls such
    as ``GetOptions()`` cost about a microsecond each; a paid CreateBooking walks some thirty fields)."""

    name: str
    kind: int
    repeated: bool
    #: enum fields: number -> name, and name -> number
    enum_names: Mapping[int, str] | None = None
    enum_numbers: Mapping[str, int] | None = None
    enum_type: str = ""
    #: maps: the plan of the value field
    value: _Field | None = None


@dataclass(frozen=True, slots=True)
class _Plan:
    #: by proto name and by lowerCamelCase name
    by_name: Mapping[str, _Field]
    #: the fields that hold enums, directly or below them, in field-number order (for :func:`check_enums`)
    with_enums: tuple[_Field, ...]


_PLANS: dict[str, _Plan] = {}
#: message full name -> whether it, or any message it reaches, has an enum field
_HAS_ENUMS: dict[str, bool] = {}


def _field(fd: Any) -> _Field:
    """``fd`` is a FieldDescriptor (the pure-Python or the upb one: their stubs differ)."""
    repeated = bool(fd.is_repeated)
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        return _Field(fd.name, _MAP, False, value=_field(fd.message_type.fields_by_name["value"]))
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return _Field(fd.name, _MESSAGE, repeated)
    if fd.type == FieldDescriptor.TYPE_ENUM:
        values = fd.enum_type.values
        return _Field(
            fd.name,
            _ENUM,
            repeated,
            enum_names={v.number: v.name for v in values},
            enum_numbers={v.name: v.number for v in values},
            enum_type=fd.enum_type.name,
        )
    return _Field(fd.name, _INT64_KIND if fd.type in _INT64 else _SCALAR, repeated)


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


def _plan(desc: Any) -> _Plan:
    plan = _PLANS.get(desc.full_name)
    if plan is not None:
        return plan
    by_name: dict[str, _Field] = {}
    with_enums: list[_Field] = []
    for fd in sorted(desc.fields, key=lambda f: f.number):
        f = _field(fd)
        by_name[fd.name] = by_name[fd.camelcase_name] = f
        if fd.type == FieldDescriptor.TYPE_ENUM or (
            fd.message_type is not None and _has_enums(fd.message_type)
        ):
            with_enums.append(f)
    plan = _PLANS[desc.full_name] = _Plan(by_name, tuple(with_enums))
    return plan


def message_to_mapping(msg: Message) -> dict[str, Any]:
    """Set fields only; int64 as ``int``, enums as names, sub-messages as dicts, maps as dicts."""
    fields = _plan(msg.DESCRIPTOR).by_name
    out: dict[str, Any] = {}
    for fd, value in msg.ListFields():
        f = fields[fd.name]
        if f.kind == _MAP:
            assert f.value is not None
            out[f.name] = {k: _to_plain(f.value, v) for k, v in value.items()}
        elif f.repeated:
            out[f.name] = [_to_plain(f, v) for v in value]
        else:
            out[f.name] = _to_plain(f, value)
    return out


def _to_plain(f: _Field, value: Any) -> Any:
    if f.kind == _MESSAGE:
        return message_to_mapping(value)
    if f.kind == _ENUM:
        assert f.enum_names is not None
        return f.enum_names.get(value, value)
    return value


def fill_from_mapping(msg: Message, data: Mapping[str, Any]) -> None:
    """The inverse of :func:`message_to_mapping`; also takes lowerCamelCase keys and int64 strings (REST)."""
    fields = _plan(msg.DESCRIPTOR).by_name
    for key, value in data.items():
        f = fields.get(key)
        if f is None or value is None:
            continue  # unknown keys are ignored, as over REST (D15)
        if f.kind == _MAP:
            target = getattr(msg, f.name)
            vf = f.value
            assert vf is not None
            for k, v in value.items():
                if vf.kind == _MESSAGE:
                    fill_from_mapping(target[k], v)
                else:
                    target[k] = _to_wire(vf, v)
        elif f.repeated:
            target = getattr(msg, f.name)
            for v in value:
                if f.kind == _MESSAGE:
                    fill_from_mapping(target.add(), v)
                else:
                    target.append(_to_wire(f, v))
        elif f.kind == _MESSAGE:
            fill_from_mapping(getattr(msg, f.name), value)
        else:
            setattr(msg, f.name, _to_wire(f, value))


def _to_wire(f: _Field, value: Any) -> Any:
    if f.kind == _ENUM and isinstance(value, str):
        assert f.enum_numbers is not None
        return f.enum_numbers.get(value, 0)
    if f.kind == _INT64_KIND and isinstance(value, str):
        return int(value)
    return value


# ----------------------------------------------------------------------------------------------------------
# Enum numbers the proto does not define
# ----------------------------------------------------------------------------------------------------------


def check_enums(msg: Message, path: str = "") -> None:
    """Raise :class:`InvalidArgument` naming the first field that holds an enum number the proto does not
    define. Proto3 enums are open, so the binary parser keeps such numbers; stored, they would later be
    written over REST as bare numbers that neither our JSON Schemas nor protobuf's JSON printer accept.

    Only the fields that can hold an enum are looked at (:attr:`_Plan.with_enums`), in field-number order."""
    for f in _plan(msg.DESCRIPTOR).with_enums:
        where = f"{path}.{f.name}" if path else f.name
        if f.kind == _MAP:
            assert f.value is not None
            for key, item in getattr(msg, f.name).items():
                _check_value(f.value, item, f"{where}[{key!r}]")
        elif f.repeated:
            for i, item in enumerate(getattr(msg, f.name)):
                _check_value(f, item, f"{where}[{i}]")
        elif f.kind == _MESSAGE:
            if msg.HasField(f.name):
                check_enums(getattr(msg, f.name), where)
        else:
            _check_value(f, getattr(msg, f.name), where)


def _check_value(f: _Field, value: Any, where: str) -> None:
    if f.kind == _MESSAGE:
        check_enums(value, where)
    elif f.kind == _ENUM and f.enum_names is not None and value not in f.enum_names:
        raise InvalidArgument(where, f"unknown {f.enum_type} value {value}")
