"""The history checker: windows that cannot be ordered, histories that can, and the per-slot sequential spec
agreeing with the domain core it transcribes."""

from __future__ import annotations

import math

from histories import correct_history
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.explore.linearize import (
    ALREADY,
    AVAILABLE,
    BOOKED,
    CANCELLED,
    FAILED,
    REFUSED,
    UNKNOWN,
    HOp,
    State,
    check,
    step,
)
from mock_server.domain import (
    BookingService,
    BookingStatus,
    CreateBookingCommand,
    DomainConfig,
    FakeClock,
    Inventory,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
)


def op(i: int, kind: str, arg: str, result: tuple[str, str], call: float, ret: float, client: int = 0) -> HOp:
    return HOp(i, client, 0, kind, arg, result, call, ret, f"{kind} {arg}")


def test_two_bookings_of_the_last_spot_cannot_be_ordered_and_are_named() -> None:
    history = [
        op(0, "book", "t1", (BOOKED, "b1"), 0.0, 1.0),
        op(1, "book", "t2", (BOOKED, "b2"), 0.5, 1.5, client=1),
        op(2, "read", "", (AVAILABLE, "false"), 2.0, 3.0),
        op(3, "book", "t3", (FAILED, "SLOT_UNAVAILABLE"), 2.0, 2.5),
    ]
    [verdict] = check(history, {0: 1})
    assert not verdict.ok
    assert sorted(h.id for h in verdict.window) == [0, 1]
    assert verdict.start == State(1)


def test_a_sequentially_consistent_history_is_linearizable() -> None:
    history = [
        op(0, "book", "t1", (BOOKED, "b1"), 0.0, 1.0),
        op(1, "book", "t2", (FAILED, "SLOT_UNAVAILABLE"), 0.5, 1.5),  # may come after t1
        op(2, "cancel", "b1", (CANCELLED, ""), 2.0, 2.1),
        op(3, "book", "t2", (BOOKED, "b2"), 2.2, 2.3),  # a failed token is tried again (D11)
        op(4, "book", "t1", (BOOKED, "b1"), 2.4, 2.5),  # a resend gets the same booking
        op(5, "cancel", "b1", (ALREADY, ""), 2.6, 2.7),
    ]
    assert all(v.ok for v in check(history, {0: 1}))


def test_an_unanswered_booking_may_or_may_not_have_taken_the_spot() -> None:
    pending = op(0, "book", "t1", (UNKNOWN, "timeout"), 0.0, math.inf)
    took = [pending, op(1, "book", "t2", (FAILED, "SLOT_UNAVAILABLE"), 1.0, 1.1)]
    left = [pending, op(1, "book", "t2", (BOOKED, "b2"), 1.0, 1.1)]
    assert check(took, {0: 1})[0].ok and check(left, {0: 1})[0].ok


def test_two_bookings_for_one_token_cannot_be_ordered() -> None:
    history = [
        op(0, "book", "t1", (BOOKED, "b1"), 0.0, 1.0),
        op(1, "book", "t1", (BOOKED, "b2"), 0.1, 0.9, 1),
    ]
    [verdict] = check(history, {0: 5})
    assert not verdict.ok and len(verdict.window) == 2


def test_a_transient_refusal_of_a_copy_is_allowed() -> None:
    history = [
        op(0, "book", "t1", (BOOKED, "b1"), 0.0, 1.0),
        op(1, "book", "t1", (REFUSED, "409"), 0.1, 0.2, 1),
    ]
    assert check(history, {0: 1})[0].ok


def test_a_2000_operation_history_on_10_slots_is_decided() -> None:
    history = correct_history(2000, 10, seed=3)
    verdicts = check(history, {s: 3 for s in range(10)}, budget_sec=60)
    assert len(verdicts) == 10 and all(v.ok for v in verdicts)
    broken = history + [HOp(2000, 9, 0, "book", "fresh", (BOOKED, "phantom"), 10_000.0, 10_001.0)]
    broken += [HOp(2001, 9, 0, "book", "fresh2", (BOOKED, "phantom2"), 10_000.0, 10_001.0)]
    broken += [HOp(2002, 9, 0, "book", "fresh3", (BOOKED, "phantom3"), 10_000.0, 10_001.0)]
    broken += [HOp(2003, 9, 0, "book", "fresh4", (BOOKED, "phantom4"), 10_000.0, 10_001.0)]
    assert not all(v.ok for v in check(broken, {s: 3 for s in range(10)}, budget_sec=60))


# -- the sequential spec is the domain's rule set ----------------------------------------------------------

_OPS = st.lists(st.tuples(st.sampled_from(("book", "cancel", "read")), st.integers(0, 4)), max_size=25)


@settings(max_examples=60, deadline=None, database=None)
@given(_OPS, st.integers(1, 3))
def test_the_sequential_spec_agrees_with_the_domain(ops: list[tuple[str, int]], spots: int) -> None:
    """Serial histories answered by ``mock_server.domain`` are exactly those the per-slot spec accepts."""
    inv = Inventory()
    inv.add("m", "s", 2_000_000_000, 3600, spots_total=spots, spots_open=spots)
    svc = BookingService(inv, config=DomainConfig(same_user_rebook="allow"), clock=FakeClock(1_900_000_000))
    query = SlotQuery("m", "s", 2_000_000_000, 3600)
    state, booked = State(spots), []
    for i, (kind, n) in enumerate(ops):
        if kind == "book":
            r = svc.create_booking(CreateBookingCommand(query, UserInfo(f"u{n}"), f"t{n}"))
            result = (BOOKED, r.booking.booking_id) if r.booking else (FAILED, r.failure.cause.name)  # type: ignore[union-attr]
            if r.booking:
                booked.append(r.booking.booking_id)
            h = HOp(i, 0, 0, "book", f"t{n}", result, i, i + 0.5)
        elif kind == "cancel" and booked:
            b = booked[n % len(booked)]
            r = svc.update_booking(UpdateBookingCommand(b, status=BookingStatus.CANCELED))
            h = HOp(i, 0, 0, "cancel", b, (CANCELLED, "") if r.booking else (ALREADY, ""), i, i + 0.5)
        else:
            h = HOp(
                i,
                0,
                0,
                "read",
                "",
                (AVAILABLE, "true" if svc.batch_availability([query])[0] else "false"),
                i,
                i + 0.5,
            )
        nxt = list(step(state, h))
        assert len(nxt) == 1, (h, state)
        state = nxt[0]
