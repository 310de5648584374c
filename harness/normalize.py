"""Normalise response bodies so that no check has to care about the encodings §11 allows (D12-D14).

Input: a decoded JSON body in any proto3 JSON form (snake_case or lowerCamelCase names, int64 as string
or number, enums as names or numbers). Output: plain dicts with proto field names, int64 as ``int`` and
enums as names. Absent fields stay absent: read them through :func:`dig`, which returns the proto3 default.

The walk is driven by the message descriptors of ``booking_protocol.booking_pb2`` (computed once per message
type), so it is fast and never guesses which field is an int64. Values of the wrong type are left as they
are: the schema check reports them, and the checks see them as "not equal to what was expected".
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from booking_protocol import booking_pb2

_INT_TYPES = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_SFIXED32,
}

# (proto name, kind, sub-descriptor or enum names by number, repeated)
_FieldInfo = tuple[str, str, Any, bool]


@functools.cache
def _fields(desc: Descriptor) -> dict[str, _FieldInfo]:
    out: dict[str, _FieldInfo] = {}
    for f in desc.fields:
        repeated = bool(f.is_repeated)
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            assert f.message_type is not None
            if f.message_type.GetOptions().map_entry:
                info: _FieldInfo = (f.name, "map", None, False)
            else:
                info = (f.name, "message", f.message_type, repeated)
        elif f.type == FieldDescriptor.TYPE_ENUM:
            assert f.enum_type is not None
            info = (f.name, "enum", {v.number: v.name for v in f.enum_type.values}, repeated)
        elif f.type in _INT_TYPES:
            info = (f.name, "int", None, repeated)
        else:
            info = (f.name, "scalar", None, repeated)
        out[f.name] = info
        out[f.json_name] = info
    return out


def message_descriptor(name: str) -> Descriptor:
    return booking_pb2.DESCRIPTOR.message_types_by_name[name]


def _value(kind: str, sub: Any, value: Any) -> Any:
    if kind == "int":
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return value
        return value
    if kind == "enum":
        if isinstance(value, int) and not isinstance(value, bool):
            return sub.get(value, value)
        return value
    if kind == "message":
        return normalize(value, sub) if isinstance(value, dict) else value
    return value


def normalize(body: Any, desc: Descriptor | str) -> Any:
    """Return ``body`` with proto field names, int64 as int and enums as names (see module docstring)."""
    if isinstance(desc, str):
        desc = message_descriptor(desc)
    if not isinstance(body, dict):
        return body
    table = _fields(desc)
    out: dict[str, Any] = {}
    for key, value in body.items():
        info = table.get(key)
        if info is None:
            out[key] = value
            continue
        name, kind, sub, repeated = info
        if value is None:
            continue
        if repeated and isinstance(value, list):
            out[name] = [_value(kind, sub, v) for v in value]
        else:
            out[name] = _value(kind, sub, value)
    return out


_MISSING = object()


def dig(data: Any, path: str, default: Any = None) -> Any:
    """``dig(body, "booking.slot.start_sec", 0)``: the value at a dotted path, or ``default`` when absent
    (proto3: an absent field has its default value). Numeric parts index lists."""
    cur = data
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part, _MISSING)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return default
        if cur is _MISSING or cur is None:
            return default
    return cur
