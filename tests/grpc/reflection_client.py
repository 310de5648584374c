"""A gRPC client that knows nothing of bookcheck's Python modules, and the §2 tables it checks against.

Why it exists: the issue's promise is that *any* reflection-based tool (grpcurl, Postman, a partner's own
client) can discover and call the reference server. A client that imported ``booking_protocol`` would
prove nothing about what is actually served, so this one imports neither ``booking_protocol`` nor
``mock_server``. It asks the server's reflection service for the file descriptors (through grpcio-reflection's
own ``ProtoReflectionDescriptorDatabase``, which drives ``ServerReflectionStub``), builds message classes with
``descriptor_pool`` + ``message_factory.GetMessageClass``, and calls methods by path.

It also reads the field tables of §2.1–§2.6 straight from the markdown spec
(``../shared/spec/booking-server-v3.md``), so "the served names, numbers and types equal §2" is checked
against the spec text, not against our own ``.proto`` (which could share a mistake with the server).

Run as a tiny grpcurl stand-in::

    python tests/grpc/reflection_client.py 127.0.0.1:50051 list
    python tests/grpc/reflection_client.py 127.0.0.1:50051 describe ext.maps.booking.partner.v3.BookingService
    python tests/grpc/reflection_client.py 127.0.0.1:50051 call \\
        ext.maps.booking.partner.v3.BookingService/GetBookingStatus '{"booking_id": "b1"}' \\
        --user u --password p
    python tests/grpc/reflection_client.py 127.0.0.1:50051 check-spec
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, ServiceDescriptor
from google.protobuf.descriptor_pb2 import DescriptorProto
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "spec" / "booking-server-v3.md"
PACKAGE = "ext.maps.booking.partner.v3"
BOOKING_SERVICE = f"{PACKAGE}.BookingService"


# ---------------------------------------------------------------------------------------------------------
# The reflection client
# ---------------------------------------------------------------------------------------------------------


def basic_metadata(user: str, password: str) -> tuple[tuple[str, str], ...]:
    """The ``authorization`` metadata entry carrying HTTP Basic credentials (spec §11, gRPC form)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return (("authorization", f"Basic {token}"),)


class _MetadataInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds fixed metadata (the credentials) to every call, reflection's own stream included."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def _details(self, details: Any) -> Any:
        return details._replace(metadata=tuple(details.metadata or ()) + self._metadata)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


