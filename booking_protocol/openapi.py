"""The OpenAPI 3.1 document of the REST form of Booking Server API v3 (``bookcheck openapi``).

Generated, never written by hand: the body schemas are :func:`booking_protocol.codegen.body_schema` of the
same descriptors that make ``schemas/*.schema.json``, with their ``$defs`` moved to
``components/schemas`` (``tests/protocol/test_openapi.py`` proves the two agree). Around them this module
adds only what the proto cannot say: the paths (``/v3/<Method>``, spec §1 and D1/D2), HTTP Basic (D19), the
error body (D16) and the status codes of ``docs/server.md``, and links between operations so that stateful
tools (Schemathesis, Postman flows) can chain a booking's id from CreateBooking into GetBookingStatus,
UpdateBooking and ListBookings, and a lease's id from CreateLease into CreateBooking.

The reference server serves the same document at ``GET /openapi.json`` (behind its credentials).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from booking_protocol import booking_pb2
from booking_protocol.codegen import body_schema

OPENAPI_VERSION = "3.1.0"
REF_PREFIX = "#/components/schemas/"
ERROR = "Error"

#: Methods in the order of the spec's method table; HealthCheck is the one GET.
POST_METHODS = (
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateLease",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
)

#: HTTP status -> description, for the errors a method can answer (docs/server.md "Errors" and "Limits")
_COMMON_ERRORS = {
    "400": "malformed JSON, a field of the wrong type, an unknown enum, a oneof with two members, an "
    "over-long integer, an invalid gzip/deflate body, a missing required field, an unknown merchant "
    "or service",
    "401": "missing or wrong HTTP Basic credentials (when the server has some)",
    "408": "the request body did not arrive within the body timeout",
    "413": "request body over the size limit (1 MiB by default), before or after decompression",
    "415": "a Content-Encoding other than gzip, deflate or identity",
    "503": "too many open connections",
}
_NOT_FOUND = {
    "CreateBooking": "unknown lease_ref.lease_id",
    "UpdateBooking": "unknown booking_id (400 with --unknown-booking-status 400)",
    "GetBookingStatus": "unknown booking_id (400 with --unknown-booking-status 400)",
    "ListBookings": "unknown user_id, only with --unknown-user 404",
}

_SUMMARIES = {
    "HealthCheck": "Is the server up (spec §3.10)",
    "BatchAvailabilityLookup": "Availability of several slot times of one merchant (spec §3.1)",
    "CheckAvailability": "Open spots of one slot (legacy, spec §3.1)",
    "CreateLease": "Hold one spot for a while (spec §3.4)",
    "CreateBooking": "Book a slot, idempotent under idempotency_token (spec §3.2, §3.3)",
    "UpdateBooking": "Cancel, reschedule or change the party size of a booking (spec §3.5)",
    "GetBookingStatus": "Status and prepayment status of one booking (spec §3.6)",
    "ListBookings": "A user's bookings (spec §3.7)",
}


def error_schema() -> dict[str, Any]:
    """The body of every non-2xx answer (D16)."""
    return {
        "type": "object",
        "description": "error body of every non-2xx answer (decision D16)",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "status", "message"],
                "properties": {
                    "code": {"type": "integer", "description": "the HTTP status again"},
                    "status": {
                        "type": "string",
                        "description": "canonical gRPC code name, e.g. INVALID_ARGUMENT",
                    },
                    "message": {
                        "type": "string",
                        "description": "one line; names the field when one is at fault",
                    },
                },
            }
        },
    }


def _rewrite_refs(node: Any) -> Any:
    """``#/$defs/X`` (a self-contained JSON Schema) -> ``#/components/schemas/X`` (the document)."""
    if isinstance(node, dict):
        return {
            k: (
                REF_PREFIX + v.removeprefix("#/$defs/")
                if k == "$ref" and isinstance(v, str)
                else _rewrite_refs(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def component_schemas() -> dict[str, Any]:
    """Every message and enum the bodies reach, as the JSON Schemas define them, plus the error body."""
    out: dict[str, Any] = {}
    for method in POST_METHODS:
        for suffix in ("Request", "Response"):
            schema = body_schema(booking_pb2.DESCRIPTOR.message_types_by_name[method + suffix])
            for name, definition in schema["$defs"].items():
                out[name] = _rewrite_refs(definition)
    out[ERROR] = error_schema()
    return dict(sorted(out.items()))


def _json(schema_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF_PREFIX + schema_ref}}}


def _errors(method: str) -> dict[str, Any]:
    codes = dict(_COMMON_ERRORS)
    if method in _NOT_FOUND:
        codes["404"] = _NOT_FOUND[method]
    return {code: {"description": text, "content": _json(ERROR)} for code, text in sorted(codes.items())}


#: links: operation -> {link name: (target operation, request body with runtime expressions)}
_BOOKING = "$response.body#/booking"
LINKS: dict[str, dict[str, tuple[str, Any]]] = {
    "CreateBooking": {
        "GetBookingStatus": ("GetBookingStatus", {"booking_id": f"{_BOOKING}/booking_id"}),
        "CancelBooking": (
            "UpdateBooking",
            {"booking": {"booking_id": f"{_BOOKING}/booking_id", "status": "CANCELED"}},
        ),
        "ListBookings": ("ListBookings", {"user_id": f"{_BOOKING}/user_information/user_id"}),
    },
    "CreateLease": {
        "CreateBookingOnLease": (
            "CreateBooking",
            {
                "slot": "$response.body#/lease/slot",
                "lease_ref": {"lease_id": "$response.body#/lease/lease_id"},
                "user_information": {"user_id": "$response.body#/lease/user_reference"},
                "idempotency_token": "$response.body#/lease/lease_id",
            },
        ),
    },
}


def _links(method: str) -> dict[str, Any]:
    return {
        name: {
            "operationId": target,
            "requestBody": body,
            "description": f"chain the {method} answer into {target}",
        }
        for name, (target, body) in LINKS.get(method, {}).items()
    }


def _post_operation(method: str) -> dict[str, Any]:
    ok: dict[str, Any] = {
        "description": f"{method}Response (a business failure is a 200 too, D17)",
        "content": _json(method + "Response"),
    }
    links = _links(method)
    if links:
        ok["links"] = links
    return {
        "operationId": method,
        "summary": _SUMMARIES[method],
        "requestBody": {
            "required": False,
            "description": "proto3 JSON; an empty body counts as {}",
            "content": _json(method + "Request"),
        },
        "responses": {"200": ok, **_errors(method)},
    }


def _health_operation() -> dict[str, Any]:
    return {
        "operationId": "HealthCheck",
        "summary": _SUMMARIES["HealthCheck"],
        "responses": {
            "200": {
                "description": "serving",
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"status": {"type": "string"}}}
                    }
                },
            },
            "401": {"description": _COMMON_ERRORS["401"], "content": _json(ERROR)},
            "503": {"description": "not serving, or too many open connections", "content": _json(ERROR)},
        },
    }


def build_document(server_url: str | None = None) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document; ``server_url`` fills ``servers`` (none: relative to the document)."""
    paths: dict[str, Any] = {"/v3/HealthCheck": {"get": _health_operation()}}
    for method in POST_METHODS:
        paths[f"/v3/{method}"] = {"post": _post_operation(method)}
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Booking Server API v3 (REST/JSON form)",
            "version": "3",
            "description": (
                "The partner-side Booking Server API v3, as bookcheck's reference server serves it. Bodies "
                "are proto3 JSON (snake_case or lowerCamelCase names, int64 as string or number, enums by "
                "name or number). Generated from booking.proto by bookcheck (`bookcheck openapi`)."
            ),
        },
        "security": [{"basicAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "HTTP Basic on every path (D19)",
                }
            },
            "schemas": component_schemas(),
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


@functools.lru_cache(maxsize=1)
def openapi_bytes() -> bytes:
    """The document as compact JSON, built once (what ``GET /openapi.json`` answers)."""
    return json.dumps(build_document(), separators=(",", ":")).encode()
