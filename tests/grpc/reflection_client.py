"""A gRPC client that knows nothing of bookcheck's Python modules, and the §2 tables it checks against.

Why it exists: the issue's promise is that *any* reflection-based tool (grpcurl, Postman, a partner's own
client) can discover and call the reference server. A client that imported ``booking_protocol`` would
prove nothing about what is actually served, so this one imports neither ``booking_protocol`` nor
``mock_server``. It asks the server's reflection service for the file descriptors (through grpcio-reflection's
own ``ProtoReflectionDescriptorDatabase``, which drives ``ServerReflectionStub``), builds message classes with
``descriptor_pool`` + ``message_factory.GetMessageClass``, and calls methods by path.

It also reads the field tables of §2.1–§2.6 straight from the repository's markdown spec
(``docs/spec.md``), so "the served names, numbers and types equal §2" is checked against the spec text,
not against our own ``.proto`` (which could share a mistake with the server).

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

#: bookcheck's own account of the spec, kept in the repository (never a path outside it).
SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "spec.md"
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

_HEADER = re.compile(r"^\*\*([A-Z][\w.]*)\*\* \((message|enum)\)\s*$")
_MESSAGE_COLUMNS = ["#", "field", "type", "label", "presence", "notes"]
_ENUM_COLUMNS = ["value", "#", "meaning"]
_LABEL = re.compile(r"^(?:(singular|repeated|map|reserved)|oneof (\w+))$")
_TYPE = re.compile(r"^(?:map<\w+, \w+>|[A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*|" + "|".join(SCALARS) + ")$")
_NONE = "—"


class SpecFormatError(ValueError):
    """A §2 table that does not follow the layout docs/spec.md promises; it is a bug in the spec text.

    The parser refuses it rather than skipping the row, so a field can never silently drop out of the
    comparison.
    """


@dataclass
class SpecField:
    """One row of a §2 message table."""

    number: int
    name: str
    type_name: str
    repeated: bool = False
    oneof: str | None = None
    is_map: bool = False


@dataclass
class SpecTables:
    """Messages (name → fields), reserved numbers and enums (name → {value: number}) of §2.1–§2.6."""

    messages: dict[str, list[SpecField]] = field(default_factory=dict)
    reserved: dict[str, list[int]] = field(default_factory=dict)
    enums: dict[str, dict[str, int]] = field(default_factory=dict)


def section_2(text: str) -> str:
    """The text of §2.1 up to (not including) §2.7: the messages the BookingService carries."""
    start = text.index("### 2.1 ")
    end = text.index("### 2.7 ")
    return text[start:end]


def parse_spec(text: str) -> SpecTables:
    """Read every ``**Name** (message|enum)`` table of §2.1–§2.6 (layout: docs/spec.md, "How to read")."""
    tables = SpecTables()
    pending: tuple[str, str] | None = None
    rows: list[list[str]] = []
    for number, line in enumerate(section_2(text).splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            if pending is not None:
                raise SpecFormatError(f"§2 line {number}: {pending[0]} has no table before the next header")
            pending = (header.group(1), header.group(2))
        elif line.startswith("|"):
            if pending is None:
                raise SpecFormatError(f"§2 line {number}: a table without a **Name** (message|enum) header")
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows and pending is not None:
            _add_table(tables, pending, rows)
            pending, rows = None, []
    if pending is not None:
        _add_table(tables, pending, rows)
    return tables


def _add_table(tables: SpecTables, header: tuple[str, str], rows: list[list[str]]) -> None:
    name, kind = header
    if name in tables.messages or name in tables.enums:
        raise SpecFormatError(f"{name}: described twice in §2")
    head, body = rows[0], [r for r in rows[1:] if not set("".join(r)) <= set("-: ")]
    if kind == "enum":
        _expect_columns(name, head, _ENUM_COLUMNS)
        tables.enums[name] = {row[0]: _number(name, row[1]) for row in body}
        return
    _expect_columns(name, head, _MESSAGE_COLUMNS)
    fields = tables.messages.setdefault(name, [])
    for row in body:
        if len(row) != len(_MESSAGE_COLUMNS):
            raise SpecFormatError(f"{name}: row {row} has {len(row)} cells, not {len(_MESSAGE_COLUMNS)}")
        spec = _field_row(name, row)
        if spec is None:
            tables.reserved.setdefault(name, []).append(_number(name, row[0]))
        else:
            fields.append(spec)


def _expect_columns(name: str, head: list[str], columns: list[str]) -> None:
    if head != columns:
        raise SpecFormatError(f"{name}: columns {head}, expected {columns}")


def _number(name: str, cell: str) -> int:
    if not cell.isdigit():
        raise SpecFormatError(f"{name}: {cell!r} is not a field or value number")
    return int(cell)


def _field_row(message: str, row: list[str]) -> SpecField | None:
    """One message row as a SpecField, or None for a ``reserved`` row."""
    number, name, type_name, label = _number(message, row[0]), row[1], row[2], row[3]
    kind = _LABEL.match(label)
    if kind is None:
        raise SpecFormatError(f"{message}.{name}: unknown label {label!r}")
    if kind.group(1) == "reserved":
        if (name, type_name) != (_NONE, _NONE):
            raise SpecFormatError(f"{message}: reserved {number} must have field and type '{_NONE}'")
        return None
    if not _TYPE.match(type_name):
        raise SpecFormatError(f"{message}.{name}: type {type_name!r} is not a scalar, map<K, V> or type name")
    if (kind.group(1) == "map") != type_name.startswith("map<"):
        raise SpecFormatError(f"{message}.{name}: label 'map' goes with a map<K, V> type and only with it")
    return SpecField(
        number,
        name,
        type_name,
        repeated=kind.group(1) == "repeated",
        oneof=kind.group(2),
        is_map=kind.group(1) == "map",
    )


# ---------------------------------------------------------------------------------------------------------
# Comparison of the served descriptors with §2
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """What was checked and what differs."""

    checked: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


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
    if spec.is_map:
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
    """Compare §2 with what the server's reflection serves, in both directions.

    Every described message and enum must be served as described, and every message and enum the
    BookingService's methods can carry must be described.
    """
    out = Comparison()
    for mname, fields in sorted(tables.messages.items()):
        desc = _find_message(pool, mname)
        if desc is None:
            out.mismatches.append(f"{mname}: message not served")
            continue
        _compare_message(tables, mname, fields, desc, out)
    service = pool.FindServiceByName(BOOKING_SERVICE)
    for ename, values in sorted(tables.enums.items()):
        enum = _find_enum(pool, ename, service.methods[0].input_type)
        if enum is None:
            out.mismatches.append(f"enum {ename}: not served (or ambiguous)")
            continue
        _compare_enum(f"enum {ename}", values, enum, out)
    _compare_reachable(tables, service, out)
    return out


def _reachable(service: ServiceDescriptor) -> set[str]:
    """Full names of every message and enum the service's requests and responses can contain."""
    seen: set[str] = set()
    todo: list[Descriptor] = [m.input_type for m in service.methods] + [
        m.output_type for m in service.methods
    ]
    while todo:
        desc = todo.pop()
        if desc.full_name in seen:
            continue
        if not desc.GetOptions().map_entry:  # map<K, V> entries are implied by the map type
            seen.add(desc.full_name)
        for served in desc.fields:
            if served.message_type is not None:
                todo.append(served.message_type)
            if served.enum_type is not None:
                seen.add(served.enum_type.full_name)
    return seen