class ReflectionClient:
    """Discovers services by reflection and calls unary methods with JSON-shaped requests.

    ``metadata`` (e.g. :func:`basic_metadata`) is sent on every call, reflection included.
    """

    def __init__(self, channel: grpc.Channel, metadata: Sequence[tuple[str, str]] = ()) -> None:
        if metadata:
            channel = grpc.intercept_channel(channel, _MetadataInterceptor(tuple(metadata)))
        self._channel = channel
        self._db = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self._db)

    def services(self) -> list[str]:
        """Full names of every service the server lists."""
        return sorted(self._db.get_services())

    def service(self, name: str) -> ServiceDescriptor:
        return self.pool.FindServiceByName(name)

    def message_class(self, full_name: str) -> Any:
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))

    def call_raw(self, path: str, request: dict[str, Any], timeout: float = 5.0) -> tuple[Any, Any]:
        """Call ``Service/Method`` (unary) with a JSON-form request; returns (response message, call)."""
        service_name, method_name = path.rsplit("/", 1)
        method = self.service(service_name.lstrip("/")).methods_by_name[method_name]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        stub = self._channel.unary_unary(
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        message = json_format.ParseDict(request, request_class())
        response, call = stub.with_call(message, timeout=timeout)
        return response, call

    def call(self, path: str, request: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Like :meth:`call_raw`, answering the proto3 JSON form with the original (snake_case) names."""
        response, _ = self.call_raw(path, request, timeout)
        return json_format.MessageToDict(response, preserving_proto_field_name=True)


# ---------------------------------------------------------------------------------------------------------
# §2 of the spec, read from the markdown
# ---------------------------------------------------------------------------------------------------------

SCALARS = {
    "string": FieldDescriptor.TYPE_STRING,
    "int64": FieldDescriptor.TYPE_INT64,
    "int32": FieldDescriptor.TYPE_INT32,
    "bool": FieldDescriptor.TYPE_BOOL,
}

#: Sentences of §2 that describe one shape under two names; each is applied to both names.
SAME_SHAPE = {
    # "ThreeDS1Parameters (nested, and also a top-level copy): 1 `acs_url`, ..."
    "ThreeDS1Parameters": (
        "ThreeDS1Parameters",
        "BookingFailure.PaymentFailureInformation.ThreeDS1Parameters",
    ),
    # "BookingFailure.PaymentFailureInformation: 5 ... A top-level PaymentFailureInformation with the same
    #  shape also exists."
    "BookingFailure.PaymentFailureInformation": (
        "BookingFailure.PaymentFailureInformation",
        "PaymentFailureInformation",
    ),
}


@dataclass
class SpecField:
    """One field as §2 states it. ``type_name`` is None when the spec gives no type for it."""

    number: int
    name: str
    type_name: str | None
    repeated: bool = False
    oneof: str | None = None
    is_enum: bool = False  # the spec says "enum" without naming the type


@dataclass
class SpecTables:
    """Messages (name → fields) and enums (name → {value name: number}) of §2.1–§2.6."""

    messages: dict[str, list[SpecField]] = field(default_factory=dict)
    reserved: dict[str, list[int]] = field(default_factory=dict)
    enums: dict[str, dict[str, int]] = field(default_factory=dict)
    #: enums defined inline on a field: (message, field name) → values
    field_enums: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)


_BOLD_HEADER = re.compile(r"\*\*([A-Z][\w.]*)\*\*( enum)?(?: \([^)]*\))?( enum)?:")
_PLAIN_HEADER = re.compile(r"^([A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*)( enum)?(?: \([^)]*\))?:\s")
_FIELD_START = re.compile(r"(\d+) `(\w+)`")
_ENUM_VALUE = re.compile(r"\b([A-Z][A-Z0-9_]*)=(\d+)")
_TYPE_TOKEN = re.compile(r"\s*(rep\s+)?(enum\b\s*)?(map<\s*\w+\s*,\s*\w+\s*>|[A-Za-z][\w.]*)?")


def section_2(text: str) -> str:
    """The text of §2.1 up to (not including) §2.7: the messages the BookingService carries."""
    start = text.index("### 2.1 ")
    end = text.index("### 2.7 ")
    return text[start:end]


def parse_spec(text: str) -> SpecTables:
    """Read every message table, inline field list and enum list of §2.1–§2.6."""
    tables = SpecTables()
    lines = section_2(text).splitlines()
    prose: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        header = re.match(r"^\*\*([A-Z][\w.]*)\*\*(?: \([^)]*\))?\s*$", line) or re.match(
            r"^([A-Z][\w.]*):\s*$", line
        )
        if header and nxt.startswith("|"):
            rows, i = _table_rows(lines, i + 1)
            _add_table(tables, header.group(1), rows)
            continue
        if not line.startswith("|") and not line.startswith("#"):
            prose.append(line)
        i += 1
    for name, is_enum, body in _statements(prose):
        _add_statement(tables, name, is_enum, body)
    for source, names in SAME_SHAPE.items():
        for target in names:
            if source in tables.messages and target not in tables.messages:
                tables.messages[target] = tables.messages[source]
    return tables


def _table_rows(lines: list[str], i: int) -> tuple[list[list[str]], int]:
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        if not set("".join(cells)) <= set("-: "):
            rows.append(cells)
        i += 1
    return rows, i


def _add_table(tables: SpecTables, name: str, rows: list[list[str]]) -> None:
    head, body = rows[0], rows[1:]
    if head[:2] == ["value", "#"]:  # an enum table (BookingFailure.Cause)
        tables.enums[name] = {r[0]: int(r[1]) for r in body}
        return
    assert head[:3] == ["#", "field", "type"], head
    fields = tables.messages.setdefault(name, [])
    for number, fname, ftype, *rest in body:
        notes = rest[0] if rest else ""
        if ftype == "reserved":
            tables.reserved.setdefault(name, []).append(int(number))
            continue
        repeated = ftype.startswith("rep ")
        type_name = ftype.removeprefix("rep ").strip()
        oneof = re.match(r"oneof `(\w+)`", notes)
        fields.append(SpecField(int(number), fname, type_name, repeated, oneof.group(1) if oneof else None))
        values = dict((k, int(v)) for k, v in _ENUM_VALUE.findall(notes))
        if values:
            tables.enums[type_name] = values


def _statements(prose: list[str]) -> Iterator[tuple[str, bool, str]]:
    """Split the non-table text into ``Name: body`` statements (a statement may span lines)."""
    starts: list[tuple[int, str, bool, int]] = []  # (offset, name, is_enum, body offset)
    text = ""
    for line in prose:
        base = len(text)
        plain = _PLAIN_HEADER.match(line)
        if plain:
            starts.append((base, plain.group(1), bool(plain.group(2)), base + plain.end()))
        for m in _BOLD_HEADER.finditer(line):
            starts.append((base + m.start(), m.group(1), bool(m.group(2) or m.group(3)), base + m.end()))
        text += line + " "
    starts.sort()
    for k, (_, name, is_enum, body_at) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        yield name, is_enum, text[body_at:end]


def _strip_parens(text: str) -> str:
    while True:
        stripped = re.sub(r"\([^()]*\)", "", text)
        if stripped == text:
            return text
        text = stripped


def _add_statement(tables: SpecTables, name: str, is_enum: bool, body: str) -> None:
    starts = list(_FIELD_START.finditer(body))
    if is_enum or not starts:
        values = dict((k, int(v)) for k, v in _ENUM_VALUE.findall(body))
        if values:
            tables.enums[name] = values
        return
    default_type = "string" if re.search(r"all (are )?strings", body, re.IGNORECASE) else None
    fields = tables.messages.setdefault(name, [])
    for k, m in enumerate(starts):
        segment = body[m.end() : starts[k + 1].start() if k + 1 < len(starts) else len(body)]
        fields.append(_inline_field(tables, name, int(m.group(1)), m.group(2), segment, default_type))


def _inline_field(
    tables: SpecTables, message: str, number: int, name: str, segment: str, default_type: str | None
) -> SpecField:
    """One ``N `name` [rep] [enum] Type [{...}] (notes)`` entry of an inline field list."""
    m = _TYPE_TOKEN.match(segment)
    assert m is not None
    repeated, is_enum, token = bool(m.group(1)), bool(m.group(2)), m.group(3)
    if token is not None:
        token = token.rstrip(".")  # "1 `offer_id` string." ends a sentence
    rest = segment[m.end() :]
    if token is not None and not (token in SCALARS or token.startswith("map<") or token[0].isupper()):
        token, rest = None, segment  # a lowercase word is prose, not a type
    braces = re.match(r"\s*\{([^}]*)\}", rest)
    if braces:
        inner = braces.group(1)
        values = dict((k, int(v)) for k, v in _ENUM_VALUE.findall(inner))
        if values:  # an enum spelled out on the field: "enum AuthMethod {A=0, ...}"
            tables.field_enums[(message, name)] = values
            if token:
                tables.enums.setdefault(token, values)
        elif token:  # a nested message spelled out on the field: "rep X {1 a (Type), 2 b}"
            nested = tables.messages.setdefault(token, [])
            for num, fname, ftype in re.findall(r"(\d+) (\w+)(?: \(([\w.]+)\))?", inner):
                nested.append(SpecField(int(num), fname, ftype or None))
    if token is None and not is_enum:
        token = default_type
    return SpecField(number, name, token, repeated, None, is_enum and token is None)


# ---------------------------------------------------------------------------------------------------------
# Comparison of the served descriptors with §2
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """What was checked, what differs, and what the spec does not pin down (with the reason)."""

    checked: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _find_message(pool: descriptor_pool.DescriptorPool, name: str) -> Descriptor | None:
    try:
        return pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
    except KeyError:
        return None


def _all_enums(desc: Descriptor) -> Iterator[EnumDescriptor]:
    yield from desc.enum_types
    for nested in desc.nested_types:
        yield from _all_enums(nested)


def _find_enum(pool: descriptor_pool.DescriptorPool, name: str, context: Descriptor) -> EnumDescriptor | None:
    """Resolve an enum name of the spec: fully qualified in the package, or unique by its short name."""
    try:
        return pool.FindEnumTypeByName(f"{PACKAGE}.{name}")
    except KeyError:
        pass
    file = context.file
    candidates = [e for e in file.enum_types_by_name.values() if e.name == name]
    for message in file.message_types_by_name.values():
        candidates += [e for e in _all_enums(message) if e.name == name]
    return candidates[0] if len(candidates) == 1 else None


def _type_matches(spec: SpecField, served: FieldDescriptor) -> bool:
    assert spec.type_name is not None
    if spec.type_name.startswith("map<"):
        entry = served.message_type
        if entry is None or not entry.GetOptions().map_entry:
            return False
        key, value = re.findall(r"\w+", spec.type_name)[1:]
        return (entry.fields_by_name["key"].type, entry.fields_by_name["value"].type) == (
            SCALARS[key],
            SCALARS[value],
        )
    if spec.type_name in SCALARS:
        return served.type == SCALARS[spec.type_name]
    target = served.message_type or served.enum_type
    if target is None:
        return False
    if "." in spec.type_name:
        return bool(target.full_name == f"{PACKAGE}.{spec.type_name}")
    return bool(target.name == spec.type_name)


def _is_repeated(served: FieldDescriptor) -> bool:
    # protobuf 7 prefers ``is_repeated``; older releases only have ``label``.
    flag = getattr(served, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return bool(served.label == FieldDescriptor.LABEL_REPEATED)


def compare(tables: SpecTables, pool: descriptor_pool.DescriptorPool) -> Comparison:
    """Compare every §2 message and enum with what the server's reflection serves, in both directions."""
    out = Comparison()
    for mname, fields in sorted(tables.messages.items()):
        desc = _find_message(pool, mname)
        if desc is None:
            out.mismatches.append(f"{mname}: message not served")
            continue
        _compare_message(tables, mname, fields, desc, out)
    for ename, values in sorted(tables.enums.items()):
        enum = _find_enum(pool, ename, pool.FindServiceByName(BOOKING_SERVICE).methods[0].input_type)
        if enum is None:
            out.mismatches.append(f"enum {ename}: not served (or ambiguous)")
            continue
        _compare_enum(f"enum {ename}", values, enum, out)
    return out


def _compare_message(
    tables: SpecTables, mname: str, fields: list[SpecField], desc: Descriptor, out: Comparison
) -> None:
    served_numbers = set(desc.fields_by_number)
    for spec in fields:
        where = f"{mname}.{spec.name}"
        served = desc.fields_by_name.get(spec.name)
        if served is None:
            out.mismatches.append(f"{where}: field not served")
            continue
        served_numbers.discard(served.number)
        if served.number != spec.number:
            out.mismatches.append(f"{where}: number {served.number}, spec says {spec.number}")
        if _is_repeated(served) != (
            spec.repeated or bool(spec.type_name and spec.type_name.startswith("map<"))
        ):
            out.mismatches.append(
                f"{where}: repeated={_is_repeated(served)}, spec says repeated={spec.repeated}"
            )
        if spec.oneof and (served.containing_oneof is None or served.containing_oneof.name != spec.oneof):
            out.mismatches.append(f"{where}: not in oneof {spec.oneof}")
        if spec.is_enum:
            if served.enum_type is None:
                out.mismatches.append(f"{where}: not an enum, spec says enum")
            out.skipped.append(f"{where}: type name (the spec says only 'enum'; values are checked)")
        elif spec.type_name is None:
            out.skipped.append(f"{where}: type (the spec gives the name and number but no type)")
        elif not _type_matches(spec, served):
            served_type = (served.message_type or served.enum_type or served).__class__.__name__
            target = served.message_type or served.enum_type
            shown = target.full_name if target is not None else f"scalar type {served.type}"
            out.mismatches.append(f"{where}: type {shown} ({served_type}), spec says {spec.type_name}")
        inline = tables.field_enums.get((mname, spec.name))
        if inline is not None and served.enum_type is not None:
            _compare_enum(f"{where} (enum)", inline, served.enum_type, out)
        out.checked.append(where)
    proto = DescriptorProto()
    desc.CopyToProto(proto)
    reserved = {n for r in proto.reserved_range for n in range(r.start, r.end)}
    for number in tables.reserved.get(mname, []):
        if number in desc.fields_by_number or number not in reserved:
            out.mismatches.append(f"{mname}: number {number} must be reserved")
        out.checked.append(f"{mname}: reserved {number}")
    for number in sorted(served_numbers):
        out.mismatches.append(f"{mname}.{desc.fields_by_number[number].name}: served but not in §2")


def _compare_enum(where: str, values: dict[str, int], enum: EnumDescriptor, out: Comparison) -> None:
    served = {v.name: v.number for v in enum.values}
    if served != values:
        extra = sorted(set(served.items()) - set(values.items()))
        missing = sorted(set(values.items()) - set(served.items()))
        out.mismatches.append(f"{where}: served adds {extra}, lacks {missing}")
    out.checked.append(where)


# ---------------------------------------------------------------------------------------------------------
# Command line (a grpcurl stand-in)
# ---------------------------------------------------------------------------------------------------------


def _channel(target: str, ca_file: str | None) -> grpc.Channel:
    if ca_file:
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(Path(ca_file).read_bytes()))
    return grpc.insecure_channel(target)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target", help="HOST:PORT")
    parser.add_argument("command", choices=("list", "describe", "call", "check-spec"))
    parser.add_argument("name", nargs="?", help="service (describe) or Service/Method (call)")
    parser.add_argument("body", nargs="?", default="{}", help="request as JSON (call)")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--cacert", help="PEM file of the CA (or self-signed certificate) for TLS")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    metadata = basic_metadata(args.user, args.password) if args.user or args.password else ()
    with _channel(args.target, args.cacert) as channel:
        client = ReflectionClient(channel, metadata)
        try:
            if args.command == "list":
                print("\n".join(client.services()))
            elif args.command == "describe":
                service = client.service(args.name or BOOKING_SERVICE)
                for m in service.methods:
                    print(f"rpc {m.name}({m.input_type.full_name}) returns ({m.output_type.full_name})")
            elif args.command == "call":
                print(json.dumps(client.call(args.name or "", json.loads(args.body), args.timeout), indent=2))
            else:
                result = compare(parse_spec(SPEC_PATH.read_text(encoding="utf-8")), client.pool)
                for line in result.mismatches:
                    print(f"MISMATCH {line}")
                for line in result.skipped:
                    print(f"SKIP {line}")
                checked, bad, skipped = len(result.checked), len(result.mismatches), len(result.skipped)
                print(f"{checked} checked, {bad} mismatches, {skipped} skipped")
                return 1 if result.mismatches else 0
        except grpc.RpcError as exc:
            print(f"error: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
