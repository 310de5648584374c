"""The escape hatch: scenarios that need a clock or a loop over ``--num-slots`` (registered Python).

Each function receives the :class:`harness.runner.ScenarioRun` of its scenario (slots, users, tokens, call,
expect) and produces the same records as data scenarios. The YAML entry that names it (``python: NAME``)
still declares the id, title, spec sections, capabilities and slots. Registration and
:class:`~harness.scenario_base.ScenarioStopped` come from :mod:`harness.scenario_base`, so this module never
imports the runner or the scenario loader (no import cycle).
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.checks import booking_id, is_booking, lease_of
from harness.inventory import SlotRequirement
from harness.normalize import dig
from harness.profile import LEASE_EXPIRY_MARGIN_SEC
from harness.scenario_base import ScenarioStopped, python_scenario
from harness.templates import slot_json, slot_time_json

#: How long the lease-expiry scenario asks the lease to last, and the longest it waits for expiry.
LEASE_ASK_SEC = 2


@python_scenario("lease-expiry")
async def lease_expiry(run: Any) -> None:
    """Ask for a short lease, wait until it has expired, then book on it: LEASE_EXPIRED (§3.3)."""
    s = run.slot("a")
    now = run.now()
    lease_req = {
        "lease": {
            "slot": slot_json(s),
            "user_reference": run.token("lease"),
            "lease_expiration_time_sec": str(now + LEASE_ASK_SEC),
        }
    }
    reply = await run.call("lease", "CreateLease", lease_req)
    run.expect("lease", "lease-created", slot="a", now=now)
    lease = lease_of(reply)
    if not lease.get("lease_id"):
        raise ScenarioStopped("stopped: CreateLease gave no lease")
    expires = dig(lease, "lease_expiration_time_sec", 0)
    limit = now + run.config.max_lease_sec
    if not isinstance(expires, int) or expires > limit:
        raise ScenarioStopped(
            f"the server lengthened the lease to {expires} (asked {now + LEASE_ASK_SEC}); waiting "
            f"more than {run.config.max_lease_sec} s for it to expire is not worth it",
            skip=True,
        )
    await asyncio.sleep(max(0.0, expires - run.config.clock()) + LEASE_EXPIRY_MARGIN_SEC)
    body = {
        "slot": slot_json(s),
        "lease_ref": {"lease_id": lease["lease_id"]},
        "user_information": run.user("alice"),
        "idempotency_token": run.token("book"),
    }
    await run.call("book-expired", "CreateBooking", body)
    run.expect(
        "book-expired",
        "business-failure",
        rule="lease/expired",
        causes=["LEASE_EXPIRED"],
        what="a booking on an expired lease fails with LEASE_EXPIRED",
    )


#: Google's test-client flags (spec §7.3) and the parts of the flow each one runs; ``-all_tests`` is all.
GOOGLE_TESTS = ("health", "check-availability", "booking", "list-bookings", "rescheduling")


def _google(*tests: str) -> Any:
    """The Google test-client flow restricted to ``tests`` (a subset of :data:`GOOGLE_TESTS`)."""

    async def scenario(run: Any) -> None:
        await google_flow(run, frozenset(tests))

    return scenario


async def google_flow(run: Any, tests: frozenset[str]) -> None:
    """Google's v3 test-client flow (spec §7.3) over ``--num-slots`` slots, as strict as Google's client:
    HealthCheck; availability per slot with the method the target profile names (CheckAvailability or
    BatchAvailabilityLookup); CreateBooking per slot, each resent once with its idempotency token (a second
    booking fails the run, as Google's explicit idempotency test does); ListBookings; GetBookingStatus per
    slot; rescheduling; and cancel all. ``tests`` selects parts like Google's ``-<name>_test`` flags."""
    if "health" in tests:
        await run.call("health", "HealthCheck")
        run.expect("health", "health-ok")
    if not tests & {"check-availability", "booking", "list-bookings", "rescheduling"}:
        return
    n = max(1, run.config.num_slots)
    slots = run.inventory.take_plain(n, SlotRequirement("g", mode="any"))
    if not slots:
        raise ScenarioStopped("the feed has no free future slot with open spots", skip=True)
    for i, s in enumerate(slots):
        run.slots[f"s{i}"] = s
    if "check-availability" in tests:
        await _google_availability(run, slots)
    if not tests & {"booking", "list-bookings", "rescheduling"}:
        return
    user = run.user("google-test-client")
    booked = await _google_bookings(run, slots, user)
    if "list-bookings" in tests and run.config.profile.list_bookings:
        await run.call("list", "ListBookings", {"user_id": user["user_id"]})
        run.expect("list", "list-bookings", user="google-test-client", active=[f"create-{i}" for i in booked])
    if "booking" in tests and run.config.profile.get_booking_status:
        for i in booked:
            step = f"status-{i}"
            await run.call(
                step, "GetBookingStatus", {"booking_id": booking_id(run.step_reply(f"create-{i}"))}
            )
            run.expect(
                step,
                "booking-status",
                step=f"create-{i}",
                status=["CONFIRMED", "PENDING_MERCHANT_CONFIRMATION"],
            )
    if "rescheduling" in tests and booked:
        await _google_reschedule(run, slots, booked)
    # cancel_all_bookings
    for i in booked:
        step = f"cancel-{i}"
        await run.call(
            step,
            "UpdateBooking",
            {"booking": {"booking_id": booking_id(run.step_reply(f"create-{i}")), "status": "CANCELED"}},
        )
        run.expect(step, "cancelled", step=f"create-{i}")


async def _google_availability(run: Any, slots: list[Any]) -> None:
    """One availability call per slot, by the method the target profile names."""
    use_check = run.config.profile.availability == "check"
    for i, s in enumerate(slots):
        step = f"availability-{i}"
        if use_check:
            await run.call(step, "CheckAvailability", {"slot": slot_json(s)})
            run.expect(step, "check-availability", slot=f"s{i}", open=True)
        else:
            await run.call(
                step,
                "BatchAvailabilityLookup",
                {"merchant_id": s.merchant_id, "slot_time": [slot_time_json(s)]},
            )
            run.expect(step, "bal-available", expect=[True], rule="bal/open-slot-available")


async def _google_bookings(run: Any, slots: list[Any], user: dict[str, Any]) -> list[int]:
    """CreateBooking per slot, each resent once with the same token: the same booking, never a second."""
    for i, s in enumerate(slots):
        step = f"create-{i}"
        body = {"slot": slot_json(s), "user_information": user, "idempotency_token": run.token(step)}
        await run.call(step, "CreateBooking", body)
        run.expect(step, "booking-created", slot=f"s{i}", user="google-test-client")
        if is_booking(run.step_reply(step)):
            # the resend belongs to the slot's step: a second booking is an error of this slot's
            # CreateBooking in Google's summary ("Errors: 1 out of N"), N counting slots, not requests
            await run.call(step, "CreateBooking", body, counted=False)
            run.expect(step, "same-booking-as", step=step)
    return [i for i in range(len(slots)) if is_booking(run.step_reply(f"create-{i}"))]


async def _google_reschedule(run: Any, slots: list[Any], booked: list[int]) -> None:
    """Move the first (synchronous, if any) booking to a free slot of the same merchant, service and
    resources."""
    sync = [i for i in booked if not slots[i].is_async]
    chosen = (sync or booked)[0]
    target = run.inventory.take_plain(1, SlotRequirement("r", mode="any"), like=slots[chosen])
    if not target:
        return
    run.slots["reschedule"] = t = target[0]
    await run.call(
        "reschedule",
        "UpdateBooking",
        {
            "booking": {
                "booking_id": booking_id(run.step_reply(f"create-{chosen}")),
                "slot": {"start_sec": str(t.start_sec), "duration_sec": str(t.duration_sec)},
            }
        },
    )
    run.expect("reschedule", "rescheduled", step=f"create-{chosen}", slot="reschedule")


python_scenario("google-test-client")(_google(*GOOGLE_TESTS))
for _test in GOOGLE_TESTS:
    python_scenario(f"google-test-client-{_test}")(_google(_test))
