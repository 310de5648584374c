"""Payments, packs, offers and online sessions over REST, against a real reference server (issue 15).

The server reads the small feed directory of ``paymentfeed`` (services, merchants and offers beside the
availability feed) and runs on the pinned clock. Each test books slots no other test uses. What money moved
is read from the simulated processor's ledger, ``GET /_bookcheck/ledger`` (D52), never from the server's
insides.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paymentfeed import (
    FREE,
    MERCHANT,
    OFFER,
    ONLINE,
    OTHER_MERCHANT,
    PACK,
    PACK_CLASS,
    PACK_PRICE_MICROS,
    PACK_SESSIONS,
    PREPAID,
    PRICE_MICROS,
    TAX_MICROS,
    card_token,
    create_body,
    next_start,
    prepaid_payment,
    price,
    write_payment_feed,
)
from srvhelpers import Client
from timebase import pinned_clock

from harness.schemas import schema_errors
from mock_server import cli
from mock_server.domain import BookingStatus, BookingView, InventorySlot, UserInfo
from mock_server.rest import codec, mapping
from mock_server.rest.handlers import booking_json
from mock_server.server import RunningServer, ServerConfig, ServerStartError, serve_in_thread

USER, PASSWORD = "partner", "s3cret"


@pytest.fixture(scope="module")
def pay_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_payment_feed(tmp_path_factory.mktemp("payfeed"))


@contextlib.contextmanager
def _start(feed: Path, **options: Any) -> Iterator[tuple[RunningServer, Client]]:
    config = ServerConfig(
        port=0, feed=str(feed), user=USER, password=PASSWORD, clock=pinned_clock(), **options
    )
    with serve_in_thread(config) as server:
        yield server, Client(server.rest_url, USER, PASSWORD)


@pytest.fixture(scope="module")
def pay(pay_feed: Path) -> Iterator[Client]:
    """The module's server: default payment options (refund policy from the feed, no latency)."""
    with _start(pay_feed) as (_server, client):
        yield client


def _ok(client: Client, method: str, body: dict[str, Any]) -> dict[str, Any]:
    """The 200 answer of ``method``, checked against the response's JSON Schema (made from booking.proto)."""
    reply = client.call(method, body)
    assert reply.status == 200, (method, reply.status, reply.body)
    assert isinstance(reply.body, dict)
    assert schema_errors(f"{method}Response", reply.body) == []
    return reply.body


def _ledger(client: Client, merchant_id: str = MERCHANT) -> list[dict[str, Any]]:
    reply = client.request(f"/_bookcheck/ledger?merchant_id={merchant_id}", verb="GET")
    assert reply.status == 200, reply.body
    entries = reply.body["entries"]
    assert isinstance(entries, list)
    return entries


def _of_booking(entries: list[dict[str, Any]], booking_id: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("booking_id") == booking_id]


def _bookable(client: Client, service: str, start: int) -> bool:
    body = _ok(
        client,
        "BatchAvailabilityLookup",
        {"merchant_id": MERCHANT, "slot_time": [{"service_id": service, "start_sec": str(start)}]},
    )
    return bool(body["slot_time_availability"][0].get("available", False))


def _prepaid(client: Client, user_id: str, idem: str, token: str, start: int | None = None) -> dict[str, Any]:
    body = create_body(PREPAID, start or next_start(), user_id, idem, payment=prepaid_payment(), token=token)
    return _ok(client, "CreateBooking", body)


def _cancel(client: Client, booking_id: str) -> dict[str, Any]:
    return _ok(client, "UpdateBooking", {"booking": {"booking_id": booking_id, "status": "CANCELED"}})


# ---------------------------------------------------------------------------------- Done when


def test_paid_create_resent_with_its_token_charges_once(pay: Client) -> None:
    body = create_body(
        PREPAID,
        next_start(),
        "u-replay",
        "idem-replay",
        payment=prepaid_payment(),
        token=card_token("4242", "n-replay"),
    )
    first = _ok(pay, "CreateBooking", body)
    booking = first["booking"]
    info = booking["payment_information"]
    assert info["prepayment_status"] == "PREPAYMENT_PROVIDED"
    assert info["payment_processed_by"] == "PROCESSED_BY_PARTNER"
    assert info["payment_transaction_id"]
    assert info["price"] == price(PRICE_MICROS) and info["tax_amount"] == price(TAX_MICROS)

    again = _ok(pay, "CreateBooking", body)
    assert again["booking"]["booking_id"] == booking["booking_id"]
    assert again["booking"]["payment_information"]["payment_transaction_id"] == info["payment_transaction_id"]

    charges = [e for e in _of_booking(_ledger(pay), booking["booking_id"]) if e["kind"] == "charge"]
    assert len(charges) == 1, charges
    assert charges[0]["amount_micros"] == PRICE_MICROS + TAX_MICROS
    assert charges[0]["currency"] == "USD"


