"""Live slots (spec §11 D28): the feed says a slot is open; the target has the last word.

A partner's sandbox has other people's bookings and the left-overs of interrupted runs, so a slot the feed
lists as open may be taken. Right before the scenarios run, the harness asks the target about every slot it
allocated, with the availability method the target claims (BatchAvailabilityLookup, one call per merchant and
at most :data:`CHUNK` slot times; or CheckAvailability, which also tells how many spots are left). A slot the
target calls unavailable, or with fewer spots than the feed says, is *stale*: the scenario gets another one,
and the report carries a data warning. A stale feed is never a server deviation.

The answers are taken at face value here; whether availability agrees with booking is judged by the
scenarios (§11 D31), with slots nobody else touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from booking_protocol.feed import FeedSlot
from harness.config import RunConfig
from harness.inventory import GroupKey, Inventory, group_key
from harness.scenario import Scenario
from harness.selection import Allocation, allocate
from harness.target_base import Target
from harness.templates import slot_json, slot_time_json

#: slot times asked about in one BatchAvailabilityLookup
CHUNK = 50
#: CheckAvailability calls in flight at once (it asks about one slot a call)
CHECK_CONCURRENCY = 16
#: rounds of "allocate, confirm, drop what is taken" at most: each round only asks about slots not yet
#: confirmed, so a busy sandbox costs a few BatchAvailabilityLookup calls per round
MAX_ROUNDS = 25


@dataclass(frozen=True)
class LiveState:
    """What the target said of one slot: ``open`` is False when it is taken; ``spots`` is the live count when
    the method tells it (CheckAvailability), else None."""

    open: bool
    spots: int | None = None

    def stale_for(self, slot: FeedSlot) -> bool:
        """The feed's promise does not hold: the slot is taken, or has fewer spots left than listed."""
        return not self.open or (self.spots is not None and self.spots < slot.spots_open)


async def live_states(
    target: Target, slots: Sequence[FeedSlot], availability: str
) -> dict[tuple[object, ...], LiveState]:
    """The live state of each slot, by ``FeedSlot.key``. Slots the target gave no usable answer for are left
    out (they are used as the feed says: a broken availability method is the scenarios' business)."""
    out: dict[tuple[object, ...], LiveState] = {}
    if availability == "check":
        sem = asyncio.Semaphore(CHECK_CONCURRENCY)

        async def ask(s: FeedSlot) -> None:
            async with sem:
                reply = await target.call("CheckAvailability", {"slot": slot_json(s)})
            count = reply.data.get("count_available") if reply.ok else None
            if isinstance(count, int):
                out[s.key] = LiveState(open=count > 0, spots=count)

        await asyncio.gather(*(ask(s) for s in slots))
        return out
    by_merchant: dict[str, list[FeedSlot]] = {}
    for s in slots:
        by_merchant.setdefault(s.merchant_id, []).append(s)
    for merchant in sorted(by_merchant):
        group = by_merchant[merchant]
        for i in range(0, len(group), CHUNK):
            chunk = group[i : i + CHUNK]
            body = {"merchant_id": merchant, "slot_time": [slot_time_json(s) for s in chunk]}
            reply = await target.call("BatchAvailabilityLookup", body)
            entries = reply.data.get("slot_time_availability") if reply.ok else None
            if not isinstance(entries, list) or len(entries) != len(chunk):
                continue  # a malformed answer: bal/* scenarios judge it
            for s, e in zip(chunk, entries, strict=True):
                if isinstance(e, dict):
                    out[s.key] = LiveState(open=e.get("available") is True)
    return out


def make_inventory(config: RunConfig, exclude: frozenset[GroupKey] = frozenset()) -> Inventory:
    """The run's inventory: the feed's future open slots, seeded, without the slot groups in ``exclude``."""
    return Inventory(
        config.feed or [],
        seed=config.seed,
        now=int(config.clock()),
        min_lead_sec=config.min_lead_sec,
        merchant=config.merchant,
        service=config.service,
        exclude=exclude,
    )


async def allocate_live(
    scenarios: list[Scenario], config: RunConfig, target: Target, inventory: Inventory | None = None
) -> tuple[Allocation, Inventory, tuple[str, ...]]:
    """Allocate slots as :func:`harness.selection.allocate` does, then confirm them on the target; slot
    groups the target has taken are dropped and the allocation is made again without them. Deterministic
    for a given feed, seed and live state. ``inventory``: the first round's, when the caller has it already.
    Returns the allocation, its inventory and the data warnings."""
    availability = "check" if config.profile.availability == "check" else "bal"
    stale: dict[GroupKey, FeedSlot] = {}
    confirmed: dict[tuple[object, ...], LiveState] = {}
    inventory = inventory or make_inventory(config)
    allocation = allocate(scenarios, inventory, config, target.transport)
    for round_ in range(MAX_ROUNDS + 1):
        fresh = [
            s
            for slots in allocation.values()
            if isinstance(slots, dict)
            for s in slots.values()
            if s.key not in confirmed
        ]
        if not fresh:
            break
        if round_ == MAX_ROUNDS:
            break  # give up confirming; what is left is used as the feed says
        confirmed.update(await live_states(target, fresh, availability))
        taken = {group_key(s): s for s in fresh if s.key in confirmed and confirmed[s.key].stale_for(s)}
        if not taken:
            break
        stale.update(taken)
        inventory = make_inventory(config, frozenset(stale))
        allocation = allocate(scenarios, inventory, config, target.transport)
    warnings: tuple[str, ...] = ()
    if stale:
        example = next(iter(stale.values()))
        warnings = (
            f"stale feed: {len(stale)} slot group(s) the feed lists as open are taken on the target (e.g. "
            f"{example.merchant_id}/{example.service_id} at {example.start_sec}); other slots were used "
            "instead",
        )
    return allocation, inventory, warnings


__all__ = ["CHUNK", "LiveState", "allocate_live", "live_states", "make_inventory"]
