"""The payment checks added for D53 by count, D44 and D54, on hand-made replies: what each accepts (every
answer §11 column 3 allows) and what it reports. The matrix proves each against a broken server; these pin
the edges the reference server never shows (a count that rose, a refusal of another price, unlimited)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks.core import CheckContext, Verdict
from harness.checks.packs import unusable_option, upo_owned_used
from harness.checks.payments import paid_reschedule, spots_unchanged
from harness.results import Exchange, HttpMessage
from harness.target_base import Reply


def _reply(operation: str, body: dict[str, Any], status: int = 200) -> Reply:
    exchange = Exchange(operation, "rest", HttpMessage(body={}), HttpMessage(status=status), 20.0)
    return Reply(exchange=exchange, status=status, body=body, raw=body, is_json=True)


class _View:
    def __init__(self, steps: dict[str, list[Reply]]) -> None:
        self.steps = steps

    def step_replies(self, step_id: str) -> list[Reply]:
        return self.steps.get(step_id, [])


def _ctx(replies: list[Reply], **steps: list[Reply]) -> CheckContext:
    return CheckContext(scenario=_View(steps), step_id="now", replies=replies)  # type: ignore[arg-type]


def _count(n: int) -> Reply:
    return _reply("CheckAvailability", {"count_available": n})


FAILED = _reply("CreateBooking", {"booking_failure": {"cause": "PAYMENT_ERROR_CARD_DECLINED"}})
BOOKED = _reply("CreateBooking", {"booking": {"booking_id": "b1", "status": "CONFIRMED"}})


@pytest.mark.parametrize(
    ("before", "after", "attempts", "want"),
    [
        (5, 5, [FAILED], [True]),
        (5, 4, [FAILED, FAILED], [False]),  # one spot kept: invisible to a rebooking of a 5-spot slot
        (5, 6, [FAILED], [True]),  # someone cancelled meanwhile: nothing was taken
        (5, 4, [BOOKED], []),  # the attempt booked: its own deviation, and the spot is rightly taken
        (5, 4, [], []),  # no attempt was made
    ],
)
def test_spots_unchanged_sees_one_spot_kept_by_a_failed_payment(
    before: int, after: int, attempts: list[Reply], want: list[bool]
) -> None:
    ctx = _ctx([_count(after)], **{"spots-before": [_count(before)], "declined": attempts})
    got = [v.ok for v in spots_unchanged(ctx, before="spots-before", after=["declined"])]
    assert got == want


def test_spots_unchanged_needs_a_count_on_both_sides() -> None:
    no_count = _reply("CheckAvailability", {"slot": {}})
    ctx = _ctx([no_count], **{"spots-before": [_count(3)], "declined": [FAILED]})
    assert list(spots_unchanged(ctx, before="spots-before", after=["declined"])) == []


def _verdicts(verdicts: Any) -> list[tuple[str, bool]]:
    return [(v.rule_id, v.ok) for v in verdicts if isinstance(v, Verdict)]


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"booking_failure": {"cause": "PAYMENT_OPTION_NOT_VALID"}}, True),
        ({"booking_failure": {"cause": "USER_CANNOT_USE_PAYMENT_OPTION"}}, True),
        ({"booking_failure": {"cause": "PAYMENT_ERROR"}}, False),
        ({"booking": {"booking_id": "b1"}}, False),
    ],
)
def test_an_unusable_option_is_refused_with_either_d44_cause(body: dict[str, Any], ok: bool) -> None:
    got = _verdicts(unusable_option(_ctx([_reply("CreateBooking", body)]), why="no uses left"))
    assert got == [("payments/unusable-option", ok)]


def _used(type: str, original: int, current: int) -> Reply:
    upo = {"user_payment_option_id": "u1", "payment_option_id": "pack-5", "type": type}
    upo |= {"original_count": original, "current_count": current}
    body = {
        "booking": {"booking_id": "b1", "payment_information": {"user_payment_option_id": "u1"}},
        "user_payment_option": upo,
    }
    return _reply("CreateBooking", body)


@pytest.mark.parametrize(
    ("type", "original", "current", "count_ok"),
    [
        ("PAYMENT_OPTION_MULTI_USE", 5, 0, True),
        ("PAYMENT_OPTION_MULTI_USE", 5, 4, True),
        ("PAYMENT_OPTION_MULTI_USE", 5, 5, False),  # the use was not counted
        ("PAYMENT_OPTION_SINGLE_USE", 1, 0, True),
        ("PAYMENT_OPTION_SINGLE_USE", 1, 1, False),
        ("PAYMENT_OPTION_UNLIMITED_USE", 0, 0, None),  # counts of a membership are not judged
    ],
)
def test_an_owned_pack_use_is_counted(type: str, original: int, current: int, count_ok: bool | None) -> None:
    sessions = 5 if type == "PAYMENT_OPTION_MULTI_USE" else 1
    ctx = _ctx([_used(type, original, current)])
    got = dict(_verdicts(upo_owned_used(ctx, payment_option_id="pack-5", type=type, sessions=sessions)))
    assert got.get("payments/upo-id-match") is True
    assert got.get("payments/upo-count") is count_ok


def _paid(tid: str, status: str = "PREPAYMENT_PROVIDED") -> Reply:
    payment = {"prepayment_status": status, "payment_transaction_id": tid}
    return _reply("UpdateBooking", {"booking": {"booking_id": "b1", "payment_information": payment}})


@pytest.mark.parametrize(
    ("moved", "same_price", "want"),
    [
        (_paid("t1"), True, [True]),
        (_paid("t2"), True, [False]),
        (_paid("t1", "PREPAYMENT_REFUNDED"), True, [False]),
        (_paid("t2"), False, []),  # another price: a new charge is the partner's business (D54)
        (_reply("UpdateBooking", {"booking_failure": {"cause": "PAYMENT_ERROR"}}), True, []),
    ],
)
def test_a_reschedule_keeps_the_payment(moved: Reply, same_price: bool, want: list[bool]) -> None:
    ctx = _ctx([moved], book=[_paid("t1")])
    assert [v.ok for v in paid_reschedule(ctx, step="book", same_price=same_price)] == want


def test_a_reschedule_is_not_blamed_for_a_transaction_id_the_booking_never_showed() -> None:
    ctx = _ctx([_paid("t9")], book=[_paid("")])
    assert [v.ok for v in paid_reschedule(ctx, step="book")] == [True]
