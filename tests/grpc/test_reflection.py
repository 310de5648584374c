"""Discovery by a client that knows nothing of our modules: reflection, every method, §2 shapes, health.

``reflection_client`` imports neither ``booking_protocol`` nor ``mock_server`` (checked below), and the
field tables it compares with come from the repository's spec (``docs/spec.md``), not from our ``.proto``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import reflection_client as rc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpcroom_helpers import MERCHANT, SERVICE, Servers, next_start

#: The methods §11 names for the gRPC form.
SPEC_METHODS = {
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateLease",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
}

#: How many items the comparison covers today (every field, enum and reserved number of §2.1–§2.6, and
#: every type the service can carry). It was 158 when §2 was read from prose; it must never quietly shrink.
MIN_CHECKS = 208


def _spec_text() -> str:
    """docs/spec.md, which lives in the repository: its absence is a failure, never a skip."""
    return rc.SPEC_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def client(servers: Servers) -> Iterator[rc.ReflectionClient]:
    with grpc.insecure_channel(servers.grpc_target) as channel:
        yield rc.ReflectionClient(channel, servers.auth_metadata)


def test_reflection_client_imports_none_of_our_modules() -> None:
    tree = ast.parse(Path(rc.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    ours = {
        m for m in imported if m.split(".")[0] in {"booking_protocol", "mock_server", "harness", "bookcheck"}
    }
    assert ours == set()


def test_services_and_methods_are_discoverable(client: rc.ReflectionClient) -> None:
    assert {rc.BOOKING_SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= set(
        client.services()
    )
    service = client.service(rc.BOOKING_SERVICE)
    assert {m.name for m in service.methods} == SPEC_METHODS
    for method in service.methods:  # §11: same request/response messages as the REST method of that name
        assert (method.input_type.name, method.output_type.name) == (
            f"{method.name}Request",
            f"{method.name}Response",
        )
        assert not (method.client_streaming or method.server_streaming)


def test_spec_is_the_repository_copy() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert rc.SPEC_PATH == repo / "docs" / "spec.md"
    assert rc.SPEC_PATH.is_file()


def test_served_messages_equal_section_2(client: rc.ReflectionClient) -> None:
    tables = rc.parse_spec(_spec_text())
    result = rc.compare(tables, client.pool)
    assert result.mismatches == []
    # every field of §2.1–§2.6, every enum, the reserved numbers and every type the service can carry
    assert len(result.checked) >= MIN_CHECKS
    assert len(result.checked) == len(set(result.checked))


def test_spec_parser_reads_the_tables() -> None:
    tables = rc.parse_spec(_spec_text())
    slot = {(f.number, f.name, f.type_name) for f in tables.messages["Slot"]}
    assert (3, "start_sec", "int64") in slot and (6, "resources", "ResourceIds") in slot and len(slot) == 7
    assert tables.enums["BookingFailure.Cause"]["OFFER_UNAVAILABLE"] == 16
    assert tables.reserved == {"BatchAvailabilityLookupRequest": [2], "UserInformation": [8]}
    oneof = {f.name: f.oneof for f in tables.messages["PaymentInformation"]}
    assert oneof["payment_option_id"] == oneof["user_payment_option_id"] == "payment_id"
    tokenization = {f.name: f for f in tables.messages["TokenizationConfig"]}
    assert tokenization["tokenization_parameter"].is_map
    assert (
        tokenization["billing_information_format"].type_name == "TokenizationConfig.BillingInformationFormat"
    )
    assert {f.name for f in tables.messages["PostalAddress"]} == {
        "country",
        "locality",
        "region",
        "postal_code",
        "street_address",
    }


@pytest.mark.parametrize(
    ("original", "planted", "message"),
    [
        ("| 2 | acquirer_bin | string |", "| 2 | acquirer_bin |  |", "type '' is not"),
        (
            "| 2 | acquirer_bin | string | singular |",
            "| 2 | acquirer_bin | string | single |",
            "unknown label",
        ),
        ("| 8 | — | — | reserved |", "| 8 | user_ref | — | reserved |", "reserved 8 must have"),
        (
            "**OfferInfo** (message)\n",
            "**OfferInfo** (message)\n\n**OfferInfoCopy** (message)\n",
            "OfferInfo has no table",
        ),
    ],
)
def test_spec_parser_refuses_a_malformed_row(original: str, planted: str, message: str) -> None:
    """A row the parser cannot read is an error, so nothing drops out of the comparison unseen."""
    text = _spec_text()
    assert original in text
    with pytest.raises(rc.SpecFormatError, match=re.escape(message)):
        rc.parse_spec(text.replace(original, planted, 1))


@pytest.mark.parametrize(
    ("original", "planted", "expected"),
    [
        (
            "| 3 | start_sec | int64 | singular |",
            "| 8 | start_sec | int64 | singular |",
            "Slot.start_sec: number 3, spec says 8",
        ),
        (
            "| 2 | available | bool |",
            "| 2 | available | int32 |",
            "SlotTimeAvailability.available: type",
        ),
        ("| CANCELED | 3 |", "| CANCELLED | 3 |", "enum BookingStatus"),
        (
            "| 4 | resource_ids | ResourceIds | singular |",
            "| 4 | resource_ids | ResourceIds | repeated |",
            "SlotTime.resource_ids: repeated=False",
        ),
        (
            "| 8 | — | — | reserved |",
            "| 9 | — | — | reserved |",
            "UserInformation: number 9 must be reserved",
        ),
        (
            "| 6 | payment_option_id | string | oneof payment_id |",
            "| 6 | payment_option_id | string | oneof payment_kind |",
            "PaymentInformation.payment_option_id: oneof payment_id, spec says payment_kind",
        ),
        (
            "| 1 | tokenization_parameter | map<string, string> | map |",
            "| 1 | tokenization_parameter | map<string, int32> | map |",
            "TokenizationConfig.tokenization_parameter: type",
        ),
        (
            "**OfferInfo** (message)",
            "**OfferInfoX** (message)",
            "OfferInfo: served by BookingService but not",
        ),
        (
            "| 3 | description | string | singular | optional | free",
            "| 3 | — | — | reserved | — | free",
            "BookingFailure.description: served but not in §2",
        ),
    ],
)
def test_comparison_fires_on_a_planted_difference(
    client: rc.ReflectionClient, original: str, planted: str, expected: str
) -> None:
    """Guard against a comparison that can never fail: a changed spec line is found."""
    text = _spec_text()
    assert original in text
    result = rc.compare(rc.parse_spec(text.replace(original, planted, 1)), client.pool)
    assert any(m.startswith(expected) for m in result.mismatches), result.mismatches


def test_every_method_is_callable_by_reflection(client: rc.ReflectionClient) -> None:
    p = rc.BOOKING_SERVICE + "/"
    start = next_start()
    slot = {"merchant_id": MERCHANT, "service_id": SERVICE, "start_sec": str(start), "duration_sec": "3600"}
    person = {
        "user_id": "u-refl",
        "given_name": "Grace",
        "family_name": "Hopper",
        "telephone": "+1 212 555 0100",
        "email": "grace@example.com",
    }
    called: set[str] = set()

    def call(method: str, body: dict[str, Any]) -> dict[str, Any]:
        called.add(method)
        return client.call(p + method, body)

    bal = call(
        "BatchAvailabilityLookup",
        {
            "merchant_id": MERCHANT,
            "slot_time": [
                {"service_id": SERVICE, "start_sec": str(start)},
                {"service_id": SERVICE, "start_sec": "17"},
            ],
        },
    )
    assert [e.get("available", False) for e in bal["slot_time_availability"]] == [True, False]
    assert bal["slot_time_availability"][1]["slot_time"] == {"service_id": SERVICE, "start_sec": "17"}
    assert call("CheckAvailability", {"slot": slot})["count_available"] == 2
    lease = call("CreateLease", {"lease": {"slot": slot, "user_reference": "ref-refl"}})["lease"]
    assert lease["lease_id"] and lease["user_reference"] == "ref-refl"
    booking = call(
        "CreateBooking",
        {
            "slot": slot,
            "user_information": person,
            "idempotency_token": "tok-refl",
            "lease_ref": {"lease_id": lease["lease_id"]},
        },
    )["booking"]
    assert booking["status"] == "CONFIRMED" and booking["user_information"] == person
    assert call("GetBookingStatus", {"booking_id": booking["booking_id"]})["booking_status"] == "CONFIRMED"
    assert [b["booking_id"] for b in call("ListBookings", {"user_id": "u-refl"})["bookings"]] == [
        booking["booking_id"]
    ]
    updated = call("UpdateBooking", {"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}})
    assert updated["booking"]["status"] == "CANCELED"
    assert called == SPEC_METHODS


@pytest.mark.parametrize("service", ["", rc.BOOKING_SERVICE])
def test_health_reports_serving(servers: Servers, service: str) -> None:
    with servers.channel() as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5, metadata=servers.auth_metadata
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_an_unknown_service_is_not_found(servers: Servers) -> None:
    with servers.channel() as channel, pytest.raises(grpc.RpcError) as err:
        health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="no.such.Service"),
            timeout=5,
            metadata=servers.auth_metadata,
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_command_line_check_spec(servers: Servers, capsys: pytest.CaptureFixture[str]) -> None:
    code = rc.main(
        [
            servers.grpc_target,
            "check-spec",
            "--user",
            servers.config.user or "",
            "--password",
            servers.config.password or "",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    checked = int(out.split(" checked, ")[0].split()[-1])
    assert out.endswith(" 0 mismatches\n") and checked >= MIN_CHECKS
