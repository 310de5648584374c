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
    await asyncio.sleep(max(0.0, expires - run.config.clock()) + 1.05)
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


@python_scenario("google-test-client")
async def google_test_client(run: Any) -> None:
    """Google's v3 test-client flow (spec §7.3) over ``--num-slots`` slots: HealthCheck, availability per
    slot, CreateBooking per slot, ListBookings, GetBookingStatus per slot, rescheduling and cancel all. The
    run's summary is printed in the test client's format, so per-slot counts are "out of N" as in Google's
    output (idempotency is covered by the default suite)."""
    n = max(1, run.config.num_slots)
    slots = run.inventory.take_plain(n, SlotRequirement("g", mode="any"))
    if not slots:
        raise ScenarioStopped("the feed has no free future slot with open spots", skip=True)
    for i, s in enumerate(slots):
        run.slots[f"s{i}"] = s
    await run.call("health", "HealthCheck")
    run.expect("health", "health-ok")
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
    user = run.user("google-test-client")
    for i, s in enumerate(slots):
        step = f"create-{i}"
        await run.call(
            step,
            "CreateBooking",
            {"slot": slot_json(s), "user_information": user, "idempotency_token": run.token(step)},
        )
        run.expect(step, "booking-created", slot=f"s{i}", user="google-test-client")
    booked = [i for i in range(len(slots)) if is_booking(run.step_reply(f"create-{i}"))]
    if run.config.profile.list_bookings:
        await run.call("list", "ListBookings", {"user_id": user["user_id"]})
        run.expect("list", "list-bookings", user="google-test-client", active=[f"create-{i}" for i in booked])
    if run.config.profile.get_booking_status:
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
    # rescheduling: move the first booking to a free slot of the same merchant, service and resources
    if booked:
        sync = [i for i in booked if not slots[i].is_async]
        chosen = (sync or booked)[0]
        first = slots[chosen]
        target = run.inventory.take_plain(1, SlotRequirement("r", mode="any"), like=first)
        if target:
            run.slots["reschedule"] = target[0]
            t = target[0]
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
    # cancel_all_bookings
    for i in booked:
        step = f"cancel-{i}"
        await run.call(
            step,
            "UpdateBooking",
            {"booking": {"booking_id": booking_id(run.step_reply(f"create-{i}")), "status": "CANCELED"}},
        )
        run.expect(step, "cancelled", step=f"create-{i}")