def test_a_google_pay_payment_data_token_is_decoded_by_the_adapter(pay: Client) -> None:
    """A real token is JSON text inside a string (D52); the adapter decodes it, the processor reads it."""
    payment_data = {
        "apiVersion": 2,
        "paymentMethodData": {
            "type": "CARD",
            "info": {"cardNetwork": "MASTERCARD", "cardDetails": "4444"},
            "tokenizationData": {"type": "PAYMENT_GATEWAY", "token": "gw-tok-json-1"},
        },
    }
    token = json.dumps(payment_data)
    body = create_body(PREPAID, next_start(), "u-gpay", "idem-gpay", payment=prepaid_payment(), token=token)
    booking = _ok(pay, "CreateBooking", body)["booking"]
    assert booking["payment_information"]["prepayment_status"] == "PREPAYMENT_PROVIDED"
    entries = _of_booking(_ledger(pay), booking["booking_id"])
    assert [(e["kind"], e["token_fingerprint"]) for e in entries] == [("charge", "gw-tok-json-1")]
    cut = token[:40]  # JSON text cut short: not a token the processor can read
    broken = create_body(PREPAID, next_start(), "u-gpay2", "idem-gpay2", payment=prepaid_payment(), token=cut)
    failure = _ok(pay, "CreateBooking", broken)["booking_failure"]
    assert failure["cause"] == "PAYMENT_ERROR" and "unusable" in failure.get("description", "")


def test_declined_payment_leaves_the_slot_bookable(pay: Client) -> None:
    start = next_start()
    before = _ledger(pay)
    body = create_body(
        PREPAID,
        start,
        "u-decline",
        "idem-decline",
        payment=prepaid_payment(),
        token=card_token("0002", "n-dec"),
    )
    failed = _ok(pay, "CreateBooking", body)
    assert set(failed) == {"booking_failure"}
    assert failed["booking_failure"]["cause"] == "PAYMENT_ERROR_CARD_DECLINED"
    assert _ledger(pay) == before  # no charge, no hold
    assert _bookable(pay, PREPAID, start)

    good = _prepaid(pay, "u-decline", "idem-decline-2", card_token("4242", "n-dec-2"), start)
    assert good["booking"]["payment_information"]["prepayment_status"] == "PREPAYMENT_PROVIDED"
    assert not _bookable(pay, PREPAID, start)


def test_cancelled_prepaid_booking_reports_refunded(pay: Client) -> None:
    made = _prepaid(pay, "u-refund", "idem-refund", card_token("4242", "n-refund"))["booking"]
    booking_id = made["booking_id"]
    purchase_id = made["payment_information"]["payment_transaction_id"]

    cancelled = _cancel(pay, booking_id)["booking"]
    assert cancelled["status"] == "CANCELED"
    assert cancelled["payment_information"]["prepayment_status"] == "PREPAYMENT_REFUNDED"
    refund_id = cancelled["payment_information"]["payment_transaction_id"]
    assert refund_id and refund_id != purchase_id

    status = _ok(pay, "GetBookingStatus", {"booking_id": booking_id})
    assert status == {
        "booking_id": booking_id,
        "booking_status": "CANCELED",
        "prepayment_status": "PREPAYMENT_REFUNDED",
    }
    listed = _ok(pay, "ListBookings", {"user_id": "u-refund"})["bookings"]
    assert [b["payment_information"]["prepayment_status"] for b in listed] == ["PREPAYMENT_REFUNDED"]

    kinds = [e["kind"] for e in _of_booking(_ledger(pay), booking_id)]
    assert sorted(kinds) == ["charge", "refund"]


