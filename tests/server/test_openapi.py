"""``bookcheck openapi`` (issue 16): a valid OpenAPI 3.1 document that agrees with the JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from bookcheck.cli import main
from booking_protocol import codegen
from booking_protocol.openapi import POST_METHODS, build_document

SCHEMA_DIR = Path(codegen.__file__).resolve().parent / codegen.SCHEMA_DIR_NAME


def _inline(node: Any, resolve: Any, seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``$ref`` replaced by what it points at (the messages have no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            assert ref not in seen, f"cycle through {ref}"
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_inline(resolve(ref), resolve, (*seen, ref)), **_inline(rest, resolve, seen)}
        return {k: _inline(v, resolve, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, resolve, seen) for v in node]
    return node


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_validator_would_catch_a_broken_document(document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(document))
    broken["paths"]["/v3/CreateBooking"]["post"]["responses"]["200"].pop("description")
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


@pytest.mark.parametrize("message", [m + s for m in POST_METHODS for s in ("Request", "Response")])
def test_bodies_agree_with_the_json_schemas(document: dict[str, Any], message: str) -> None:
    """Resolved completely, each body schema of the document is the committed JSON Schema."""
    schema = json.loads((SCHEMA_DIR / f"{message}.schema.json").read_text())
    components = document["components"]["schemas"]
    method, kind = (message[:-7], "Request") if message.endswith("Request") else (message[:-8], "Response")
    operation = document["paths"][f"/v3/{method}"]["post"]
    if kind == "Request":
        ref = operation["requestBody"]["content"]["application/json"]["schema"]
    else:
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]
    in_document = _inline(ref, lambda r: components[r.removeprefix("#/components/schemas/")])
    in_schema = _inline({"$ref": schema["$ref"]}, lambda r: schema["$defs"][r.removeprefix("#/$defs/")])
    assert in_document == in_schema
    assert in_document["properties"]  # a real comparison, not two empty objects


def test_every_method_auth_errors_and_links(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert set(paths) == {"/v3/HealthCheck", *(f"/v3/{m}" for m in POST_METHODS)}
    assert document["components"]["securitySchemes"]["basicAuth"] == {
        "type": "http",
        "scheme": "basic",
        "description": "HTTP Basic on every path (D19)",
    }
    assert document["security"] == [{"basicAuth": []}]
    for method in POST_METHODS:
        responses = paths[f"/v3/{method}"]["post"]["responses"]
        for status in ("400", "401", "413"):
            assert responses[status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "status", "message"]
    links = paths["/v3/CreateBooking"]["post"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "GetBookingStatus",
        "UpdateBooking",
        "ListBookings",
    }
    assert links["GetBookingStatus"]["requestBody"] == {"booking_id": "$response.body#/booking/booking_id"}
    lease_links = paths["/v3/CreateLease"]["post"]["responses"]["200"]["links"]
    assert [link["operationId"] for link in lease_links.values()] == ["CreateBooking"]


def test_cli_writes_the_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "openapi.json"
    assert main(["openapi", "-o", str(out), "--server-url", "http://127.0.0.1:8080"]) == 0
    written = json.loads(out.read_text())
    assert written["servers"] == [{"url": "http://127.0.0.1:8080"}]
    validate(written)
    assert main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == build_document()
    assert main(["openapi", "-o", str(tmp_path / "no" / "such" / "dir.json")]) == 2
    assert "cannot write" in capsys.readouterr().err
