"""Issue 16 over REST: every hostile input gets a 4xx (never a 5xx) and changes no state; the connection
limits hold; every answer is valid for protobuf's own JSON parser."""

from __future__ import annotations

import base64
import gzip
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from hostile_helpers import (
    NOW,
    closed_by_server,
    fingerprint,
    first_records,
    host_port,
    pinned_clock,
    read_all,
    read_reply,
    slot_of,
    write_pinned_feed,
)
from srvhelpers import Client

from booking_protocol import booking_pb2 as pb
from booking_protocol.openapi import build_document
from mock_server.server import RunningServer, ServerConfig, serve_in_thread

USER, PASSWORD = "google", "s3cret"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("hostile") / "availability.json"
    return path, write_pinned_feed(path)


@pytest.fixture(scope="module")
def running(feed: tuple[Path, dict[str, Any]]) -> Iterator[RunningServer]:
    config = ServerConfig(port=0, feed=str(feed[0]), user=USER, password=PASSWORD, clock=pinned_clock())
    with serve_in_thread(config) as server:
        yield server


@pytest.fixture(scope="module")
def client(running: RunningServer) -> Client:
    return Client(running.rest_url, USER, PASSWORD)


@pytest.fixture(scope="module")
def records(feed: tuple[Path, dict[str, Any]]) -> list[dict[str, Any]]:
    return first_records(feed[1], 8)


def _d16(reply: Any, status: int) -> str:
    """The message of a D16 error body with ``status``."""
    assert reply.status == status, (reply.status, reply.body)
    err = reply.body["error"]
    assert err["code"] == status and err["status"] and err["message"]
    return str(err["message"])


def _booking_body(record: dict[str, Any], token: str, **extra: Any) -> dict[str, Any]:
    return {
        "slot": slot_of(record),
        "user_information": {"user_id": "u-" + token},
        "idempotency_token": token,
        **extra,
    }


# -- compressed bodies: authentication first, bounded inflation --------------------------------------------


def test_credentials_are_checked_before_the_body_is_read(running: RunningServer) -> None:
    """A stranger announcing a 1 MiB gzip body gets 401 without sending a byte of it."""
    with socket.create_connection(host_port(running.rest_url), timeout=10) as s:
        s.sendall(
            b"POST /v3/CreateBooking HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % MIB
        )
        reply = read_reply(s)
    assert reply.startswith(b"HTTP/1.1 401"), reply[:80]


def test_gzip_bomb_is_413_after_auth_and_401_before(running: RunningServer, client: Client) -> None:
    before = fingerprint(running.app.service)
    bomb = gzip.compress(b'{"slot": {"merchant_id": "' + b"0" * (64 * MIB), compresslevel=9)
    assert len(bomb) < MIB
    stranger = client.request("/v3/CreateBooking", raw=bomb, auth=False, headers={"Content-Encoding": "gzip"})
    assert _d16(stranger, 401)
    r = client.request("/v3/CreateBooking", raw=bomb, headers={"Content-Encoding": "gzip"})
    assert "decompressed request body larger than 1048576 bytes" in _d16(r, 413)
    assert fingerprint(running.app.service) == before


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        ("gzip", b"\x1f\x8b\x08\x00not really gzip"),
        ("gzip", gzip.compress(b'{"a": 1}', mtime=0)[:-6]),  # truncated
        ("x-gzip", b"plain text"),
        ("deflate", b"\x78\x9cgarbage"),
        ("deflate", zlib.compress(b"{}") + b"trailing"),
    ],
    ids=["bad-header", "truncated", "not-gzip", "bad-deflate", "trailing-data"],
)
def test_invalid_compressed_body_is_400(
    running: RunningServer, client: Client, encoding: str, raw: bytes
) -> None:
    before = fingerprint(running.app.service)
    r = client.request("/v3/CreateBooking", raw=raw, headers={"Content-Encoding": encoding})
    assert "compressed body is not valid" in _d16(r, 400)
    assert fingerprint(running.app.service) == before


def test_unknown_content_encoding_is_415(client: Client) -> None:
    r = client.request("/v3/CreateBooking", raw=b"{}", headers={"Content-Encoding": "br"})
    assert "'br'" in _d16(r, 415)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "identity"])
def test_valid_compressed_bodies_are_served(
    client: Client, records: list[dict[str, Any]], encoding: str
) -> None:
    body = orjson.dumps(_booking_body(records[0], "gz-" + encoding))
    packers: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "raw-deflate": lambda b: zlib.compress(b, wbits=-15),
        "identity": lambda b: b,
    }
    packed = packers[encoding](body)
    header = "deflate" if encoding == "raw-deflate" else encoding
    r = client.request("/v3/CreateBooking", raw=packed, headers={"Content-Encoding": header})
    assert r.status == 200 and r.body["booking"]["booking_id"], r.body
    client.call(
        "UpdateBooking", {"booking": {"booking_id": r.body["booking"]["booking_id"], "status": "CANCELED"}}
    )


