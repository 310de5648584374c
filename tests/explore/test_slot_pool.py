"""Explore's slot pool: fresh slots per history, never twice, and during the last shrink pass slots alike
the failing example's (open spots, confirmation mode, party size) for every role, where the feed has them."""

from __future__ import annotations

import dataclasses

from explorehelp import feed_slots
from timebase import PINNED_NOW

from booking_protocol.feed import FeedSlot
from harness.explore import ops as o
from harness.explore.world import SlotPool
from harness.inventory import group_key

ALL = {o.ROLE_A, o.ROLE_A2, o.ROLE_B, o.ROLE_P}


def _pool() -> SlotPool:
    return SlotPool(feed_slots(), seed=1, now=PINNED_NOW, min_lead_sec=600)


def _shape(s: FeedSlot) -> tuple[int, str, int]:
    return s.spots_open, s.confirmation_mode, s.party_size


def test_histories_never_share_a_slot_group() -> None:
    pool = _pool()
    seen: set[object] = set()
    for _ in range(50):
        groups = {group_key(s) for s in pool.take(ALL).values()}
        assert not groups & seen
        seen |= groups


def test_replays_get_slots_alike_the_failing_example_for_every_role() -> None:
    pool = _pool()
    takes = (pool.take(ALL) for _ in range(60))
    # all four roles, and slot a of two open spots (the pool hands out 1-spot slots too: not alike)
    model = next(t for t in takes if len(t) == 4 and t[o.ROLE_A].spots_open == 2)
    for _ in range(5):
        replay = pool.take(ALL, like=model)
        assert set(replay) == set(model)
        for role, slot in replay.items():
            assert _shape(slot) == _shape(model[role]), (o.ROLE_NAMES[role], _shape(slot))
            assert slot is not model[role]


def test_without_an_alike_slot_a_replay_still_gets_fresh_slots() -> None:
    pool = _pool()
    model = dict(pool.take({o.ROLE_A}))
    odd = dataclasses.replace(model[o.ROLE_A], spots_open=99)
    replay = pool.take({o.ROLE_A}, like={o.ROLE_A: odd})
    assert replay[o.ROLE_A].spots_open != 99 and group_key(replay[o.ROLE_A]) != group_key(model[o.ROLE_A])