def _compare_reachable(tables: SpecTables, service: ServiceDescriptor, out: Comparison) -> None:
    described = {f"{PACKAGE}.{name}" for name in [*tables.messages, *tables.enums]}
    for full_name in sorted(_reachable(service)):
        short = full_name.removeprefix(f"{PACKAGE}.")
        if full_name not in described:
            out.mismatches.append(f"{short}: served by {service.name} but not described in §2")
        out.checked.append(f"{short}: described")


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
        if _is_repeated(served) != (spec.repeated or spec.is_map):
            out.mismatches.append(
                f"{where}: repeated={_is_repeated(served)}, spec says repeated={spec.repeated}"
            )
        served_oneof = served.containing_oneof.name if served.containing_oneof is not None else None
        if served_oneof != spec.oneof:
            out.mismatches.append(f"{where}: oneof {served_oneof}, spec says {spec.oneof}")
        if not _type_matches(spec, served):
            target = served.message_type or served.enum_type
            shown = target.full_name if target is not None else f"scalar type {served.type}"
            out.mismatches.append(f"{where}: type {shown}, spec says {spec.type_name}")
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
                print(f"{len(result.checked)} checked, {len(result.mismatches)} mismatches")
                return 1 if result.mismatches else 0
        except grpc.RpcError as exc:
            print(f"error: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