def test_pack_use_comes_back_on_cancel(pay: Client) -> None:
    bought = _ok(
        pay,
        "CreateBooking",
        create_body(
            PACK_CLASS,
            next_start(),
            "u-pack",
            "idem-pack-buy",
            payment={
                "prepayment_status": "PREPAYMENT_PROVIDED",
                "payment_processed_by": "PROCESSED_BY_PARTNER",
                "payment_option_id": PACK,
                "price": price(PACK_PRICE_MICROS),
            },
            token=card_token("4242", "n-pack"),
        ),
    )
    upo = bought["user_payment_option"]
    upo_id = upo["user_payment_option_id"]
    assert upo["payment_option_id"] == PACK and upo["type"] == "PAYMENT_OPTION_MULTI_USE"
    assert (upo["original_count"], upo["current_count"]) == (PACK_SESSIONS, PACK_SESSIONS - 1)
    assert bought["booking"]["payment_information"]["user_payment_option_id"] == upo_id

    used = _ok(
        pay,
        "CreateBooking",
        create_body(
            PACK_CLASS,
            next_start(),
            "u-pack",
            "idem-pack-use",
            payment={"payment_processed_by": "PROCESSED_BY_PARTNER", "user_payment_option_id": upo_id},
        ),
    )
    assert used["user_payment_option"]["user_payment_option_id"] == upo_id
    assert used["user_payment_option"]["current_count"] == PACK_SESSIONS - 2

    cancelled = _cancel(pay, used["booking"]["booking_id"])
    assert cancelled["user_payment_option"]["user_payment_option_id"] == upo_id
    assert cancelled["user_payment_option"]["current_count"] == PACK_SESSIONS - 1
    assert cancelled["booking"]["payment_information"]["prepayment_status"] == "PREPAYMENT_CREDITED"


# ---------------------------------------------------------------------------------- failures


def test_card_type_rejection_names_the_card_type(pay: Client) -> None:
    start = next_start()
    body = create_body(
        PREPAID,
        start,
        "u-amex",
        "idem-amex",
        payment=prepaid_payment(),
        token=card_token("0005", "n-amex", "AMEX"),
    )
    failure = _ok(pay, "CreateBooking", body)["booking_failure"]
    assert failure["cause"] == "PAYMENT_ERROR_CARD_TYPE_REJECTED"
    assert failure["rejected_card_type"] == "AMERICAN_EXPRESS"
    assert _bookable(pay, PREPAID, start)


def test_3ds1_parameters_on_the_wire_and_the_retry_books(pay: Client) -> None:
    start = next_start()
    token = card_token("3063", "n-3ds")
    first = _ok(
        pay,
        "CreateBooking",
        create_body(PREPAID, start, "u-3ds", "idem-3ds", payment=prepaid_payment(), token=token),
    )
    failure = first["booking_failure"]
    assert failure["cause"] == "PAYMENT_REQUIRES_3DS1"
    params = failure["payment_failure"]["threeds1_parameters"]
    assert set(params) == {"acs_url", "pa_req", "transaction_id", "md_merchant_data"}
    assert all(params.values())
    assert params["acs_url"].startswith("https://acs.bookcheck.invalid/")

    retry = create_body(
        PREPAID,
        start,
        "u-3ds",
        "idem-3ds-retry",
        payment=prepaid_payment(
            pa_response="bookcheck-3ds1:pass", md_merchant_data=params["md_merchant_data"]
        ),
        token=token,
    )
    booked = _ok(pay, "CreateBooking", retry)["booking"]
    assert booked["payment_information"]["prepayment_status"] == "PREPAYMENT_PROVIDED"


# ---------------------------------------------------------------------------------- offers, online


def test_online_service_carries_a_stable_virtual_session(pay: Client) -> None:
    body = create_body(ONLINE, next_start(), "u-online", "idem-online")
    booking = _ok(pay, "CreateBooking", body)["booking"]
    session = booking["virtual_session_info"]
    assert session["session_url"].startswith("https://")
    assert _ok(pay, "CreateBooking", body)["booking"]["virtual_session_info"] == session
    listed = _ok(pay, "ListBookings", {"user_id": "u-online"})["bookings"]
    assert [b["virtual_session_info"] for b in listed] == [session]
    assert (
        "virtual_session_info"
        not in _ok(pay, "CreateBooking", create_body(FREE, next_start(), "u-online", "idem-in-person"))[
            "booking"
        ]
    )


def test_applied_offer_is_reported_and_an_unknown_one_refused(pay: Client) -> None:
    start = next_start()
    booking = _ok(pay, "CreateBooking", create_body(FREE, start, "u-offer", "idem-offer", offer_id=OFFER))[
        "booking"
    ]
    assert booking["offer_info"] == {"offer_id": OFFER}
    listed = _ok(pay, "ListBookings", {"user_id": "u-offer"})["bookings"]
    assert [b["offer_info"] for b in listed] == [{"offer_id": OFFER}]
    refused = _ok(
        pay,
        "CreateBooking",
        create_body(FREE, next_start(), "u-offer", "idem-no-offer", offer_id="no-such-offer"),
    )
    assert refused["booking_failure"]["cause"] == "OFFER_UNAVAILABLE"


# ---------------------------------------------------------------------------------- ledger, options


