"""Regenerate everything derived from ``booking.proto``.

One source, two products:

* the protobuf/gRPC Python modules (``booking_pb2.py``, ``booking_pb2.pyi``, ``booking_pb2_grpc.py``),
  made by ``grpc_tools.protoc`` (pinned in the ``dev`` extra so the output is byte-stable);
* the JSON Schemas of every request and response body (``schemas/*.schema.json``), made by walking the
  descriptors of those same modules, so the schemas can never disagree with the proto.

Run ``python -m booking_protocol.codegen`` after editing the proto; ``tests/test_protocol_codegen.py``
regenerates into a temporary folder and fails if the committed files differ.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
PROTO = PACKAGE_DIR / "booking.proto"
GENERATED_MODULES = ("booking_pb2.py", "booking_pb2.pyi", "booking_pb2_grpc.py")
SCHEMA_DIR_NAME = "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "https://bookcheck.invalid/schemas/booking-v3/"

#: The bodies that travel over the wire (REST path /v3/<Method>): request and response of each method.
BODY_MESSAGES = (
    "BatchAvailabilityLookupRequest",
    "BatchAvailabilityLookupResponse",
    "CheckAvailabilityRequest",
    "CheckAvailabilityResponse",
    "CreateLeaseRequest",
    "CreateLeaseResponse",
    "CreateBookingRequest",
    "CreateBookingResponse",
    "UpdateBookingRequest",
    "UpdateBookingResponse",
    "GetBookingStatusRequest",
    "GetBookingStatusResponse",
    "ListBookingsRequest",
    "ListBookingsResponse",
)

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


def run_protoc(out_dir: Path) -> None:
    """Generate the Python modules for ``booking.proto`` into ``out_dir/booking_protocol``."""
    from grpc_tools import protoc  # dev dependency; imported here so the runtime never needs it

    include = Path(protoc.__file__).resolve().parent / "_proto"
    work = Path(tempfile.mkdtemp(prefix="bookcheck-protoc-"))
    try:
        (work / "booking_protocol").mkdir()
        shutil.copy(PROTO, work / "booking_protocol" / "booking.proto")
        (out_dir / "booking_protocol").mkdir(parents=True, exist_ok=True)
        args = [
            "protoc",
            f"-I{work}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            "booking_protocol/booking.proto",
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed on booking_protocol/booking.proto")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load_pb2(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("_bookcheck_codegen_pb2", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------------------
# JSON Schema from descriptors
# --------------------------------------------------------------------------------------------------------


def _def_name(desc: Descriptor | EnumDescriptor) -> str:
    """``ext.maps.booking.partner.v3.BookingFailure.Cause`` -> ``BookingFailure.Cause``."""
    return desc.full_name.removeprefix(desc.file.package + ".")


def _enum_schema(desc: EnumDescriptor) -> dict[str, Any]:
    names = [v.name for v in desc.values]
    numbers = [v.number for v in desc.values]
    return {
        "description": f"enum {_def_name(desc)}: the value's name, or (as proto3 JSON allows) its number",
        "anyOf": [{"type": "string", "enum": names}, {"type": "integer", "enum": numbers}, {"type": "null"}],
    }


def _scalar_schema(field: FieldDescriptor) -> dict[str, Any]:
    # proto3 JSON: 64-bit integers as strings or numbers, 32-bit ones as numbers (parsers take strings too),
    # and null anywhere means "the default value".
    t = field.type
    if t in _INT64_TYPES:
        return {"type": ["string", "integer", "null"], "pattern": r"^-?[0-9]+$"}
    if t in _INT32_TYPES:
        return {"type": ["integer", "string", "null"], "pattern": r"^-?[0-9]+$"}
    if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return {"type": ["number", "string", "null"]}
    if t == FieldDescriptor.TYPE_BOOL:
        return {"type": ["boolean", "null"]}
    if t == FieldDescriptor.TYPE_BYTES:
        return {"type": ["string", "null"], "contentEncoding": "base64"}
    return {"type": ["string", "null"]}


def _value_schema(field: FieldDescriptor, refs: list[Descriptor | EnumDescriptor]) -> dict[str, Any]:
    target: Descriptor | EnumDescriptor | None = None
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        target = field.message_type
    elif field.type == FieldDescriptor.TYPE_ENUM:
        target = field.enum_type
    if target is None:
        return _scalar_schema(field)
    refs.append(target)
    return {"$ref": f"#/$defs/{_def_name(target)}"}


def _is_map(field: FieldDescriptor) -> bool:
    mt = field.message_type
    return bool(mt is not None and mt.GetOptions().map_entry)


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf >= 5 offers ``is_repeated``; older releases only ``label``.
    flag = getattr(field, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return bool(getattr(field, "label") == FieldDescriptor.LABEL_REPEATED)  # noqa: B009  # pragma: no cover


def _message_schema(desc: Descriptor, refs: list[Descriptor | EnumDescriptor]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for field in desc.fields:
        if _is_map(field):
            assert field.message_type is not None
            value_field = field.message_type.fields_by_name["value"]
            schema: dict[str, Any] = {
                "type": ["object", "null"],
                "additionalProperties": _value_schema(value_field, refs),
            }
        elif _is_repeated(field):
            schema = {"type": ["array", "null"], "items": _value_schema(field, refs)}
        else:
            schema = _value_schema(field, refs)
        entry = {**schema, "description": f"field {field.number}"}
        props[field.name] = entry
        if field.json_name != field.name:
            props[field.json_name] = {**entry, "description": f"field {field.number} (lowerCamelCase)"}
    return {
        "type": ["object", "null"],
        "description": f"message {_def_name(desc)}; fields by proto name (snake_case) or lowerCamelCase",
        "properties": props,
    }


def body_schema(desc: Descriptor) -> dict[str, Any]:
    """A self-contained JSON Schema for one body message, with every message it reaches in ``$defs``."""
    defs: dict[str, Any] = {}
    pending: list[Descriptor | EnumDescriptor] = [desc]
    while pending:
        item = pending.pop()
        name = _def_name(item)
        if name in defs:
            continue
        if isinstance(item, EnumDescriptor):
            defs[name] = _enum_schema(item)
        else:
            refs: list[Descriptor | EnumDescriptor] = []
            defs[name] = _message_schema(item, refs)
            pending.extend(refs)
    root = _def_name(desc)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_ID_BASE}{root}.schema.json",
        "title": root,
        "description": (
            f"JSON body of {desc.full_name} (Booking Server API v3), generated from booking.proto "
            "by booking_protocol.codegen. Do not edit by hand."
        ),
        "$ref": f"#/$defs/{root}",
        "$defs": dict(sorted(defs.items())),
    }


def write_schemas(pb2: Any, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in BODY_MESSAGES:
        desc = pb2.DESCRIPTOR.message_types_by_name[name]
        text = json.dumps(body_schema(desc), indent=2, sort_keys=False) + "\n"
        (out_dir / f"{name}.schema.json").write_text(text, encoding="utf-8")


def generate(out_root: Path) -> Path:
    """Generate modules and schemas under ``out_root/booking_protocol``; return that folder."""
    run_protoc(out_root)
    pkg = out_root / "booking_protocol"
    write_schemas(_load_pb2(pkg / "booking_pb2.py"), pkg / SCHEMA_DIR_NAME)
    return pkg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m booking_protocol.codegen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        pkg = generate(Path(tmp))
        for name in GENERATED_MODULES:
            shutil.copy(pkg / name, PACKAGE_DIR / name)
        target = PACKAGE_DIR / SCHEMA_DIR_NAME
        target.mkdir(exist_ok=True)
        for old in target.glob("*.schema.json"):
            old.unlink()
        for path in sorted((pkg / SCHEMA_DIR_NAME).glob("*.schema.json")):
            shutil.copy(path, target / path.name)
    print(f"regenerated {', '.join(GENERATED_MODULES)} and {len(BODY_MESSAGES)} schemas in {PACKAGE_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