def test_inflated_size_limit_is_exact(client: Client) -> None:
    head, tail = b'{"slot": {"merchant_id": "', b'"}}'
    exact = head + b"x" * (MIB - len(head) - len(tail)) + tail
    r = client.request("/v3/CreateBooking", raw=gzip.compress(exact), headers={"Content-Encoding": "gzip"})
    assert "slot.service_id" in _d16(r, 400)  # read whole, then judged as JSON
    over = head + b"x" * (MIB + 1 - len(head) - len(tail)) + tail
    r = client.request("/v3/CreateBooking", raw=gzip.compress(over), headers={"Content-Encoding": "gzip"})
    assert _d16(r, 413)


# -- values the proto says are one value --------------------------------------------------------------------

LONG = "9" * 5000

LONG_INTEGERS = [
    (
        "BatchAvailabilityLookup",
        {"merchant_id": "m", "slot_time": [{"service_id": "s", "start_sec": LONG}]},
        "slot_time[0].start_sec",
    ),
    (
        "CheckAvailability",
        {"slot": {"merchant_id": "m", "service_id": "s", "duration_sec": LONG}},
        "slot.duration_sec",
    ),
    ("CreateLease", {"lease": {"lease_expiration_time_sec": LONG}}, "lease.lease_expiration_time_sec"),
    ("CreateBooking", {"slot": {"resources": {"party_size": "-" + LONG}}}, "slot.resources.party_size"),
    ("UpdateBooking", {"booking": {"slot": {"start_sec": LONG}}}, "booking.slot.start_sec"),
    (
        "CreateBooking",
        {"payment_information": {"prepayment_status": LONG}},
        "payment_information.prepayment_status",
    ),
]


@pytest.mark.parametrize(("method", "body", "field"), LONG_INTEGERS)
def test_overlong_integer_is_400_naming_the_field(
    running: RunningServer, client: Client, method: str, body: dict[str, Any], field: str
) -> None:
    before = fingerprint(running.app.service)
    message = _d16(client.call(method, body), 400)
    assert message.startswith(field + ":"), message
    assert fingerprint(running.app.service) == before


def test_overlong_integer_in_a_large_lookup_is_400(client: Client) -> None:
    """The one-pass BAL decoder and the worker-thread path refuse it the same way."""
    times = [{"service_id": "s", "start_sec": "1"}] * 5000 + [{"service_id": "s", "start_sec": LONG}]
    message = _d16(client.call("BatchAvailabilityLookup", {"merchant_id": "m", "slot_time": times}), 400)
    assert message.startswith("slot_time[5000].start_sec:"), message


def test_two_members_of_a_oneof_is_400_naming_it(
    running: RunningServer, client: Client, records: list[dict[str, Any]]
) -> None:
    before = fingerprint(running.app.service)
    payment = {"payment_option_id": "po1", "user_payment_option_id": "upo1"}
    r = client.call("CreateBooking", _booking_body(records[1], "oneof", payment_information=payment))
    message = _d16(r, 400)
    assert message.startswith("payment_information.payment_id:"), message
    assert "payment_option_id" in message and "user_payment_option_id" in message
    assert fingerprint(running.app.service) == before


def test_a_field_under_both_names_is_400(
    running: RunningServer, client: Client, records: list[dict[str, Any]]
) -> None:
    before = fingerprint(running.app.service)
    body = _booking_body(records[1], "twice", idempotencyToken="other")
    assert _d16(client.call("CreateBooking", body), 400).startswith("idempotency_token:")
    assert fingerprint(running.app.service) == before


def test_unknown_enum_number_is_400(
    running: RunningServer, client: Client, records: list[dict[str, Any]]
) -> None:
    before = fingerprint(running.app.service)
    body = _booking_body(records[1], "enum", payment_information={"prepayment_status": 77})
    assert _d16(client.call("CreateBooking", body), 400).startswith("payment_information.prepayment_status:")
    assert fingerprint(running.app.service) == before


def test_lease_expiring_in_the_past_is_400(
    running: RunningServer, client: Client, records: list[dict[str, Any]]
) -> None:
    """Decision (the spec is silent): a hold that would end before it starts is a malformed request."""
    before = fingerprint(running.app.service)
    lease = {
        "slot": slot_of(records[2]),
        "user_reference": "past-ref",
        "lease_expiration_time_sec": int(NOW) - 1,
    }
    message = _d16(client.call("CreateLease", {"lease": lease}), 400)
    assert message.startswith("lease.lease_expiration_time_sec:") and "past" in message
    assert fingerprint(running.app.service) == before
    lease["lease_expiration_time_sec"] = int(NOW) + 60
    ok = client.call("CreateLease", {"lease": lease})
    assert ok.status == 200 and ok.body["lease"]["lease_expiration_time_sec"] == str(int(NOW) + 60)


# -- every answer parses with protobuf's own JSON parser -------------------------------------------------


def _parses(method: str, reply: Any) -> None:
    assert reply.status == 200, (method, reply.body)
    json_format.Parse(reply.raw, getattr(pb, method + "Response")(), ignore_unknown_fields=False)