def test_ledger_needs_credentials_and_filters_by_merchant(pay: Client) -> None:
    assert pay.request("/_bookcheck/ledger", verb="GET", auth=False).status == 401
    assert pay.request("/_bookcheck/ledger", verb="GET", auth="Basic bm86bm8=").status == 401
    _prepaid(pay, "u-ledger", "idem-ledger", card_token("4242", "n-ledger"))
    everything = pay.request("/_bookcheck/ledger", verb="GET")
    assert everything.status == 200 and everything.headers["Content-Type"].startswith("application/json")
    assert everything.body["entries"], "a charge was made"
    assert _ledger(pay, OTHER_MERCHANT) == []
    assert pay.request("/_bookcheck/ledger", {}, verb="POST").status == 405


def test_refund_policy_none_keeps_the_payment(pay_feed: Path) -> None:
    with _start(pay_feed, refund_policy="none") as (_server, client):
        made = _prepaid(client, "u-norefund", "idem-norefund", card_token("4242", "n-norefund"))["booking"]
        cancelled = _cancel(client, made["booking_id"])["booking"]
        assert cancelled["payment_information"]["prepayment_status"] == "PREPAYMENT_PROVIDED"
        status = _ok(client, "GetBookingStatus", {"booking_id": made["booking_id"]})
        assert status["prepayment_status"] == "PREPAYMENT_PROVIDED"
        assert [e["kind"] for e in _of_booking(_ledger(client), made["booking_id"])] == ["charge"]


def test_without_money_files_payment_is_echoed_and_nothing_charged(tmp_path: Path, pay_feed: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "availability.json").write_bytes((pay_feed / "availability.json").read_bytes())
    with _start(plain) as (_server, client):
        sent = prepaid_payment(payment_transaction_id="google-123")
        booking = _ok(
            client,
            "CreateBooking",
            create_body(
                PREPAID, next_start(), "u-echo", "idem-echo", payment=sent, token=card_token("0002", "x")
            ),
        )["booking"]
        assert booking["payment_information"] == sent
        assert _ledger(client) == []


def test_serve_flags_reach_the_server_config() -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--refund-policy", "none", "--payment-latency-ms", "250"])
    config = cli.config_from_args(args)
    assert (config.refund_policy, config.payment_latency_ms) == ("none", 250)
    defaults = cli.config_from_args(parser.parse_args(["serve"]))
    assert (defaults.refund_policy, defaults.payment_latency_ms) == ("feed", 0)
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--refund-policy", "sometimes"])


def test_camel_case_names_of_the_new_fields(pay_feed: Path) -> None:
    """D13: with ``--json-names camel`` the new fields are lowerCamelCase too, nested ones included."""
    with _start(pay_feed, json_names="camel") as (_server, client):
        online = client.call("CreateBooking", create_body(ONLINE, next_start(), "u-camel", "idem-camel-1"))
        assert online.body["booking"]["virtualSessionInfo"]["sessionUrl"].startswith("https://")
        amex = client.call(
            "CreateBooking",
            create_body(
                PREPAID,
                next_start(),
                "u-camel",
                "idem-camel-2",
                payment=prepaid_payment(),
                token=card_token("0005", "n-camel-amex", "AMEX"),
            ),
        )
        assert amex.body["bookingFailure"]["rejectedCardType"] == "AMERICAN_EXPRESS"
        challenged = client.call(
            "CreateBooking",
            create_body(
                PREPAID,
                next_start(),
                "u-camel",
                "idem-camel-3",
                payment=prepaid_payment(),
                token=card_token("3063", "n-camel-3ds"),
            ),
        )
        assert challenged.body["bookingFailure"]["paymentFailure"]["threeds1Parameters"]["acsUrl"]


def test_fast_booking_writer_equals_the_generic_encoding_with_the_new_fields() -> None:
    slot = InventorySlot(MERCHANT, ONLINE, 100, 60, 1, 0)
    view = BookingView(
        "b1",
        slot,
        UserInfo("u"),
        BookingStatus.CONFIRMED,
        prepaid_payment(payment_transaction_id="bc_pay_1"),
        OFFER,
        virtual_session={
            "session_url": "https://meet.bookcheck.invalid/b1",
            "meeting_id": "m",
            "password": "",
        },
    )
    for style in (codec.Style(), codec.Style(camel=True), codec.Style(int64_as_string=False)):
        assert booking_json(view, style) == codec.encode(
            codec.message("Booking"), mapping.booking_out(view), style
        )


def test_a_broken_services_file_stops_the_start_with_one_line(tmp_path: Path, pay_feed: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "availability.json").write_bytes((pay_feed / "availability.json").read_bytes())
    (broken / "services.json").write_text(
        '{"service": [{"merchant_id": "m", "service_id": "s", "price": 5}]}'
    )
    with pytest.raises(ServerStartError) as caught, _start(broken / "availability.json"):
        pass
    message = str(caught.value)
    assert "\n" not in message and "services.json" in message


