"""A table-driven proto3-JSON codec for the v3 messages, without protobuf on the hot path.

The tables are built once, at import, from the message descriptors of ``booking_protocol.booking_pb2``
(so they always agree with ``booking.proto``); decoding and encoding are then plain dict walks over
orjson's output. ``json_format.Parse`` costs ~90 µs a message; this costs a few.

*Canonical form* (what :func:`decode` returns and :func:`encode` takes): a dict keyed by the proto field
names (snake_case) holding only the fields present in the JSON, with int32/int64 as ``int``, enums as their
value *names*, nested messages as dicts, repeated fields as lists and maps as ``dict[str, str]``.

Decoding follows proto3 JSON (spec §5, D12–D15): field names in snake_case or lowerCamelCase; integers as
numbers or numeric strings; enums by name or number; ``null`` means "not set"; unknown fields are ignored.
A wrong JSON type raises :class:`~mock_server.domain.InvalidArgument` naming the field path.

Encoding drops default values (D14) and renders names (snake or camel, D13) and int64 (string or number,
D12) per :class:`Style`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from booking_protocol import booking_pb2
from mock_server.domain import InvalidArgument

# kinds
STRING, INT64, INT32, BOOL, FLOAT, ENUM, MESSAGE, MAP = range(8)

_INT64_TYPES = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
_INT32_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_SFIXED32,
}
_INT64_RANGE = (-(2**63), 2**63 - 1)
_INT32_RANGE = (-(2**31), 2**31 - 1)


@dataclass(slots=True)
class Field:
    name: str
    camel: str
    kind: int
    repeated: bool
    message: Message | None = None
    enum_by_name: dict[str, int] | None = None
    enum_by_number: dict[int, str] | None = None

    @property
    def default_enum(self) -> str:
        return self.enum_by_number[0] if self.enum_by_number and 0 in self.enum_by_number else ""


@dataclass(slots=True)
class Message:
    name: str
    fields: list[Field]
    by_json_name: dict[str, Field]
    #: oneof name -> its members' proto names
    oneofs: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Style:
    """How responses are written: ``camel`` names (D13 option) and ``int64_as_string`` (D12)."""

    camel: bool = False
    int64_as_string: bool = True


MESSAGES: dict[str, Message] = {}


def _build(desc: Descriptor) -> Message:
    if desc.full_name in MESSAGES:
        return MESSAGES[desc.full_name]
    msg = Message(desc.name, [], {})
    MESSAGES[desc.full_name] = msg
    for fd in desc.fields:
        repeated = bool(fd.is_repeated)
        f = Field(fd.name, fd.json_name, STRING, repeated)
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            assert fd.message_type is not None
            if fd.message_type.GetOptions().map_entry:
                f.kind, f.repeated = MAP, False
            else:
                f.kind, f.message = MESSAGE, _build(fd.message_type)
        elif fd.type == FieldDescriptor.TYPE_ENUM:
            assert fd.enum_type is not None
            f.kind = ENUM
            f.enum_by_name = {v.name: v.number for v in fd.enum_type.values}
            f.enum_by_number = {v.number: v.name for v in fd.enum_type.values}
        elif fd.type in _INT64_TYPES:
            f.kind = INT64
        elif fd.type in _INT32_TYPES:
            f.kind = INT32
        elif fd.type == FieldDescriptor.TYPE_BOOL:
            f.kind = BOOL
        elif fd.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            f.kind = FLOAT
        msg.fields.append(f)
        msg.by_json_name[fd.name] = f
        msg.by_json_name[fd.json_name] = f
    for oneof in desc.oneofs:
        if len(oneof.fields) > 1:  # a one-member oneof (proto3 ``optional``) cannot hold two values
            msg.oneofs[oneof.name] = tuple(m.name for m in oneof.fields)
    return msg


for _desc in booking_pb2.DESCRIPTOR.message_types_by_name.values():
    _build(_desc)


def message(name: str) -> Message:
    """The table of a message by its short name, e.g. ``"CreateBookingRequest"``."""
    return MESSAGES[f"ext.maps.booking.partner.v3.{name}"]


# ----------------------------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class _Bad(Exception):
    """A decoding problem at ``rel`` (a path relative to the object being decoded; built only on failure)."""

    def __init__(self, rel: str, message: str) -> None:
        self.rel, self.message = rel, message
        super().__init__(message)


def _join(head: str, rel: str) -> str:
    if not rel:
        return head
    if not head:
        return rel
    return head + rel if rel.startswith("[") else f"{head}.{rel}"


#: the longest numeric string taken for an integer: "-9223372036854775808" has 20 characters. Longer
#: strings are refused before ``int()`` ever sees them (Python refuses over 4,300 digits with ValueError,
#: and converting long digit strings costs quadratic time).
MAX_INT_CHARS = 20


def _int(value: Any, bounds: tuple[int, int]) -> int:
    cls = type(value)
    if cls is int:
        out = value
    elif cls is str and len(value) > MAX_INT_CHARS:
        raise _Bad("", f"integer too long ({len(value)} characters; at most {MAX_INT_CHARS})")
    elif cls is str and value.isascii() and (value.isdigit() or (value[:1] == "-" and value[1:].isdigit())):
        out = int(value)
    elif cls is float and value.is_integer():
        out = int(value)
    else:
        raise _Bad("", f"must be an integer (number or numeric string), got {_type_name(value)}")
    if not bounds[0] <= out <= bounds[1]:
        raise _Bad("", "integer out of range")
    return int(out)


def _scalar(f: Field, value: Any) -> Any:
    kind = f.kind
    if kind == STRING:
        if type(value) is str:
            return value
        raise _Bad("", f"must be a string, got {_type_name(value)}")
    if kind == INT64:
        return _int(value, _INT64_RANGE)
    if kind == MESSAGE:
        assert f.message is not None
        return _decode(f.message, value)
    if kind == INT32:
        return _int(value, _INT32_RANGE)
    if kind == ENUM:
        assert f.enum_by_name is not None and f.enum_by_number is not None
        if type(value) is str:
            if value in f.enum_by_name:
                return value
            raise _Bad("", f"unknown enum value {value!r}")
        if type(value) is int and value in f.enum_by_number:
            return f.enum_by_number[value]
        raise _Bad("", f"must be an enum name, got {value!r}")
    if kind == BOOL:
        if type(value) is bool:
            return value
        raise _Bad("", f"must be true or false, got {_type_name(value)}")
    if kind == FLOAT:
        if type(value) in (int, float):
            return float(value)
        raise _Bad("", f"must be a number, got {_type_name(value)}")
    # MAP
    if type(value) is not dict or not all(type(v) is str for v in value.values()):
        raise _Bad("", "must be an object of strings")
    return dict(value)


def _decode(msg: Message, obj: Any) -> dict[str, Any]:
    if type(obj) is not dict:
        raise _Bad("", f"must be a JSON object, got {_type_name(obj)}")
    out: dict[str, Any] = {}
    by_name = msg.by_json_name
    for key, value in obj.items():
        f = by_name.get(key)
        if f is None or value is None:
            continue  # D15: unknown fields are ignored; null means "not set"
        name = f.name
        if name in out:  # protobuf's own parser refuses this too
            raise _Bad(name, "is set twice (under its snake_case and its lowerCamelCase name)")
        kind = f.kind
        try:
            if f.repeated:
                if type(value) is not list:
                    raise _Bad("", f"must be a list, got {_type_name(value)}")
                out[name] = [_scalar(f, v) for v in value]
            elif kind == STRING and type(value) is str:  # the common cases without a call to _scalar
                out[name] = value
            elif kind == MESSAGE and type(value) is dict:
                out[name] = _decode(f.message, value)  # type: ignore[arg-type]
            else:
                out[name] = _scalar(f, value)
        except _Bad as exc:
            rel = exc.rel
            if f.repeated and type(value) is list:
                for i, v in enumerate(value):  # the failure path only: find which element it was
                    try:
                        _scalar(f, v)
                    except _Bad:
                        rel = _join(f"[{i}]", exc.rel)
                        break
            raise _Bad(_join(f.name, rel), exc.message) from None
    if msg.oneofs:
        _check_oneofs(msg, out)
    return out


def _check_oneofs(msg: Message, out: dict[str, Any]) -> None:
    """A oneof holds one value: two of its members set is a 400 naming the oneof (issue 16)."""
    for name, members in msg.oneofs.items():
        given = [m for m in members if m in out]
        if len(given) > 1:
            raise _Bad(name, f"is a oneof: set only one of {', '.join(given)}")


def decode(msg: Message, obj: Any, path: str = "") -> dict[str, Any]:
    """The canonical dict of a JSON object (see the module docstring). Raises :class:`InvalidArgument`
    naming the field path, e.g. ``slot_time[2].start_sec``."""
    try:
        return _decode(msg, obj)
    except _Bad as exc:
        raise InvalidArgument(_join(path, exc.rel) or "body", exc.message) from None


# ----------------------------------------------------------------------------------------------------------
# encoding
# ----------------------------------------------------------------------------------------------------------


_Plan = dict[str, tuple[str, Any, Any]]
_PLANS: dict[tuple[str, Style], _Plan] = {}


def _plan(msg: Message, style: Style) -> _Plan:
    """Per (message, style): input key -> (output name, default value to drop, converter or None)."""
    key = (msg.name, style)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    plan = _PLANS[key] = {}
    for name, f in msg.by_json_name.items():
        if name != f.name:
            continue  # plans are keyed by canonical (proto) names only
        conv: Any = None
        if f.kind == INT64 and style.int64_as_string:
            conv = str
        elif f.kind == MESSAGE:
            assert f.message is not None
            conv = _message_encoder(f.message, style)
        if f.repeated and conv is not None:
            conv = _each(conv)
        default = f.default_enum if f.kind == ENUM and not f.repeated else None
        plan[name] = (f.camel if style.camel else f.name, default, conv)
    return plan


def _each(conv: Any) -> Any:
    return lambda values: [conv(v) for v in values]


def _message_encoder(msg: Message, style: Style) -> Any:
    return lambda value: encode(msg, value, style)


def encode(msg: Message, canon: dict[str, Any], style: Style) -> dict[str, Any]:
    """The JSON object of a canonical dict, default values left out (D14).

    Walks the fields present in ``canon`` (so its key order is kept) with a plan compiled once per
    message and style.
    """
    plan = _PLANS.get((msg.name, style)) or _plan(msg, style)
    out: dict[str, Any] = {}
    for key, value in canon.items():
        if not value:
            continue  # "", 0, False, [], {}, None: proto3 defaults are not written
        name, default, conv = plan[key]
        if value == default:
            continue
        out[name] = value if conv is None else conv(value)
    return out
