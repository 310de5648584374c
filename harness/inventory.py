"""Inventory allocation: which feed slots each scenario may book.

Rules that make verdicts independent of order and parallelism:

* candidates are future, open slots of the partner's feed (narrowed by ``--merchant`` / ``--service``),
  shuffled with ``random.Random(seed)``;
* allocation happens once, before anything runs, scenario by scenario in id order, so it depends on the seed
  and the feed only (never on ``--workers``); each scenario scans the pool from its own offset (seed +
  scenario id), so adding a scenario rarely moves the slots of the others;
* a scenario claims whole *slot groups*: every party-size variant of one (merchant, service, start, duration,
  staff, room) belongs to one group, so a server that shares capacity between party sizes cannot make one
  scenario see another's bookings. No group is given to two scenarios.

Capacity is read from ``spots_open``. A requirement no free slot satisfies gives the reason the scenario is
skipped ("the feed has no ...").

Money (spec §3.12): when the feed directory has a services file, a slot also has *kinds* from its service
(:func:`slot_kinds`): ``paid`` (the service takes a token: prepayment, deposit, no-show fee or card
required), ``prepaid``, ``deposit``, ``pack``, ``online``, ``offer`` (an offer applies to this start) and
``rejects:<CARD TYPE>`` (the merchant does not accept that network). A requirement's ``pay`` names the kinds
it needs, ``+`` joining kinds one slot must have all of and ``|`` separating alternatives tried in order;
the default, ``none``, keeps every scenario without payment off paid services, whose bookings correctly
fail without a token (a partner's sandbox has paid services too).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from booking_protocol.commerce import DEFAULT_CARD_TYPES, MULTI_USE, Catalogue
from booking_protocol.feed import FeedSlot

ASYNC = "CONFIRMATION_MODE_ASYNCHRONOUS"
#: ``differ: day``: how far apart two bookings of one user are, so no server sees OVERLAPPING_RESERVATION
DAY_APART_SEC = 24 * 3600
GroupKey = tuple[str, str, int, int, str, str]
#: the kinds of a slot (see the module docstring)
SlotKinds = Callable[[FeedSlot], frozenset[str]]
#: ``pay`` of a requirement that takes no payment
NO_PAYMENT = "none"


def slot_kinds(catalogue: Catalogue) -> SlotKinds:
    """The kinds of each slot as the catalogue describes its service and merchant (cached per service)."""
    by_service: dict[tuple[str, str], frozenset[str]] = {}
    offers = catalogue.offers()

    def service_kinds(merchant_id: str, service_id: str) -> frozenset[str]:
        terms = catalogue.service(merchant_id, service_id)
        if terms is None:
            return frozenset()
        merchant = catalogue.merchant(merchant_id)
        kinds = {f"rejects:{c}" for c in DEFAULT_CARD_TYPES if c not in merchant.accepted_card_types}
        if terms.takes_payment:
            kinds.add("paid")
        if terms.prepayment_required and terms.price is not None:
            kinds.add("prepaid")
        if terms.deposit is not None and not terms.prepayment_required:
            kinds.add("deposit")
        packs = {o.payment_option_id for o in merchant.payment_options if o.type == MULTI_USE}
        if packs & set(terms.payment_option_ids):
            kinds.add("pack")
        if terms.online:
            kinds.add("online")
        return frozenset(kinds)

    def kinds(s: FeedSlot) -> frozenset[str]:
        key = (s.merchant_id, s.service_id)
        if key not in by_service:
            by_service[key] = service_kinds(*key)
        own = by_service[key]
        if offers and any(o.applies_to(s.merchant_id, s.service_id, s.start_sec) for o in offers):
            return own | {"offer"}
        return own

    return kinds


def pay_fits(kinds: frozenset[str], pay: str) -> bool:
    """Does a slot of these kinds satisfy one alternative of ``pay`` (``none``: the service takes no
    payment; ``free`` inside a combination means the same; ``any``: whatever it takes)?"""
    if pay == NO_PAYMENT:
        return "paid" not in kinds
    wanted = set(pay.split("+")) - {"any"}
    if "free" in wanted:
        if "paid" in kinds:
            return False
        wanted.discard("free")
    return wanted <= kinds


@dataclass(frozen=True)
class SlotRequirement:
    """What a scenario needs of one slot (the ``slots:`` entries of a scenario file)."""

    name: str
    spots_min: int = 1
    spots_max: int = 1_000_000
    mode: str = "sync"  # sync | async | any
    like: str | None = None  # name of an earlier slot of the same scenario
    differ: str = "start"  # with ``like``: start | party_size | service | day | start-day
    #: the money the slot's service involves (see the module docstring); ``none`` = takes no payment
    pay: str = NO_PAYMENT

    def describe(self) -> str:
        bits = [
            f"{self.spots_min}..{self.spots_max} open spots"
            if self.spots_max < 1_000_000
            else f"at least {self.spots_min} open spot(s)"
        ]
        if self.mode == "async":
            bits.append("CONFIRMATION_MODE_ASYNCHRONOUS")
        if self.like:
            what = {
                "start": "another start time of the same merchant, service and resources",
                "party_size": "another party size of the same merchant, service and time",
                "service": "another service of the same merchant",
                "day": f"a start at least {DAY_APART_SEC // 3600} h away from",
                "start-day": f"a start at least {DAY_APART_SEC // 3600} h away, same merchant, service and "
                "resources,",
            }[self.differ]
            bits.append(f"{what} as slot '{self.like}'")
        if self.pay != NO_PAYMENT:
            bits.append(f"a service of kind {self.pay}")
        return ", ".join(bits)


def group_key(s: FeedSlot) -> GroupKey:
    return (s.merchant_id, s.service_id, s.start_sec, s.duration_sec, s.staff_id, s.room_id)


class Inventory:
    #: candidates tried for a slot that other slots of the scenario depend on (keeps allocation fast)
    MAX_TRIES = 400

    def __init__(
        self,
        slots: Iterable[FeedSlot],
        *,
        seed: int,
        now: int,
        min_lead_sec: int = 600,
        merchant: str | None = None,
        service: str | None = None,
        exclude: frozenset[GroupKey] = frozenset(),
    ) -> None:
        slots = list(slots)
        self.all_keys = {(s.merchant_id, s.service_id, s.start_sec) for s in slots}
        #: why feed slots are not candidates: counts by reason (for INCONCLUSIVE verdicts, spec §11 D29)
        self.left_out: dict[str, int] = {}
        pool = [s for s in slots if self._usable(s, now + min_lead_sec, merchant, service, exclude)]
        self.min_lead_sec = min_lead_sec
        pool.sort(key=lambda s: (s.key, s.spots_open))
        random.Random(seed).shuffle(pool)
        self.seed = seed
        self.pool: list[FeedSlot] = pool
        self.used_groups: set[GroupKey] = set()
        self.total_feed_slots = len(self.all_keys)
        #: the money kinds of a slot; none until :meth:`use_catalogue` (every slot then takes no payment)
        self.kinds: SlotKinds = lambda _s: frozenset()

    def use_catalogue(self, catalogue: Catalogue) -> None:
        """Judge the ``pay`` of requirements by ``catalogue`` (the services and merchants files)."""
        self.kinds = slot_kinds(catalogue)

    def _usable(
        self,
        s: FeedSlot,
        earliest: int,
        merchant: str | None,
        service: str | None,
        exclude: frozenset[GroupKey],
    ) -> bool:
        why = None
        if merchant is not None and s.merchant_id != merchant:
            why = "other merchant"
        elif service is not None and s.service_id != service:
            why = "other service"
        elif s.start_sec < earliest:
            why = "past"
        elif s.spots_open <= 0:
            why = "full"
        elif group_key(s) in exclude:
            why = "taken on the target"
        if why is not None:
            self.left_out[why] = self.left_out.get(why, 0) + 1
        return why is None

    def describe_pool(self) -> str:
        """One line on what the feed offered: "3 of 850 feed slots usable: 600 past, 247 full"."""
        total = len(self.pool) + sum(self.left_out.values())
        parts = [f"{n} {why}" for why, n in sorted(self.left_out.items(), key=lambda kv: -kv[1])]
        line = f"{len(self.pool)} of {total} feed slots usable" + (": " + ", ".join(parts) if parts else "")
        if "past" in self.left_out:
            line += f" (past: starting less than --min-lead {self.min_lead_sec} s from now)"
        return line

    def _fits(
        self, s: FeedSlot, req: SlotRequirement, chosen: dict[str, FeedSlot], own: set[GroupKey]
    ) -> bool:
        if not (req.spots_min <= s.spots_open <= req.spots_max):
            return False
        if req.mode == "sync" and s.confirmation_mode == ASYNC:
            return False
        if req.mode == "async" and s.confirmation_mode != ASYNC:
            return False
        if not pay_fits(self.kinds(s), req.pay):
            return False
        g = group_key(s)
        if req.like is None:
            return g not in self.used_groups and g not in own
        base = chosen[req.like]
        if any(s.key == c.key for c in chosen.values()):
            return False
        if req.differ == "party_size":
            return g == group_key(base) and s.party_size != base.party_size and s.party_size > 0
        if g in self.used_groups or g in own:
            return False
        if req.differ == "service":
            return s.merchant_id == base.merchant_id and s.service_id != base.service_id
        if req.differ == "day":  # any slot, far enough in time that one user may hold both bookings
            return abs(s.start_sec - base.start_sec) >= DAY_APART_SEC
        # differ == "start": same merchant, service and resources; a start that does not overlap
        # ("start-day": a day apart, so one user may hold both without OVERLAPPING_RESERVATION)
        gap = DAY_APART_SEC if req.differ == "start-day" else max(s.duration_sec, base.duration_sec)
        return (
            s.merchant_id == base.merchant_id
            and s.service_id == base.service_id
            and s.staff_id == base.staff_id
            and s.room_id == base.room_id
            and s.party_size == base.party_size
            and abs(s.start_sec - base.start_sec) >= gap
        )

    def _order(self, key: str) -> list[FeedSlot]:
        """The pool as seen by one scenario: the seeded order, rotated by an offset derived from the seed
        and the scenario id. Scenarios then mostly pick from different places, so adding or removing a
        scenario rarely changes the slots of the others."""
        if not self.pool or not key:
            return self.pool
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        k = int.from_bytes(digest[:8], "big") % len(self.pool)
        return self.pool[k:] + self.pool[:k]

    def allocate(self, reqs: Sequence[SlotRequirement], key: str = "") -> dict[str, FeedSlot] | str:
        """The slots for one scenario, or the reason it cannot have them (the first alternative's, when a
        ``pay`` has alternatives ``a|b``: each is tried in order). Claims the groups on success."""
        first: str | None = None
        for choice in _alternatives(reqs):
            got = self._allocate_one(choice, key)
            if isinstance(got, dict):
                return got
            first = first or got
        return first or "the scenario asks for no slot"

    def _allocate_one(self, reqs: Sequence[SlotRequirement], key: str) -> dict[str, FeedSlot] | str:
        """The slots for one scenario, or the reason it cannot have them. Claims the groups on success.

        Slots without ``like`` are tried in pool order; for each choice the dependent slots are picked
        greedily, and the next candidate is tried when one of them has no match (bounded search)."""
        chosen: dict[str, FeedSlot] = {}
        own: set[GroupKey] = set()
        failed: list[SlotRequirement] = []
        pool = self._order(key)

        def place(i: int) -> bool:
            if i == len(reqs):
                return True
            req = reqs[i]
            dependants = any(r.like == req.name for r in reqs[i + 1 :])
            tries = 0
            for s in pool:
                if not self._fits(s, req, chosen, own):
                    continue
                chosen[req.name] = s
                g = group_key(s)
                added = g not in own
                own.add(g)
                if place(i + 1):
                    return True
                del chosen[req.name]
                if added:
                    own.discard(g)
                tries += 1
                if not dependants or tries >= self.MAX_TRIES:
                    break
            if not failed or reqs.index(failed[-1]) < i:
                failed.append(req)
            return False

        if not place(0):
            req = failed[-1] if failed else reqs[0]
            return f"the feed has no free slot for '{req.name}' ({req.describe()})"
        self.used_groups |= own
        return dict(chosen)

    def unknown_start(self, s: FeedSlot) -> int:
        """A start time near ``s`` that the feed does not have for its merchant and service."""
        t = s.start_sec + 7
        while (s.merchant_id, s.service_id, t) in self.all_keys:
            t += 7
        return t

    def take_plain(self, n: int, req: SlotRequirement, like: FeedSlot | None = None) -> list[FeedSlot]:
        """Up to ``n`` free slots of distinct groups (the google-test-client suite's "number of slots");
        with ``like``, slots at other start times of the same merchant, service and resources."""
        out: list[FeedSlot] = []
        chosen = {"base": like} if like is not None else {}
        if like is not None:
            req = replace(req, like="base", differ="start")
        for s in self.pool:
            if len(out) >= n:
                break
            g = group_key(s)
            if g in self.used_groups or not self._fits(s, req, chosen, set()):
                continue
            self.used_groups.add(g)
            out.append(s)
        return out


def _alternatives(reqs: Sequence[SlotRequirement]) -> list[list[SlotRequirement]]:
    """The requirement lists to try: one per alternative of the ``pay`` values (alternatives of all slots
    advance together: a scenario's slots are alike, e.g. two prepaid slots of one service)."""
    if not reqs:
        return [list(reqs)]
    n = max(len(r.pay.split("|")) for r in reqs)
    out = []
    for i in range(n):
        out.append([replace(r, pay=_nth(r.pay.split("|"), i)) for r in reqs])
    return out


def _nth(options: list[str], i: int) -> str:
    return options[min(i, len(options) - 1)]
