"""Concurrent histories (``explore --concurrency K``): K clients issue operations on a few shared slots;
every invocation and completion is recorded, and each slot's history is checked for linearizability
against the sequential model (:mod:`harness.explore.linearize`).

A round takes fresh slots, runs K clients for ``max_steps`` operations each (CreateBooking under a new or an
already used token — copies of one request racing each other —, cancels of bookings seen, availability
reads), cleans up, and checks. The first round whose history cannot be ordered ends the run with the
smallest window of operations that cannot be ordered. Operations without an answer (timeout, reset) are
recorded with an unknown result: they may or may not have taken effect.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from booking_protocol.feed import FeedSlot
from harness.checks import booking_id, failure_cause, is_booking
from harness.explore import ops as o
from harness.explore.driver import Budget, RunSettings
from harness.explore.linearize import (
    ALREADY,
    AVAILABLE,
    BOOKED,
    CANCELLED,
    FAILED,
    REFUSED,
    TRANSIENT,
    UNKNOWN,
    HOp,
    SlotVerdict,
    State,
    check,
)
from harness.explore.world import PoolExhausted, SlotPool, cancel_body
from harness.ids import Ids
from harness.normalize import dig
from harness.targets import Reply, Target
from harness.templates import slot_json, slot_time_json

SLOTS_PER_ROUND = 2
TOKENS_PER_SLOT = 3


@dataclass
class Violation:
    rule: str
    slot: FeedSlot
    verdict: SlotVerdict
    history: list[HOp]
    round: int

    @property
    def window(self) -> list[HOp]:
        return self.verdict.window

    @property
    def start(self) -> State | None:
        return self.verdict.start


@dataclass
class ConcurrentOutcome:
    clients: int
    rounds: int = 0
    ops: int = 0
    elapsed_sec: float = 0.0
    check_sec: float = 0.0
    unknown: int = 0
    violation: Violation | None = None
    stopped: str = ""
    cleanup_problems: list[str] = field(default_factory=list)


@dataclass
class _Round:
    slots: list[FeedSlot]
    ids: Ids
    rnd: random.Random
    t0: float
    history: list[HOp] = field(default_factory=list)
    booked: list[tuple[int, str]] = field(default_factory=list)
    fresh: int = 0


class ConcurrentExplorer:
    def __init__(
        self,
        run: RunSettings,
        budget: Budget,
        target: Target,
        clients: int,
        progress: Callable[[ConcurrentOutcome], None] | None = None,
    ) -> None:
        self.run, self.budget, self.target, self.clients = run, budget, target, clients
        clock: Callable[[], float] = getattr(run, "clock", None) or time.time
        self.pool = SlotPool(
            run.feed or [],
            seed=run.seed,
            now=clock(),
            min_lead_sec=run.min_lead_sec,
            merchant=run.merchant,
            service=run.service,
            async_slots=False,
        )
        self.nonce = run.nonce or f"{time.time_ns() & 0xFFFFFFFF:08x}"
        self.outcome = ConcurrentOutcome(clients)
        self.progress = progress

    def explore(self) -> ConcurrentOutcome:
        t0 = time.monotonic()
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.target.preflight())
            while self.outcome.violation is None and not self._out_of_budget(t0):
                try:
                    loop.run_until_complete(self._round(self.outcome.rounds))
                except PoolExhausted:
                    self.outcome.stopped = (
                        f"the feed ran out of fresh slots after {self.outcome.rounds} rounds"
                    )
                    break
                if self.progress is not None:
                    self.progress(self.outcome)
        finally:
            loop.run_until_complete(self.target.close())
            loop.close()
        self.outcome.elapsed_sec = time.monotonic() - t0
        return self.outcome

    def _out_of_budget(self, t0: float) -> bool:
        if self.budget.duration_sec is not None and time.monotonic() - t0 > self.budget.duration_sec:
            self.outcome.stopped = f"--duration {self.budget.duration_sec:g} s reached"
            return True
        if self.outcome.rounds >= self.budget.max_examples:
            self.outcome.stopped = f"--max-examples {self.budget.max_examples} rounds reached"
            return True
        return False

    async def _round(self, number: int) -> None:
        slots = [self.pool.take({o.ROLE_A})[o.ROLE_A] for _ in range(SLOTS_PER_ROUND)]
        r = _Round(
            slots,
            Ids(self.run.seed, self.nonce, f"explore-race-{number}"),
            random.Random(f"{self.run.seed}:{number}"),
            time.monotonic(),
        )
        await asyncio.gather(*(self._client(r, c) for c in range(self.clients)))
        self.outcome.rounds += 1
        self.outcome.ops += len(r.history)
        self.outcome.unknown += sum(1 for h in r.history if h.pending)
        if not self.run.keep_bookings:
            self.outcome.cleanup_problems += await self._cleanup(r)
        t = time.monotonic()
        verdicts = check(r.history, {i: s.spots_open for i, s in enumerate(slots)})
        self.outcome.check_sec += time.monotonic() - t
        bad = next((v for v in verdicts if not v.ok), None)
        if bad is not None:
            part = [h for h in r.history if h.slot == bad.slot]
            rule = _rule(bad, part)
            if rule == "create-booking/concurrent-replay":
                pair = replay_pair(part)
                if pair:
                    bad.window, bad.start = pair, None
            self.outcome.violation = Violation(rule, slots[bad.slot], bad, part, number)

    async def _client(self, r: _Round, client: int) -> None:
        rnd = random.Random(f"{self.run.seed}:{client}:{r.rnd.random()}")
        for _ in range(self.budget.max_steps):
            await self._one(r, client, rnd)

    async def _one(self, r: _Round, client: int, rnd: random.Random) -> None:
        slot = rnd.randrange(len(r.slots))
        choice = rnd.random()
        if choice < 0.1 and r.booked:
            bslot, bid = rnd.choice(r.booked)
            await self._timed(
                r, client, bslot, "cancel", bid, "UpdateBooking", cancel_body(bid), f"cancel {bid}"
            )
        elif choice < 0.25 and (
            self.run.profile.claims("bal") or self.run.profile.claims("check_availability")
        ):
            await self._read(r, client, slot)
        else:
            if rnd.random() < 0.5:
                name = f"s{slot}-t{rnd.randrange(TOKENS_PER_SLOT)}"
            else:
                r.fresh += 1
                name = f"s{slot}-n{r.fresh}"
            body = {
                "slot": slot_json(r.slots[slot]),
                "user_information": r.ids.user(name),
                "idempotency_token": r.ids.token(name),
            }
            token = r.ids.token(name)
            await self._timed(r, client, slot, "book", token, "CreateBooking", body, f"book token {name}")

    async def _read(self, r: _Round, client: int, slot: int) -> None:
        s = r.slots[slot]
        if self.run.profile.claims("bal"):
            body: dict[str, Any] = {"merchant_id": s.merchant_id, "slot_time": [slot_time_json(s)]}
            await self._timed(r, client, slot, "read", "", "BatchAvailabilityLookup", body, "availability")
        else:
            await self._timed(
                r, client, slot, "read", "", "CheckAvailability", {"slot": slot_json(s)}, "count"
            )

    async def _timed(
        self, r: _Round, client: int, slot: int, kind: str, arg: str, method: str, body: Any, text: str
    ) -> None:
        call = time.monotonic() - r.t0
        reply = await self.target.call(method, body)
        ret = time.monotonic() - r.t0 if reply.status is not None else float("inf")
        result = _result(kind, reply)
        if result[0] == BOOKED:
            r.booked.append((slot, result[1]))
        r.history.append(HOp(len(r.history), client, slot, kind, arg, result, call, ret, text))

    async def _cleanup(self, r: _Round) -> list[str]:
        ids = dict.fromkeys(b for _, b in r.booked)
        replies = await asyncio.gather(*(self.target.call("UpdateBooking", cancel_body(b)) for b in ids))
        return [
            f"booking {b}: cleanup cancel answered HTTP {rep.status}"
            for b, rep in zip(ids, replies, strict=True)
            if not (is_booking(rep) or failure_cause(rep) == "BOOKING_ALREADY_CANCELLED")
        ]


def _result(kind: str, reply: Reply) -> tuple[str, str]:
    """The answer as the sequential model reads it (5xx and no answer: unknown, it may have taken effect)."""
    if reply.status is None or reply.status >= 500 and reply.status not in TRANSIENT:
        return (UNKNOWN, reply.exchange.error or f"HTTP {reply.status}")
    if kind == "read":
        if reply.status != 200:
            return (UNKNOWN, f"HTTP {reply.status}")
        if reply.exchange.operation == "CheckAvailability":
            return (AVAILABLE, "true" if (dig(reply.data, "count_available", 0) or 0) > 0 else "false")
        entries = dig(reply.data, "slot_time_availability", []) or []
        avail = bool(entries) and bool(dig(entries[0], "available", False))
        return (AVAILABLE, "true" if avail else "false")
    if reply.status != 200:
        return (REFUSED, str(reply.status))
    cause = failure_cause(reply)
    if kind == "book":
        return (BOOKED, booking_id(reply)) if is_booking(reply) else (FAILED, cause or "no booking")
    if cause == "BOOKING_ALREADY_CANCELLED":
        return (ALREADY, "")
    if is_booking(reply) and dig(reply.data, "booking.status") == "CANCELED":
        return (CANCELLED, "")
    return (FAILED, cause or "not cancelled")


def replay_pair(part: list[HOp]) -> list[HOp]:
    """Two answers to copies of one request that no order reconciles: two different bookings, or a booking
    and a refusal other than SLOT_UNAVAILABLE (a copy must get the same booking, §3.2): the smallest
    window."""
    by_token: dict[str, list[HOp]] = {}
    for h in sorted(part, key=lambda h: h.call):
        if h.kind == "book" and h.result[0] in (BOOKED, FAILED):
            by_token.setdefault(h.arg, []).append(h)
    for copies in by_token.values():
        booked = [h for h in copies if h.result[0] == BOOKED]
        if not booked:
            continue
        other = next((h for h in booked if h.result != booked[0].result), None)
        other = other or next(
            (h for h in copies if h.result[0] == FAILED and h.result[1] != "SLOT_UNAVAILABLE"), None
        )
        if other is not None:
            return sorted([booked[0], other], key=lambda x: x.call)
    return []


def _rule(v: SlotVerdict, part: list[HOp]) -> str:
    """The catalogue rule the slot's history breaks: one token answered with two bookings (or refused while
    it has one), more bookings than spots, or (neither) linearizability itself."""
    by_token: dict[str, set[str]] = {}
    for h in part:
        if h.kind == "book" and h.result[0] == BOOKED:
            by_token.setdefault(h.arg, set()).add(h.result[1])
    refused_copy = any(
        h.kind == "book" and h.result[0] == FAILED and h.result[1] != "SLOT_UNAVAILABLE" and h.arg in by_token
        for h in part
    )
    if refused_copy or any(len(ids) > 1 for ids in by_token.values()):
        return "create-booking/concurrent-replay"
    books = {h.result[1] for h in v.window if h.kind == "book" and h.result[0] == BOOKED}
    live = v.start.live if v.start is not None else frozenset()
    freed = sum(1 for h in v.window if h.kind == "cancel" and h.result[0] == CANCELLED and h.arg in live)
    start = v.start.open if v.start is not None else 0
    if len(books) > start + freed:
        return "create-booking/concurrent-last-spots"
    return "explore/linearizable"
