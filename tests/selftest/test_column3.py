"""The harness accepts every answer §11 column 3 allows for the decisions of issue 11 (D24-D27, D31): the
reference server's allowed-choice options give no deviation in the scenarios of those decisions."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from faultrun import PASSWORD, USER, errored, feed_slots, fired, run_harness, serve
from timebase import pinned_clock

from booking_protocol.feed import FeedSlot
from harness.results import Status
from harness.templates import slot_json

SCENARIOS = (
    "create-booking/token-other-body",
    "create-booking/token-other-party-size",
    "create-booking/in-flight-copies",
    "create-booking/replay-after-cancel",
    "create-booking/replay-after-reschedule",
    "update-booking/whole-booking-cancel",
    "update-booking/whole-booking-reschedule",
    "update-booking/whole-booking-party-size",
    "bal/available-is-bookable",
)


@pytest.mark.parametrize(
    "options",
    [
        {"token_reuse": "refuse"},  # D24: 400 for a used token with another body
        {"replay_state": "original"},  # D26: the booking as first answered
        {"same_user_rebook": "allow", "recancel": "echo"},  # unrelated choices do not disturb them
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_allowed_choices_pass_the_new_scenarios(options: dict[str, Any]) -> None:
    with serve(grpc=True, **options) as served:
        assert served.grpc_url is not None
        for url in (served.rest_url, served.grpc_url):
            result = run_harness(url, only=SCENARIOS)
            assert fired(result) == set(), [c for c in result.checks() if c.is_deviation]
            assert errored(result) == []
            ran = {s.scenario_id for s in result.scenarios if s.status == Status.PASS}
            assert ran == set(SCENARIOS), {s.scenario_id: s.reason for s in result.scenarios}


def _create(url: str, slot: FeedSlot, user: str, token: str) -> tuple[int, dict[str, Any]]:
    body = {"slot": slot_json(slot), "user_information": {"user_id": user}, "idempotency_token": token}
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    req = urllib.request.Request(
        f"{url}/v3/CreateBooking",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_the_options_answer_as_column_3_allows() -> None:
    """What the options above do, seen on the wire: a reused token with another user is 400 under
    ``--token-reuse refuse``, the token's booking otherwise."""
    open_slots = [s for s in feed_slots() if s.spots_open >= 2 and s.start_sec > pinned_clock()()]
    slot = open_slots[0]
    for options, want in (({"token_reuse": "refuse"}, 400), ({}, 200)):
        with serve(**options) as served:
            status, first = _create(served.rest_url, slot, "u1", "tok-1")
            again, body = _create(served.rest_url, slot, "u2", "tok-1")
        assert status == 200 and "booking" in first
        assert again == want
        if want == 200:
            assert body["booking"]["booking_id"] == first["booking"]["booking_id"]