def test_every_answer_is_valid_protobuf_json(client: Client, records: list[dict[str, Any]]) -> None:
    rec = records[3]
    payment = {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_option_id": "po1",
        "price": {"price_micros": "15000000", "currency_code": "EUR"},
    }
    created = client.call(
        "CreateBooking", _booking_body(rec, "pj", payment_information=payment, offer_id="o1")
    )
    _parses("CreateBooking", created)
    booking = created.body["booking"]
    _parses("CreateBooking", client.call("CreateBooking", _booking_body(rec, "pj-again")))  # a failure
    _parses("GetBookingStatus", client.call("GetBookingStatus", {"booking_id": booking["booking_id"]}))
    _parses("ListBookings", client.call("ListBookings", {"user_id": "u-pj"}))
    start = {k: rec[k] for k in ("service_id", "start_sec")}
    _parses(
        "BatchAvailabilityLookup",
        client.call("BatchAvailabilityLookup", {"merchant_id": rec["merchant_id"], "slot_time": [start]}),
    )
    _parses("CheckAvailability", client.call("CheckAvailability", {"slot": slot_of(rec)}))
    lease = {
        "slot": slot_of(records[4]),
        "user_reference": "pj-lease",
        "lease_expiration_time_sec": int(NOW) + 30,
    }
    _parses("CreateLease", client.call("CreateLease", {"lease": lease}))
    cancel = {"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}}
    _parses("UpdateBooking", client.call("UpdateBooking", cancel))
    _parses("UpdateBooking", client.call("UpdateBooking", cancel))  # BOOKING_ALREADY_CANCELLED


# -- the large-body path (worker thread) gives the same answers -------------------------------------------


def test_largest_lookup_is_answered_whole(client: Client, records: list[dict[str, Any]]) -> None:
    rec = records[0]
    one = {"service_id": rec["service_id"], "start_sec": str(rec["start_sec"])}
    entry = len(orjson.dumps(one)) + 1
    count = (MIB - 100) // entry
    body = orjson.dumps({"merchant_id": rec["merchant_id"], "slot_time": [one] * count})
    assert len(body) <= MIB
    r = client.request("/v3/BatchAvailabilityLookup", raw=body)
    assert r.status == 200
    answers = r.body["slot_time_availability"]
    assert len(answers) == count and all(a["available"] for a in answers)
    assert answers[-1]["slot_time"] == one


# -- the OpenAPI document is served behind the credentials ------------------------------------------------


def test_openapi_document_is_served_behind_credentials(client: Client) -> None:
    assert _d16(client.request("/openapi.json", verb="GET", auth=False), 401)
    r = client.request("/openapi.json", verb="GET")
    assert r.status == 200 and r.body == build_document()
    assert client.request("/openapi.json", {}, verb="POST").status == 405


# -- connection limits ------------------------------------------------------------------------------------


@pytest.fixture
def limited(feed: tuple[Path, dict[str, Any]]) -> Iterator[RunningServer]:
    config = ServerConfig(
        port=0,
        feed=str(feed[0]),
        clock=pinned_clock(),
        idle_timeout_sec=0.5,
        header_timeout_sec=0.5,
        body_timeout_sec=0.5,
        max_connections=3,
    )
    with serve_in_thread(config) as server:
        yield server


def test_idle_connection_is_closed(limited: RunningServer) -> None:
    with socket.create_connection(host_port(limited.rest_url), timeout=10) as s:
        assert read_all(s, limit_sec=10) == b""  # closed by the server, nothing said


def test_slow_headers_are_cut_off(limited: RunningServer) -> None:
    """Bytes keep trickling in, yet the headers never complete: the connection is closed."""
    with socket.create_connection(host_port(limited.rest_url), timeout=10) as s:
        s.sendall(b"POST /v3/CreateBooking HTTP/1.1\r\n")
        assert closed_by_server(s, b"X-Slow: y\r\n")


def test_slow_body_is_408(limited: RunningServer) -> None:
    with socket.create_connection(host_port(limited.rest_url), timeout=10) as s:
        s.sendall(b'POST /v3/CreateBooking HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"slot"')
        reply = read_reply(s)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:80]
    assert b'"DEADLINE_EXCEEDED"' in reply


def test_connections_over_the_limit_get_503(limited: RunningServer) -> None:
    address = host_port(limited.rest_url)
    held = [socket.create_connection(address, timeout=10) for _ in range(3)]
    try:
        time.sleep(0.1)  # let the server register them
        with socket.create_connection(address, timeout=10) as extra:
            reply = read_all(extra)
        assert reply.startswith(b"HTTP/1.1 503"), reply[:80]
        assert b'"UNAVAILABLE"' in reply and b"too many open connections" in reply
    finally:
        for s in held:
            s.close()
    time.sleep(0.1)
    assert Client(limited.rest_url).request("/v3/HealthCheck", verb="GET").status == 200
