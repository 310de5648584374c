"""The UpdateBooking fault profiles fire on both request forms of §11 D27.

A client may send the short form (``booking_id`` plus the changed fields) or the whole booking sent back
with some fields changed (status CONFIRMED plus a new ``start_sec``, as Google's older FAQ shows). The
server and every profile classify a request with the domain's one rule
(:func:`mock_server.domain.updates.classify_update`), so each profile must misbehave the same way whichever
form arrives — and the clean server must answer both forms correctly.

Each case starts its own reference server (ephemeral port, the self-test inventory) and talks to it with a
raw HTTP client (``urllib``), so the whole-booking body is exactly what a partner's client would send.
"""

from __future__ import annotations

import base64
import copy
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from faultrun import PASSWORD, USER, feed_slots, serve
from google.protobuf import json_format

from booking_protocol import booking_pb2 as pb
from booking_protocol import booking_pb2_grpc
from booking_protocol.feed import FeedSlot

Json = dict[str, Any]


class Client:
    """POSTs JSON to ``/v3/<Method>`` with Basic credentials; answers (status, decoded body)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode("ascii")
        self.users = 0

    def call(self, method: str, body: Json) -> tuple[int, Json]:
        req = urllib.request.Request(
            f"{self.url}/v3/{method}",
            data=json.dumps(body).encode(),
            headers={"Authorization": self.auth, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw.startswith(b"{") else {}

    def book(self, slot: FeedSlot) -> Json:
        """A new booking of ``slot`` by a new user; the whole booking as the server answered it."""
        self.users += 1
        status, answer = self.call(
            "CreateBooking",
            {
                "slot": slot_json(slot),
                "user_information": {"user_id": f"forms-user-{self.users}", "given_name": "Ada"},
                "idempotency_token": f"forms-token-{self.users}",
            },
        )
        assert status == 200 and "booking" in answer, answer
        booking: Json = answer["booking"]
        return booking

    def open_spots(self, slot: FeedSlot) -> int:
        status, answer = self.call("CheckAvailability", {"slot": slot_json(slot)})
        assert status == 200, answer
        return int(answer.get("count_available", 0))


def slot_json(slot: FeedSlot) -> Json:
    return {
        "merchant_id": slot.merchant_id,
        "service_id": slot.service_id,
        "start_sec": slot.start_sec,
        "duration_sec": slot.duration_sec,
        "resources": {"party_size": slot.party_size},
    }


def _start_party(slot: FeedSlot) -> tuple[int, int]:
    return slot.start_sec, slot.party_size


@dataclass(frozen=True)
class Slots:
    """A booked slot, the slot a reschedule moves to (same merchant, service, duration and party size, a
    later start) and the slot a party-size change moves to (same start, another party size)."""

    booked: FeedSlot
    later: FeedSlot
    bigger: FeedSlot


def pick_slots() -> Slots:
    """Three synchronous dining slots of the self-test inventory (the same ones on every date)."""
    sync = [
        s
        for s in feed_slots()
        if s.party_size and s.confirmation_mode != "CONFIRMATION_MODE_ASYNCHRONOUS" and not s.staff_id
    ]
    by_key = {(s.merchant_id, s.service_id, s.start_sec, s.duration_sec, s.party_size): s for s in sync}
    for s in sorted(sync, key=lambda s: (s.merchant_id, s.service_id, s.start_sec, s.party_size)):
        later = [
            t
            for t in sync
            if (t.merchant_id, t.service_id, t.duration_sec, t.party_size)
            == (s.merchant_id, s.service_id, s.duration_sec, s.party_size)
            and t.start_sec > s.start_sec
        ]
        bigger = by_key.get((s.merchant_id, s.service_id, s.start_sec, s.duration_sec, s.party_size + 1))
        if later and bigger:
            return Slots(s, min(later, key=lambda t: t.start_sec), bigger)
    raise AssertionError("the self-test inventory has no dining slots to reschedule between")


SLOTS = pick_slots()


def update(
    form: str, booking: Json, *, start: int | None = None, party: int | None = None, cancel: bool = False
) -> Json:
    """An UpdateBooking body in ``form``: "short" (booking_id plus the change) or "whole" (the booking as
    the server answered it, with the change made in place; the other fields equal the stored ones)."""
    if form == "short":
        short: Json = {"booking_id": booking["booking_id"]}
        if cancel:
            short["status"] = "CANCELED"
        if start is not None:
            short.setdefault("slot", {})["start_sec"] = start
        if party is not None:
            short.setdefault("slot", {})["resources"] = {"party_size": party}
        return {"booking": short}
    whole = copy.deepcopy(booking)
    if cancel:
        whole["status"] = "CANCELED"
    if start is not None:
        whole["slot"]["start_sec"] = start
    if party is not None:
        whole["slot"].setdefault("resources", {})["party_size"] = party
    return {"booking": whole}


# --- one observation per profile: what a client sees (a clean server and the faulty one differ) -----------


def moved_away_frees_old(c: Client, form: str) -> Any:
    """Open spots of the old slot after a reschedule, against before the booking (0: freed)."""
    before = c.open_spots(SLOTS.booked)
    booking = c.book(SLOTS.booked)
    c.call("UpdateBooking", update(form, booking, start=SLOTS.later.start_sec))
    return c.open_spots(SLOTS.booked) - before


def moved_to_takes_new(c: Client, form: str) -> Any:
    """Open spots of the new slot after a reschedule, against before it (-1: taken)."""
    booking = c.book(SLOTS.booked)
    before = c.open_spots(SLOTS.later)
    c.call("UpdateBooking", update(form, booking, start=SLOTS.later.start_sec))
    return c.open_spots(SLOTS.later) - before


def rescheduled_start(c: Client, form: str) -> Any:
    booking = c.book(SLOTS.booked)
    _, answer = c.call("UpdateBooking", update(form, booking, start=SLOTS.later.start_sec))
    return int(answer["booking"]["slot"]["start_sec"]) - SLOTS.later.start_sec


def reschedule_into_full(c: Client, form: str) -> Any:
    """The answer to a reschedule into a slot with no spot left."""
    booking = c.book(SLOTS.booked)
    for _ in range(c.open_spots(SLOTS.later)):
        c.book(SLOTS.later)
    _, answer = c.call("UpdateBooking", update(form, booking, start=SLOTS.later.start_sec))
    return answer.get("booking_failure", {}).get("cause", "booked")


def repeated_reschedule(c: Client, form: str) -> Any:
    """The HTTP status of the same reschedule sent again (the booking is already at that time)."""
    booking = c.book(SLOTS.booked)
    _, moved = c.call("UpdateBooking", update(form, booking, start=SLOTS.later.start_sec))
    again = (
        update("short", booking, start=SLOTS.later.start_sec)
        if form == "short"
        else {"booking": moved["booking"]}
    )
    return c.call("UpdateBooking", again)[0]


def party_size_answer(c: Client, form: str) -> Any:
    booking = c.book(SLOTS.booked)
    _, answer = c.call("UpdateBooking", update(form, booking, party=SLOTS.bigger.party_size))
    return int(answer["booking"]["slot"]["resources"]["party_size"]) - SLOTS.bigger.party_size


def rescheduled_id(c: Client, form: str) -> Any:
    booking = c.book(SLOTS.booked)
    _, answer = c.call("UpdateBooking", update(form, booking, start=SLOTS.later.start_sec))
    return answer["booking"]["booking_id"] == booking["booking_id"]


def cancelled_status(c: Client, form: str) -> Any:
    booking = c.book(SLOTS.booked)
    _, answer = c.call("UpdateBooking", update(form, booking, cancel=True))
    return answer["booking"]["status"]


def cancel_frees_spot(c: Client, form: str) -> Any:
    before = c.open_spots(SLOTS.booked)
    booking = c.book(SLOTS.booked)
    c.call("UpdateBooking", update(form, booking, cancel=True))
    return c.open_spots(SLOTS.booked) - before


def recancel_status(c: Client, form: str) -> Any:
    booking = c.book(SLOTS.booked)
    c.call("UpdateBooking", update(form, booking, cancel=True))
    return c.call("UpdateBooking", update(form, booking, cancel=True))[0]


@dataclass(frozen=True)
class Case:
    fault: str
    observe: Callable[[Client, str], Any]
    clean: Any
    faulty: Any


CASES = [
    Case("reschedule-keeps-old", moved_away_frees_old, 0, -1),
    Case("reschedule-no-take", moved_to_takes_new, -1, 0),
    Case("reschedule-echo-old", rescheduled_start, 0, SLOTS.booked.start_sec - SLOTS.later.start_sec),
    Case("reschedule-overbook", reschedule_into_full, "SLOT_UNAVAILABLE", "booked"),
    Case("reschedule-not-idempotent", repeated_reschedule, 200, 400),
    Case("reschedule-new-id", rescheduled_id, True, False),
    Case("party-size-ignored", party_size_answer, 0, SLOTS.booked.party_size - SLOTS.bigger.party_size),
    Case("cancel-wrong-status", cancelled_status, "CANCELED", "CONFIRMED"),
    Case("cancel-no-release", cancel_frees_spot, 0, -1),
    Case("recancel-error", recancel_status, 200, 400),
]


def _observe(case: Case, form: str, faults: tuple[str, ...]) -> Any:
    with serve(faults) as served:
        return case.observe(Client(served.rest_url), form)


@pytest.mark.parametrize("form", ["short", "whole"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.fault)
def test_the_profile_fires_on_both_forms(case: Case, form: str) -> None:
    assert _observe(case, form, (case.fault,)) == case.faulty


@pytest.mark.parametrize("form", ["short", "whole"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.fault)
def test_the_clean_server_answers_both_forms(case: Case, form: str) -> None:
    assert _observe(case, form, ()) == case.clean


def _grpc_whole_update(url: str, auth: str, booking: Json, **change: Any) -> pb.UpdateBookingResponse:
    """The whole booking (as REST answered it) sent back over gRPC with ``change`` made in place."""
    request = json_format.ParseDict(update("whole", booking, **change), pb.UpdateBookingRequest())
    with grpc.insecure_channel(url.split("://", 1)[1]) as channel:
        stub = booking_pb2_grpc.BookingServiceStub(channel)
        answer: pb.UpdateBookingResponse = stub.UpdateBooking(
            request, metadata=(("authorization", auth),), timeout=10
        )
        return answer


@pytest.mark.parametrize(
    "fault,change,seen",
    [
        ("", {"start": SLOTS.later.start_sec}, _start_party(SLOTS.later)),
        ("reschedule-echo-old", {"start": SLOTS.later.start_sec}, _start_party(SLOTS.booked)),
        ("", {"party": SLOTS.bigger.party_size}, _start_party(SLOTS.bigger)),
        ("party-size-ignored", {"party": SLOTS.bigger.party_size}, _start_party(SLOTS.booked)),
    ],
    ids=["clean-reschedule", "reschedule-echo-old", "clean-party-size", "party-size-ignored"],
)
def test_the_whole_booking_form_over_grpc(fault: str, change: dict[str, int], seen: tuple[int, int]) -> None:
    """The same classification serves gRPC: a whole Booking message with status CONFIRMED and one change."""
    with serve((fault,) if fault else (), grpc=True) as served:
        assert served.grpc_url is not None
        client = Client(served.rest_url)
        booking = client.book(SLOTS.booked)
        answer = _grpc_whole_update(served.grpc_url, client.auth, booking, **change)
    assert not answer.HasField("booking_failure")
    assert (answer.booking.slot.start_sec, answer.booking.slot.resources.party_size) == seen
