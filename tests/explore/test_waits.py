"""Waits for lease expiry against a target whose clock cannot be moved on: real seconds, so explore takes
a wait only when a later step could see the lease expire, always the first such wait, and later ones within
a share of the budget. Real server and real clock (no ``advance``), so each test waits about 3 s."""

from __future__ import annotations

import asyncio
import time

from explorehelp import run_config, serve

from harness.explore import ops as o
from harness.explore.driver import Budget, ExampleRecord, Explorer
from harness.targets import make_target
from mock_server.domain import ShiftedClock

SHORT_LEASE_THEN_BOOK = [o.Lease(o.ROLE_A, 0, short=True), o.Wait(), o.BookOnLease(0, 0, 0)]


def _run(url: str, histories: list[list[o.Op]]) -> tuple[list[ExampleRecord], float]:
    config = run_config(url, clock=time.time)
    explorer = Explorer(config, Budget(max_examples=10), make_target(config.target))
    loop = asyncio.new_event_loop()
    try:
        records = [loop.run_until_complete(explorer.run_example(ops)) for ops in histories]
        loop.run_until_complete(explorer._drain())
        loop.run_until_complete(explorer.target.close())
    finally:
        loop.close()
    return records, explorer.waited_sec


def test_a_lease_honoured_after_its_expiry_is_found_in_real_time() -> None:
    with serve(["lease-no-expiry"], clock=None) as served:
        (rec,), waited = _run(served.rest_url, [SHORT_LEASE_THEN_BOOK])
    assert rec.steps[1].skipped is None and waited > o.EXPIRY_MARGIN_SEC
    assert rec.failure is not None and rec.failure.rule_id == "lease/expired", rec.failure
    assert rec.failing_step == 2


def test_the_clean_server_refuses_the_expired_lease_and_the_model_agrees() -> None:
    with serve(clock=None) as served:
        (rec,), waited = _run(served.rest_url, [SHORT_LEASE_THEN_BOOK])
    assert rec.failure is None, rec.failure
    assert [s.skipped for s in rec.steps] == [None, None, None] and waited > o.EXPIRY_MARGIN_SEC


def test_a_wait_no_later_step_observes_is_skipped_and_costs_nothing() -> None:
    unobserved = [o.Lease(o.ROLE_A, 0, short=True), o.Wait(), o.Status(0), o.ListUser(0)]
    with serve(clock=None) as served:
        (rec,), waited = _run(served.rest_url, [unobserved])
    assert rec.steps[1].skipped == "no later step could see the lease expire"
    assert waited == 0 and rec.failure is None


def test_after_the_first_wait_the_share_of_the_search_time_rations_them() -> None:
    with serve(clock=None) as served:
        (first, second), waited = _run(served.rest_url, [SHORT_LEASE_THEN_BOOK, SHORT_LEASE_THEN_BOOK])
    assert first.steps[1].skipped is None
    # 10% of the few seconds searched so far is less than a second wait of about 3 s
    assert second.steps[1].skipped is not None and "share" in second.steps[1].skipped
    assert second.failure is None  # skipped: the lease is still live and the booking on it stands
    assert o.EXPIRY_MARGIN_SEC < waited <= o.SHORT_LEASE_SEC + 1 + o.EXPIRY_MARGIN_SEC


def test_a_wait_only_a_lookup_observes_waits_for_the_share_and_a_booking_on_the_lease_does_not() -> None:
    """A lookup of the leased slot is a weaker observer than a booking on the lease: at the start of a run
    (no share of the search time yet) its wait is skipped, while the first wait before a booking on the
    lease is always taken."""
    looked_up = [o.Lease(o.ROLE_A, 0, short=True), o.Wait(), o.Count(o.ROLE_A)]
    with serve(clock=None) as served:
        (lookup, booking), waited = _run(served.rest_url, [looked_up, SHORT_LEASE_THEN_BOOK])
    assert lookup.steps[1].skipped is not None and "share" in lookup.steps[1].skipped
    assert booking.steps[1].skipped is None and waited > o.EXPIRY_MARGIN_SEC


def test_a_server_whose_clock_runs_a_second_behind_is_not_blamed() -> None:
    """A correct server a second behind bookcheck's clock (or comparing whole seconds) still holds the
    lease a moment after its expiry by our clock: the wait's margin keeps explore from crying wolf."""
    with serve(clock=ShiftedClock(time.time() - 1.0)) as served:
        (rec,), waited = _run(served.rest_url, [SHORT_LEASE_THEN_BOOK])
    assert rec.steps[1].skipped is None and waited > o.EXPIRY_MARGIN_SEC
    assert rec.failure is None, rec.failure
