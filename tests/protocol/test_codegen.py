"""The committed protobuf modules and JSON Schemas are exactly what booking.proto generates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from booking_protocol import booking_pb2, codegen

PKG = Path(codegen.__file__).resolve().parent


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("grpc_tools", reason="grpcio-tools is a dev dependency")
    return codegen.generate(tmp_path_factory.mktemp("gen"))


@pytest.mark.parametrize("name", codegen.GENERATED_MODULES)
def test_generated_module_in_sync(regenerated: Path, name: str) -> None:
    fresh = (regenerated / name).read_text(encoding="utf-8")
    committed = (PKG / name).read_text(encoding="utf-8")
    assert fresh == committed, f"{name} is stale: run `python -m booking_protocol.codegen`"


def test_schemas_in_sync(regenerated: Path) -> None:
    fresh = sorted(p.name for p in (regenerated / "schemas").glob("*.schema.json"))
    committed = sorted(p.name for p in (PKG / "schemas").glob("*.schema.json"))
    assert fresh == committed
    for name in fresh:
        assert (regenerated / "schemas" / name).read_text() == (PKG / "schemas" / name).read_text(), name


@pytest.mark.parametrize("name", codegen.BODY_MESSAGES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((PKG / "schemas" / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((PKG / "schemas" / f"{name}.schema.json").read_text()))


def test_schema_accepts_every_proto3_json_spelling() -> None:
    v = _validator("CreateBookingRequest")
    snake = {
        "slot": {
            "merchant_id": "m",
            "start_sec": "1606467600",
            "duration_sec": 1800,
            "resources": {"party_size": 2},
            "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
        },
        "user_information": {"user_id": "1", "given_name": "A"},
        "idempotency_token": "t",
    }
    camel = {
        "slot": {
            "merchantId": "m",
            "startSec": 1606467600,
            "durationSec": "1800",
            "resources": {"partySize": "2"},
            "confirmationMode": 1,
        },
        "userInformation": {"userId": "1"},
        "idempotencyToken": "t",
    }
    assert list(v.iter_errors(snake)) == []
    assert list(v.iter_errors(camel)) == []


def test_schema_rejects_wrong_types() -> None:
    v = _validator("CreateBookingResponse")
    bad = {"booking": {"booking_id": 7, "status": "BOOKED", "slot": {"start_sec": "soon"}}}
    paths = sorted("/".join(map(str, e.absolute_path)) for e in v.iter_errors(bad))
    assert paths == ["booking/booking_id", "booking/slot/start_sec", "booking/status"]


def test_schema_field_numbers_match_descriptors() -> None:
    schema = json.loads((PKG / "schemas" / "CreateBookingResponse.schema.json").read_text())
    failure = schema["$defs"]["BookingFailure"]["properties"]
    for field in booking_pb2.BookingFailure.DESCRIPTOR.fields:
        assert failure[field.name]["description"] == f"field {field.number}"
    cause = schema["$defs"]["BookingFailure.Cause"]["anyOf"][0]["enum"]
    assert cause == list(booking_pb2.BookingFailure.Cause.keys())
