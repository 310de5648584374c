"""One bug is reported once, where it belongs: when a refusal could follow from several earlier steps, the
judge names the rule of the step that most recently should have left a spot open. Fixed histories against
the reference server with one fault, on slots of one open spot (``like``), judged step by step."""

from __future__ import annotations

import asyncio

import pytest
from explorehelp import feed_slots, run_config, serve

from booking_protocol.feed import FeedSlot
from harness.explore import ops as o
from harness.explore.driver import Budget, Explorer
from harness.targets import make_target

A, A2, P, UNKNOWN = o.ROLE_A, o.ROLE_A2, o.ROLE_P, o.ROLE_UNKNOWN


def _dining(spots: int) -> dict[int, FeedSlot]:
    """Slot shapes to replay on: a and a2 with ``spots`` open spots and a party size, p another one."""
    a = next(s for s in feed_slots() if s.spots_open == spots and s.party_size)
    p = next(s for s in feed_slots() if s.spots_open >= 1 and s.party_size not in (0, a.party_size))
    return {A: a, A2: a, P: p}


def _first_failure(fault: str, ops: list[o.Op], spots: int) -> str | None:
    with serve([fault]) as served:
        config = run_config(served.rest_url)
        explorer = Explorer(config, Budget(max_examples=5), make_target(config.target))
        loop = asyncio.new_event_loop()
        try:
            rec = loop.run_until_complete(explorer.run_example(ops, _dining(spots)))
            loop.run_until_complete(explorer.target.close())
        finally:
            loop.close()
    assert rec.slots[A].spots_open == spots, "the replay did not get the slot shape asked for"
    return rec.failure.rule_id if rec.failure else None


@pytest.mark.parametrize(
    ("fault", "ops", "spots", "rule"),
    [
        pytest.param(
            "reschedule-keeps-old",
            # the booking moves to p, a resend names the unknown slot, then a booking on a is refused
            [o.Book(A, 0, 1), o.PartySize(0), o.Book(UNKNOWN, 1, 1), o.Book(A, 2, 2)],
            1,
            "update-booking/reschedule-frees-old",
            id="a resend naming another slot does not explain a spot the move kept",
        ),
        pytest.param(
            "reschedule-keeps-old",
            # the move back to a is refused: the spot the first move should have freed is missing
            [o.Book(A, 0, 1), o.PartySize(0), o.PartySize(0)],
            1,
            "update-booking/reschedule-frees-old",
            id="a move back into the slot the move kept",
        ),
        pytest.param(
            "replay-takes-spot",
            # two spots: the resend takes the second, so the next new booking is refused
            [o.Book(A, 0, 1), o.Book(A, 0, 1), o.Book(A, 2, 2)],
            2,
            "create-booking/idempotent-capacity",
            id="a resend that takes a spot",
        ),
    ],
)
def test_the_refusal_is_named_by_the_step_that_should_have_freed_the_spot(
    fault: str, ops: list[o.Op], spots: int, rule: str
) -> None:
    assert _first_failure(fault, ops, spots) == rule
