"""Fresh slots, users and tokens for each explored example, and the JSON requests built from them.

Every example (and every replay while shrinking) gets slots nobody booked before in this run: a replay on
the slots of an earlier attempt would see that attempt's left-overs on a target whose cleanup misbehaves.
:class:`SlotPool` hands out whole slot groups (every party size of one merchant, service, start, duration
and resources, as ``harness.inventory`` does), so two examples never share capacity.

Users and tokens come from :class:`harness.runner.Ids` keyed by the run's nonce and the example number, so
they are unique per run and per example and never collide with an earlier run against the same target.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from booking_protocol.feed import FeedSlot
from harness.explore.ops import ROLE_A, ROLE_A2, ROLE_B, ROLE_P, ROLE_UNKNOWN
from harness.ids import Ids
from harness.inventory import GroupKey, group_key
from harness.templates import slot_json, slot_time_json

#: Most slot roles one example can use (A, A2, B, P): the unit of "fresh slots needed".
SLOTS_PER_EXAMPLE = 4
#: Largest open capacity of a main slot: small capacities fill up within a short history.
MAX_MAIN_SPOTS = 5


class PoolExhausted(Exception):
    """The feed has no fresh slot left for another example."""


FamilyKey = tuple[str, str, str, str, int]


def _family(s: FeedSlot) -> FamilyKey:
    return (s.merchant_id, s.service_id, s.staff_id, s.room_id, s.party_size)


class SlotPool:
    """Future, open feed slots in a seeded order, handed out by example role, never twice."""

    def __init__(
        self,
        feed: Sequence[FeedSlot],
        *,
        seed: int,
        now: float,
        min_lead_sec: int,
        merchant: str | None = None,
        service: str | None = None,
        async_slots: bool = True,
    ) -> None:
        self.all_keys = {(s.merchant_id, s.service_id, s.start_sec) for s in feed}
        ok = [
            s
            for s in feed
            if s.spots_open > 0
            and s.start_sec >= now + min_lead_sec
            and (merchant is None or s.merchant_id == merchant)
            and (async_slots or s.confirmation_mode != "CONFIRMATION_MODE_ASYNCHRONOUS")
        ]
        ok.sort(key=lambda s: s.key)
        random.Random(seed).shuffle(ok)
        mains = [
            s for s in ok if s.spots_open <= MAX_MAIN_SPOTS and (service is None or s.service_id == service)
        ]
        self.mains = _mix(mains)
        self.by_family: dict[FamilyKey, list[FeedSlot]] = {}
        self.by_group: dict[GroupKey, list[FeedSlot]] = {}
        self.by_merchant: dict[str, list[FeedSlot]] = {}
        for s in ok:
            self.by_family.setdefault(_family(s), []).append(s)
            self.by_group.setdefault(group_key(s), []).append(s)
            self.by_merchant.setdefault(s.merchant_id, []).append(s)
        self.used: set[GroupKey] = set()
        self._next = 0
        self._group = {id(s): group_key(s) for s in ok}
        #: merchant -> service -> (position in the merchant's list, slot), for role B
        self.by_service: dict[str, dict[str, list[tuple[int, FeedSlot]]]] = {}
        for merchant, slots in self.by_merchant.items():
            services = self.by_service.setdefault(merchant, {})
            for i, s in enumerate(slots):
                services.setdefault(s.service_id, []).append((i, s))
        self._party: dict[int, FeedSlot | None] = {}
        self._with_party: list[FeedSlot] | None = None

    @property
    def fresh_groups(self) -> int:
        """Slot groups of main-slot size not handed out yet (an upper bound of examples still possible)."""
        return len({group_key(s) for s in self.mains[self._next :]} - self.used)

    def take(self, roles: set[int], like: Mapping[int, FeedSlot] | None = None) -> dict[int, FeedSlot]:
        """Slots for ``roles`` (A always), claiming their groups. Raises :class:`PoolExhausted`.

        Main slots that cannot serve these roles (no party sizes, no other service) stay in the pool for
        examples that do not need them; when no main slot can serve them all, the rarest roles are dropped
        (P, then A2, then B) and the operations that name them are skipped. ``like``: the slots of a failing
        example being shrunk; slots of each role with the same open capacity, confirmation mode and party
        size are preferred, so that a shrunk history fails for the same reason rather than by the luck of a
        capacity."""
        wanted = set(roles)
        for optional in (None, ROLE_P, ROLE_A2, ROLE_B):
            if optional is not None:
                wanted.discard(optional)
            chosen = (self._take(wanted, like) if like else None) or self._take(wanted)
            if chosen is not None:
                return chosen
        raise PoolExhausted("the feed has no fresh slot left")

    def _take(
        self, roles: set[int], like: Mapping[int, FeedSlot] | None = None
    ) -> dict[int, FeedSlot] | None:
        group, used = self._group, self.used
        while self._next < len(self.mains) and group[id(self.mains[self._next])] in used:
            self._next += 1
        # only main slots with another party size can serve P: scan those alone (same order)
        mains = itertools.islice(self.mains, self._next, None) if ROLE_P not in roles else self._party_mains()
        for a in mains:
            if group[id(a)] in used or (like and not _alike(a, like.get(ROLE_A))):
                continue
            chosen = self._around(a, roles, like)
            if chosen is not None:
                used.update(group[id(s)] for s in chosen.values())
                return chosen
        return None

    def _around(
        self, a: FeedSlot, roles: set[int], like: Mapping[int, FeedSlot] | None = None
    ) -> dict[int, FeedSlot] | None:
        """The slots of ``roles`` around main slot ``a``, or None when one cannot be had. P is looked at
        first: it does not depend on what was handed out, and most main slots (not dining) cannot serve it,
        so they are turned down before any scan."""
        p = self._party_of(a, like.get(ROLE_P) if like else None) if ROLE_P in roles else None
        if ROLE_P in roles and p is None:
            return None
        chosen = {ROLE_A: a}
        if ROLE_A2 in roles:
            other = self._first(
                self.by_family.get(_family(a), []),
                lambda s: (
                    abs(s.start_sec - a.start_sec) >= max(s.duration_sec, a.duration_sec)
                    and s.confirmation_mode == a.confirmation_mode
                    and (not like or _alike(s, like.get(ROLE_A2)))
                ),
            )
            if other is None:
                return None
            chosen[ROLE_A2] = other
        if p is not None:
            chosen[ROLE_P] = p
        if ROLE_B in roles:
            b = self._other_service(a, like.get(ROLE_B) if like else None)
            if b is None:
                return None
            chosen[ROLE_B] = b
        return chosen

    def _other_service(self, a: FeedSlot, like: FeedSlot | None = None) -> FeedSlot | None:
        """The first slot of ``a``'s merchant (in the pool's order) of another service, not handed out: the
        earliest head among the merchant's other services (each list drops its handed-out front); with
        ``like``, the first such slot alike it."""
        best: tuple[int, FeedSlot] | None = None
        for service, slots in self.by_service.get(a.merchant_id, {}).items():
            if service == a.service_id:
                continue
            while slots and self._group[id(slots[0][1])] in self.used:
                slots.pop(0)
            head = next(
                ((i, s) for i, s in slots if self._group[id(s)] not in self.used and _alike(s, like)), None
            )
            if head is not None and (best is None or head[0] < best[0]):
                best = head
        return best[1] if best is not None else None

    def _party_mains(self) -> Iterator[FeedSlot]:
        """The main slots that can serve P, in pool order (computed once; handed-out ones at the front
        dropped)."""
        if self._with_party is None:
            self._with_party = [a for a in self.mains if self._party_of(a) is not None][::-1]
        while self._with_party and self._group[id(self._with_party[-1])] in self.used:
            self._with_party.pop()
        return reversed(self._with_party)

    def _party_of(self, a: FeedSlot, like: FeedSlot | None = None) -> FeedSlot | None:
        """Another party size of ``a``'s slot group (dining), remembered per main slot; with ``like``, one
        alike it (not remembered)."""
        key = id(a)
        if like is not None:
            others = self.by_group.get(self._group[key], [])
            return next(
                (s for s in others if s.party_size not in (0, a.party_size) and _alike(s, like)), None
            )
        if key not in self._party:
            self._party[key] = (
                None
                if a.party_size == 0
                else next(
                    (
                        s
                        for s in self.by_group.get(self._group[key], [])
                        if s.party_size not in (0, a.party_size)
                    ),
                    None,
                )
            )
        return self._party[key]

    def _first(self, slots: list[FeedSlot], cond: Any) -> FeedSlot | None:
        """The first slot of ``slots`` not handed out that meets ``cond``; handed-out slots at the front of
        the list are dropped, so repeated scans stay short."""
        while slots and self._group[id(slots[0])] in self.used:
            slots.pop(0)
        return next((s for s in slots if self._group[id(s)] not in self.used and cond(s)), None)

    def unknown_start(self, s: FeedSlot) -> int:
        """A start near ``s`` that the feed does not have for its merchant and service."""
        t = s.start_sec + 7
        while (s.merchant_id, s.service_id, t) in self.all_keys:
            t += 7
        return t


def _alike(s: FeedSlot, model: FeedSlot | None) -> bool:
    """Whether ``s`` can stand in for ``model`` in a replay: the same open capacity, confirmation mode and
    party size."""
    return model is None or _likeness(s) == _likeness(model)


def _likeness(s: FeedSlot) -> tuple[int, str, int]:
    return s.spots_open, s.confirmation_mode, s.party_size


def _mix(mains: list[FeedSlot]) -> list[FeedSlot]:
    """Two small slots (1-2 open spots: a history fills them within a few steps) for every larger one (3-5:
    capacity arithmetic beyond the first spot), keeping the seeded order within each kind."""
    small = [s for s in mains if s.spots_open <= 2]
    large = [s for s in mains if s.spots_open > 2]
    out: list[FeedSlot] = []
    while small or large:
        out.extend(small[:2])
        out.extend(large[:1])
        small, large = small[2:], large[1:]
    return out


@dataclass
class World:
    """The concrete slots, users and tokens of one example."""

    slots: dict[int, FeedSlot]
    ids: Ids
    unknown_start: int
    lease_expiry: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> FeedSlot:
        return self.slots[ROLE_A]

    def has(self, role: int) -> bool:
        return role == ROLE_UNKNOWN or role in self.slots

    def slot_json(self, role: int) -> dict[str, Any]:
        if role == ROLE_UNKNOWN:
            return slot_json(self.main, start_sec=self.unknown_start)
        return slot_json(self.slots[role])

    def slot_time_json(self, role: int) -> dict[str, Any]:
        if role == ROLE_UNKNOWN:
            return slot_time_json(self.main, start_sec=self.unknown_start)
        return slot_time_json(self.slots[role])

    def user(self, i: int) -> dict[str, Any]:
        return self.ids.user(f"u{i}")

    def token(self, i: int) -> str:
        return self.ids.token(f"t{i}")

    def lease_ref(self, i: int) -> str:
        return self.ids.token(f"lease{i}")

    # -- requests ---------------------------------------------------------------------------------------

    def create_booking(self, role: int, user: int, token: int, lease_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "slot": self.slot_json(role),
            "user_information": self.user(user),
            "idempotency_token": self.token(token),
        }
        if lease_id is not None:
            body["lease_ref"] = {"lease_id": lease_id}
        return body

    def create_lease(self, role: int, ref: int, expires_sec: int | None = None) -> dict[str, Any]:
        return {
            "lease": {
                "slot": self.slot_json(role),
                "user_reference": self.lease_ref(ref),
                "lease_expiration_time_sec": str(expires_sec or self.lease_expiry),
            }
        }

    def bal(self, roles: Sequence[int]) -> dict[str, Any]:
        return {"merchant_id": self.main.merchant_id, "slot_time": [self.slot_time_json(r) for r in roles]}


def cancel_body(booking_id: str) -> dict[str, Any]:
    return {"booking": {"booking_id": booking_id, "status": "CANCELED"}}