def test_reschedule_keeps_the_payment_and_charges_nothing(pay: Client) -> None:
    """D54 over the wire: same status, same transaction id, no new ledger entry."""
    made = _prepaid(pay, "u-move", "idem-move", card_token("4242", "n-move"))["booking"]
    target = next_start()
    moved = _ok(
        pay,
        "UpdateBooking",
        {
            "booking": {
                "booking_id": made["booking_id"],
                "slot": {"start_sec": str(target), "duration_sec": "3600"},
            }
        },
    )["booking"]
    assert moved["slot"]["start_sec"] == str(target)
    assert moved["payment_information"] == made["payment_information"]
    assert [e["kind"] for e in _of_booking(_ledger(pay), made["booking_id"])] == ["charge"]


# ---------------------------------------------------------------------------------- owned packs (D42/D44)

OWNED = """version: 1
tokens: {approved: "bookcheck:VISA:4242:{nonce}"}
user_payment_options:
  - {user_payment_option_id: "owned-{merchant_id}", user_id: u-owner, payment_option_id: pack-5,
     current_count: 1}
  - {user_payment_option_id: used-up, user_id: u-owner, merchant_id: pay-gym, payment_option_id: pack-5,
     current_count: 0}
"""


def _use(client: Client, upo_id: str, user_id: str, idem: str) -> dict[str, Any]:
    payment = {"payment_processed_by": "PROCESSED_BY_PARTNER", "user_payment_option_id": upo_id}
    return _ok(client, "CreateBooking", create_body(PACK_CLASS, next_start(), user_id, idem, payment=payment))


def test_payment_fixtures_give_users_their_packs_at_start(tmp_path: Path, pay_feed: Path) -> None:
    """``serve --payment-fixtures``: an entry without merchant_id is given at every merchant selling its
    option ({merchant_id} replaced); current_count sets the uses left; an option that cannot pay is refused
    with the D44 causes and books nothing."""
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text(OWNED)
    with _start(pay_feed, payment_fixtures=str(fixtures)) as (_server, client):
        used = _use(client, f"owned-{MERCHANT}", "u-owner", "idem-owned-1")
        upo = used["user_payment_option"]
        assert upo["user_payment_option_id"] == f"owned-{MERCHANT}" and upo["payment_option_id"] == PACK
        assert (upo["original_count"], upo.get("current_count", 0)) == (PACK_SESSIONS, 0)
        causes = [
            _use(client, f"owned-{MERCHANT}", "u-owner", "idem-owned-2")["booking_failure"]["cause"],
            _use(client, "used-up", "u-owner", "idem-used-up")["booking_failure"]["cause"],
            _use(client, "used-up", "u-stranger", "idem-stranger")["booking_failure"]["cause"],
        ]
        assert causes == [
            "PAYMENT_OPTION_NOT_VALID",
            "PAYMENT_OPTION_NOT_VALID",
            "USER_CANNOT_USE_PAYMENT_OPTION",
        ]
        assert _use(client, f"owned-{OTHER_MERCHANT}", "u-owner", "idem-other")["booking_failure"][
            "cause"
        ] == (
            "PAYMENT_OPTION_NOT_VALID"  # the other gym sells no pack-5: nothing was given there
        )


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("{user_payment_option_id: x, user_id: u, merchant_id: pay-gym, payment_option_id: nope}", "nope"),
        (
            "{user_payment_option_id: x, user_id: u, payment_option_id: pack-5, current_count: -1}",
            "current_count",
        ),
        ("{user_payment_option_id: x, user_id: u, merchant_id: pay-gym}", "payment_option_id"),
    ],
)
def test_a_payment_fixture_the_server_cannot_give_stops_the_start_with_one_line(
    tmp_path: Path, pay_feed: Path, entry: str, said: str
) -> None:
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text(f"tokens: {{approved: t}}\nuser_payment_options:\n  - {entry}\n")
    with pytest.raises(ServerStartError) as caught, _start(pay_feed, payment_fixtures=str(fixtures)):
        pass
    message = str(caught.value)
    assert "\n" not in message and "--payment-fixtures" in message and said in message, message


def test_serve_payment_fixtures_flag_reaches_the_config() -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    config = cli.config_from_args(parser.parse_args(["serve", "--payment-fixtures", "f.yaml"]))
    assert config.payment_fixtures == "f.yaml"
    assert cli.config_from_args(parser.parse_args(["serve"])).payment_fixtures is None
