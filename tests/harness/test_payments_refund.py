"""D40 against the services feed: the cancel of a prepaid booking may stay PREPAYMENT_PROVIDED only when the
feed grants no refund. The harness works out whether a refund is due from the service's refund conditions
(or ``min_advance_online_canceling``) and the slot start against its clock at the cancel; close to a
threshold, or without terms, it cannot tell and accepts PROVIDED (never cry wolf)."""

from __future__ import annotations

from typing import Any

import pytest

from booking_protocol.commerce import RefundCondition, ServiceTerms
from harness.checks.core import CheckContext
from harness.checks.payments import refund_on_cancel
from harness.payment_scenarios import CLOCK_MARGIN_SEC, refund_due
from harness.results import Exchange, HttpMessage
from harness.target_base import Reply

H, DAY = 3600, 86_400
START = 2_000_000_000
#: prepaid-hiit of the generated feed: 100 % a day ahead, 50 % two hours ahead, nothing after
TIERED = ServiceTerms(
    "m",
    "s",
    prepayment_required=True,
    refund_conditions=(RefundCondition(DAY, 100), RefundCondition(2 * H, 50)),
)
#: spa-day: refundable up to 48 h before only
TWO_DAYS = ServiceTerms(
    "m", "s", prepayment_required=True, refund_conditions=(RefundCondition(2 * DAY, 100),)
)
CUTOFF = ServiceTerms("m", "s", prepayment_required=True, min_advance_online_canceling=6 * H)
PLAIN = ServiceTerms("m", "s", prepayment_required=True)


@pytest.mark.parametrize(
    ("terms", "notice", "want"),
    [
        (TIERED, 3 * DAY, True),
        (TIERED, 5 * H, True),  # a partial refund is a refund (REFUNDED, §10 note 19)
        (TIERED, H, False),
        (TIERED, 2 * H, None),  # on the threshold: the target's clock may put it either side
        (TIERED, 2 * H + CLOCK_MARGIN_SEC + 1, True),
        (TIERED, 2 * H - CLOCK_MARGIN_SEC - 1, False),
        (TWO_DAYS, DAY, False),
        (TWO_DAYS, 3 * DAY, True),
        (CUTOFF, 7 * H, True),
        (CUTOFF, 5 * H, False),
        (PLAIN, 30 * DAY, True),
        (PLAIN, CLOCK_MARGIN_SEC // 2, None),  # about to start
        (PLAIN, -H, None),  # already started
        (None, 3 * DAY, None),  # the feed says nothing about the service
    ],
)
def test_refund_due_follows_the_feed_and_abstains_near_a_threshold(
    terms: ServiceTerms | None, notice: int, want: bool | None
) -> None:
    assert refund_due(terms, START, START - notice) is want


class _View:
    def step_replies(self, step_id: str) -> list[Reply]:
        return []


def _cancel_reply(status: str, **extra: Any) -> Reply:
    body = {"booking": {"booking_id": "b1", "payment_information": {"prepayment_status": status}}, **extra}
    exchange = Exchange("UpdateBooking", "rest", HttpMessage(body={}), HttpMessage(status=200), 20.0)
    return Reply(exchange=exchange, status=200, body=body, raw=body, is_json=True)


def _judge(status: str, due: bool | None, **extra: Any) -> tuple[bool, str]:
    ctx = CheckContext(scenario=_View(), step_id="cancel", replies=[_cancel_reply(status, **extra)])  # type: ignore[arg-type]
    (v,) = list(refund_on_cancel(ctx, refund_due=due))
    return v.ok, v.message + " " + str(v.actual or "")


@pytest.mark.parametrize(
    ("status", "due", "ok"),
    [
        ("PREPAYMENT_REFUNDED", True, True),
        ("PREPAYMENT_REFUNDED", False, True),  # refunding more than the feed grants is the partner's choice
        ("PREPAYMENT_PROVIDED", True, False),
        ("PREPAYMENT_PROVIDED", False, True),
        ("PREPAYMENT_PROVIDED", None, True),
        ("PREPAYMENT_NOT_PROVIDED", None, False),
        ("PREPAYMENT_CREDITED", None, False),  # without user_payment_option
    ],
)
def test_provided_after_cancel_fails_only_when_the_feed_grants_a_refund(
    status: str, due: bool | None, ok: bool
) -> None:
    got, text = _judge(status, due)
    assert got is ok, text


def test_the_verdict_says_why_provided_was_accepted_or_refused() -> None:
    assert "grants no refund" in _judge("PREPAYMENT_PROVIDED", False)[1]
    assert "could not be told" in _judge("PREPAYMENT_PROVIDED", None)[1]
    assert "grants a refund" in _judge("PREPAYMENT_PROVIDED", True)[1]
    assert _judge("PREPAYMENT_CREDITED", None, user_payment_option={"user_payment_option_id": "u"})[0]
