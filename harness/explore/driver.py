"""The explorer: draws histories with Hypothesis, runs each against the target in lock-step with the
model, cleans up after it, and keeps the shortest failing history per broken rule.

Hypothesis (a well-kept property-based testing library) does the search and the shrinking: the property
"this history shows no divergence" is tested with ``@given(histories(...))``; a divergence raises an
exception whose class is made per rule, so Hypothesis shrinks each broken rule on its own. Every execution
— including every shrink candidate — runs on fresh slots (:class:`harness.explore.world.SlotPool`) and is
cleaned up afterwards, and the explorer records the shortest failing execution itself, so the result never
depends on Hypothesis's final replay (a flaky target still yields its shortest observed failure).

Determinism: without ``--hypothesis-db`` the histories follow ``--seed``; with it, Hypothesis (which never
combines a fixed seed with its database) replays the failures saved there first and then searches at random.

Budgets: ``max_examples`` and ``duration`` bound the search; ``shrink_sec`` bounds the shrinking of what was
found. Past a budget a :class:`_Stop` (a ``BaseException``, which Hypothesis does not treat as a failure)
ends the run at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from booking_protocol.feed import FeedSlot
from harness.catalogue import rules_by_id
from harness.checks import Verdict, booking_id, failure_cause, is_booking
from harness.explore import ops as o
from harness.explore.expect import Expect
from harness.explore.judge import Judge
from harness.explore.model import build_model
from harness.explore.world import SLOTS_PER_EXAMPLE, PoolExhausted, SlotPool, World, cancel_body
from harness.ids import Ids
from harness.normalize import dig
from harness.profile import TargetProfile
from harness.results import Exchange, Severity
from harness.targets import Reply, Target, TargetOptions, make_target

#: Executions Hypothesis may spend shrinking one failure, beyond the examples (fresh slots are needed).
SHRINK_EXECUTIONS = 300
#: Seconds the final one-minimal pass may always take, even when Hypothesis used the shrink budget up.
POLISH_SEC = 10.0
#: Cleanups of finished histories running in the background at most.
CLEANUPS_IN_FLIGHT = 16
#: Against a real clock, waits for lease expiry take at most this share of ``--duration`` (of the time
#: searched so far when only ``--max-examples`` bounds the run), beyond the first wait before a booking on
#: the lease: each takes seconds in which nothing else is explored, and only waits a later step can observe
#: are taken (see ``Explorer._wait``). A clock that can be moved on (``advance``) waits for free, and so does
#: shrinking (it must replay the waits of what it shrinks).
WAIT_SHARE = 0.1


class RunSettings(Protocol):
    """What explore reads of the prepared run configuration (:class:`harness.config.RunConfig`)."""

    @property
    def target(self) -> TargetOptions: ...
    @property
    def feed(self) -> Sequence[FeedSlot] | None: ...
    @property
    def profile(self) -> TargetProfile: ...
    @property
    def seed(self) -> int: ...
    @property
    def nonce(self) -> str | None: ...
    @property
    def keep_bookings(self) -> bool: ...
    @property
    def fail_on(self) -> str: ...
    @property
    def merchant(self) -> str | None: ...
    @property
    def service(self) -> str | None: ...
    @property
    def min_lead_sec(self) -> int: ...


@dataclass(frozen=True)
class Budget:
    max_examples: int = 200
    max_steps: int = 20
    duration_sec: float | None = None
    shrink_sec: float = 50.0
    hypothesis_db: str | None = None
    shrink_executions: int = SHRINK_EXECUTIONS

    def slots_needed(self) -> int:
        """Fresh slots a run of this budget may claim (examples plus shrink executions)."""
        return SLOTS_PER_EXAMPLE * (self.max_examples + SHRINK_EXECUTIONS)


@dataclass
class StepRecord:
    index: int
    op: o.Op
    text: str
    operation: str
    request: Any = None
    exchange: Exchange | None = None
    status: int | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    expect: Expect | None = None
    skipped: str | None = None
    refs: dict[str, int] = field(default_factory=dict)


@dataclass
class ExampleRecord:
    number: int
    ops: list[o.Op]
    slots: dict[int, FeedSlot]
    unknown_start: int
    steps: list[StepRecord] = field(default_factory=list)
    failure: Verdict | None = None
    failing_step: int | None = None
    transport_error: str | None = None

    @property
    def executed(self) -> list[StepRecord]:
        return [s for s in self.steps if s.skipped is None]

    def size(self) -> tuple[int, int]:
        return (len(self.executed), len(self.ops))


@dataclass
class Found:
    """The shortest failing history seen for one rule."""

    rule: str
    example: ExampleRecord
    first_seen_sec: float
    executions: int = 1
    #: the number of the history that first showed it (how much search the finding took)
    first_example: int = 0


@dataclass
class ExploreOutcome:
    examples: int = 0
    ops: int = 0
    elapsed_sec: float = 0.0
    found: dict[str, Found] = field(default_factory=dict)
    primary: str | None = None
    warnings: dict[str, tuple[int, str]] = field(default_factory=dict)  # rule -> (count, first message)
    choices: dict[str, dict[str, int]] = field(default_factory=dict)  # decision -> choice -> first example
    transport_errors: int = 0
    cleanup_problems: list[str] = field(default_factory=list)
    stopped: str = ""
    shrink_sec: float = 0.0

    def switched(self) -> dict[str, dict[str, int]]:
        """Decisions of §11 column 3 on which the target took more than one allowed answer."""
        return {d: c for d, c in self.choices.items() if len(c) > 1}


class _Stop(BaseException):
    """A budget ran out: ends the Hypothesis run at once (not a failure)."""


class Divergence(Exception):
    """Base of the per-rule failure classes Hypothesis shrinks separately."""


_CLASSES: dict[str, type[Divergence]] = {}


def _divergence(rule: str) -> type[Divergence]:
    cls = _CLASSES.get(rule)
    if cls is None:
        cls = _CLASSES[rule] = type(f"Divergence[{rule}]", (Divergence,), {})
    return cls


def is_failure(v: Verdict, fail_on: str) -> bool:
    if v.ok:
        return False
    sev = rules_by_id()[v.rule_id].severity
    return sev is Severity.ERROR or (fail_on == "warning" and sev is Severity.WARNING)


class Explorer:
    """One explore run's state: target, slot pool, counters, and what was found."""

    def __init__(
        self,
        run: RunSettings,
        budget: Budget,
        target: Target,
        progress: Callable[[ExploreOutcome], None] | None = None,
    ) -> None:
        self.run, self.budget, self.target = run, budget, target
        #: the target's idea of "now" (a pinned clock in tests; real time otherwise)
        self.clock: Callable[[], float] = getattr(run, "clock", None) or time.time
        self.pool = SlotPool(
            run.feed or [],
            seed=run.seed,
            now=self.clock(),
            min_lead_sec=run.min_lead_sec,
            merchant=run.merchant,
            service=run.service,
        )
        self.nonce = run.nonce or f"{time.time_ns() & 0xFFFFFFFF:08x}"
        self.outcome = ExploreOutcome()
        self.progress = progress
        self.t0 = time.monotonic()
        self.shrink_started: float | None = None
        self.executions_after_find = 0
        self.waited_sec = 0.0
        self.booked_waits = 0  # waits taken before a booking on the lease
        self._cleanups: set[asyncio.Task[None]] = set()

    # -- one example ------------------------------------------------------------------------------------

    async def run_example(self, ops: list[o.Op], like: Mapping[int, FeedSlot] | None = None) -> ExampleRecord:
        """One history on fresh slots (``like``: alike those of a failing example, see :meth:`_polish`)."""
        number = self.outcome.examples
        self.outcome.examples += 1
        slots = self.pool.take(o.roles_used(ops), like)
        world = World(
            slots,
            Ids(self.run.seed, self.nonce, f"explore-{number}"),
            self.pool.unknown_start(slots[o.ROLE_A]),
            int(self.clock()) + 300,
        )
        rec = ExampleRecord(number, list(ops), slots, world.unknown_start)
        judge = Judge(build_model(world, self.clock), has_credentials=self.run.target.credentials is not None)
        replies: list[Reply] = []
        try:
            for i, op in enumerate(ops):
                if not await self._step(judge, i, op, rec, replies):
                    break
        finally:
            if not self.run.keep_bookings:
                await self._clean_later(world, replies)
        return rec

    async def _clean_later(self, world: World, replies: list[Reply]) -> None:
        """Cleanup runs in the background while the next history is explored (its slots are fresh, so the
        two never meet); at most :data:`CLEANUPS_IN_FLIGHT` at once; :meth:`explore` waits for the rest."""

        async def clean() -> None:
            self.outcome.cleanup_problems.extend(await cleanup(self.target, world, replies))

        task = asyncio.ensure_future(clean())
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        if len(self._cleanups) > CLEANUPS_IN_FLIGHT:
            await asyncio.wait(set(self._cleanups), return_when=asyncio.FIRST_COMPLETED)

    async def _drain(self) -> None:
        if self._cleanups:
            await asyncio.gather(*self._cleanups)

    async def _step(self, judge: Judge, i: int, op: o.Op, rec: ExampleRecord, replies: list[Reply]) -> bool:
        planned = judge.plan(op)
        step = StepRecord(
            i, op, o.describe(op), planned.operation, planned.body, skipped=planned.skip, refs=planned.refs
        )
        rec.steps.append(step)
        if planned.skip is None and isinstance(op, o.Wait):
            seen = judge.expiry_observed(rec.ops[i + 1 :])
            if seen is None:
                step.skipped = "no later step could see the lease expire"
            else:
                step.skipped = await self._wait(float(planned.body["seconds"]), booked_on=seen == "book")
            return True
        if planned.skip is not None:
            return True
        reply = await self.target.call(planned.operation, planned.body)
        replies.append(reply)
        self.outcome.ops += 1
        step.exchange, step.status = reply.exchange, reply.status
        if reply.status is None:
            rec.transport_error = f"step {i + 1}: {reply.exchange.error}"
            self.outcome.transport_errors += 1
            return False
        judged = judge.judge(op, planned.body, reply, i)
        step.verdicts, step.expect = judged.verdicts, judged.expect
        for decision, choice in judged.choices:
            self.outcome.choices.setdefault(decision, {}).setdefault(choice, rec.number)
        for verdict in judged.verdicts:
            if is_failure(verdict, self.run.fail_on):
                rec.failure, rec.failing_step = verdict, i
                return False
            if not verdict.ok:
                count, first = self.outcome.warnings.get(verdict.rule_id, (0, verdict.message))
                self.outcome.warnings[verdict.rule_id] = (count + 1, first)
        return True

    async def _wait(self, seconds: float, *, booked_on: bool) -> str | None:
        """Let ``seconds`` pass on the model's clock (and the target's): at once when the clock can be moved
        on, else in real time within the allowance (free while shrinking). ``booked_on``: a later step books
        on the lease, the most telling wait. The first such wait is always taken; all waits together stay
        within :data:`WAIT_SHARE` of the budget, and waits before weaker observers within half of it.
        Returns why it was skipped."""
        advance = getattr(self.clock, "advance", None)
        if callable(advance):
            advance(seconds)
            return None
        search_sec = max(time.monotonic() - self.t0, self.budget.duration_sec or 0.0)
        first = booked_on and not self.booked_waits
        if self.shrink_started is None and not first:
            share = WAIT_SHARE if booked_on else WAIT_SHARE / 2
            if self.waited_sec + seconds > share * search_sec:
                return f"waits like this may take {share:.0%} of the search time, and that share is used up"
        self.waited_sec += seconds
        self.booked_waits += booked_on
        await asyncio.sleep(seconds)
        return None

    # -- the Hypothesis loop ----------------------------------------------------------------------------

    def _budget_left(self) -> None:
        now = time.monotonic()
        if self.shrink_started is not None:
            if (
                now - self.shrink_started > self.budget.shrink_sec
                or self.executions_after_find >= self.budget.shrink_executions
            ):
                raise _Stop("shrink budget")
            return
        if self.budget.duration_sec is not None and now - self.t0 > self.budget.duration_sec:
            self.outcome.stopped = f"--duration {self.budget.duration_sec:g} s reached"
            raise _Stop(self.outcome.stopped)
        if self.outcome.examples >= self.budget.max_examples:
            self.outcome.stopped = f"--max-examples {self.budget.max_examples} reached"
            raise _Stop(self.outcome.stopped)

    def execute(self, loop: asyncio.AbstractEventLoop, ops: list[o.Op]) -> None:
        """The property Hypothesis tests: one history, no divergence."""
        self._budget_left()
        if self.shrink_started is not None:
            self.executions_after_find += 1
        try:
            rec = loop.run_until_complete(self.run_example(ops))
        except PoolExhausted:
            self.outcome.stopped = f"the feed ran out of fresh slots after {self.outcome.examples} examples"
            raise _Stop(self.outcome.stopped) from None
        if self.progress is not None and rec.number % 25 == 0:
            self.progress(self.outcome)
        if rec.failure is None:
            return
        self._record(rec)
        raise _divergence(rec.failure.rule_id)(rec.failure.message)

    def _record(self, rec: ExampleRecord) -> None:
        assert rec.failure is not None
        rule = rec.failure.rule_id
        found = self.outcome.found.get(rule)
        if self.outcome.primary is None:
            self.outcome.primary = rule
            self.shrink_started = time.monotonic()
        if found is None:
            self.outcome.found[rule] = Found(rule, rec, time.monotonic() - self.t0, first_example=rec.number)
        else:
            found.executions += 1
            if rec.size() < found.example.size():
                found.example = rec

    def explore(self) -> ExploreOutcome:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.target.preflight())
            self._search(loop)
            self._polish(loop)
        finally:
            loop.run_until_complete(self._drain())
            loop.run_until_complete(self.target.close())
            loop.close()
        self.outcome.elapsed_sec = time.monotonic() - self.t0
        if self.shrink_started is not None:
            self.outcome.shrink_sec = time.monotonic() - self.shrink_started
        return self.outcome

    def _polish(self, loop: asyncio.AbstractEventLoop) -> None:
        """After Hypothesis: drop the skipped operations and those after the failing step (free), then each
        remaining operation whose removal still breaks the same rule, replaying on fresh slots alike the
        failing example's (same open capacity, confirmation mode and party size, where the feed has them:
        a capacity bug then fails for the same reason, not by luck) — so every operation of the reported
        history is needed (one-minimal). Waits go first: against a real clock each makes every replay
        seconds longer. Bounded by the shrink budget, with at least :data:`POLISH_SEC` seconds.
        (Hypothesis's own shrinking keeps the pool's mix of capacities: a smaller slot often lets it find a
        shorter history.)"""
        if self.shrink_started is None or self.budget.shrink_executions == 0:
            return  # no shrinking asked for: the first failing history as it ran, up to its failing step
        deadline = max(self.shrink_started + self.budget.shrink_sec, time.monotonic() + POLISH_SEC)
        for rule, found in self.outcome.found.items():
            ops = [s.op for s in found.example.steps if s.skipped is None]
            for waits_first in (True, False):  # each wait makes every replay seconds longer
                i = 0
                while i < len(ops) and time.monotonic() < deadline:
                    if waits_first and not isinstance(ops[i], o.Wait):
                        i += 1
                        continue
                    trial = ops[:i] + ops[i + 1 :]
                    try:
                        replay = self.run_example(trial, found.example.slots) if trial else None
                        rec = loop.run_until_complete(replay) if replay is not None else None
                    except PoolExhausted:
                        return
                    if rec is not None and rec.failure is not None and rec.failure.rule_id == rule:
                        ops = trial
                        if rec.size() <= found.example.size():
                            found.example = rec
                    else:
                        i += 1

    def _search(self, loop: asyncio.AbstractEventLoop) -> None:
        db = DirectoryBasedExampleDatabase(self.budget.hypothesis_db) if self.budget.hypothesis_db else None
        phases = [Phase.generate, Phase.shrink] + ([Phase.reuse] if db is not None else [])
        strategy = o.histories(self.run.profile, self.budget.max_steps)

        @settings(
            max_examples=self.budget.max_examples * 4,
            database=db,
            deadline=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
            derandomize=False,
            print_blob=False,
        )
        @given(strategy)
        def history_agrees_with_model(ops: list[o.Op]) -> None:
            self.execute(loop, ops)

        if db is None:  # Hypothesis ignores its database under a fixed seed: --seed applies without one
            history_agrees_with_model = hypothesis_seed(self.run.seed)(history_agrees_with_model)
        try:
            history_agrees_with_model()
        except (_Stop, Divergence, Flaky):
            pass
        except BaseExceptionGroup as group:  # several rules broken, or a flaky replay: all recorded already
            if not group.subgroup((Divergence, Flaky)):
                raise


async def cleanup(target: Target, world: World, replies: list[Reply]) -> list[str]:
    """Cancel every booking the example's replies name and release every lease it did not book on (by
    booking on it and cancelling at once, as ``bookcheck run`` does). Returns what could not be undone.
    A booking whose latest UpdateBooking answer already showed it CANCELED is not cancelled again."""
    bookings: list[str] = []
    leases: list[tuple[str, Any]] = []
    used: set[str] = set()
    cancelled: set[str] = set()
    for r in replies:
        op = r.exchange.operation
        req = r.exchange.request.body if isinstance(r.exchange.request.body, dict) else {}
        if op == "UpdateBooking" and is_booking(r):
            if dig(r.data, "booking.status") == "CANCELED":
                cancelled.add(booking_id(r))
            else:
                cancelled.discard(booking_id(r))
        elif op == "CreateBooking" and is_booking(r):
            bookings.append(booking_id(r))
            used.add(str(dig(req, "lease_ref.lease_id", "")))
        elif op == "CreateLease" and failure_cause(r) is None and dig(r.data, "lease.lease_id"):
            leases.append((str(dig(r.data, "lease.lease_id")), dig(req, "lease.slot")))
    problems: list[str] = []
    for i, (lease_id, slot) in enumerate(dict(leases).items()):
        if lease_id in used:
            continue
        body = {
            "slot": slot,
            "lease_ref": {"lease_id": lease_id},
            "user_information": world.user(99),
            "idempotency_token": world.ids.token(f"release-{i}"),
        }
        r = await target.call("CreateBooking", body)
        if is_booking(r):
            bookings.append(booking_id(r))
    live = [b for b in dict.fromkeys(bookings) if b not in cancelled]
    results = await asyncio.gather(*(target.call("UpdateBooking", cancel_body(b)) for b in live))
    for b, r in zip(live, results, strict=True):
        done = is_booking(r) and dig(r.data, "booking.status") == "CANCELED"
        if not done and failure_cause(r) != "BOOKING_ALREADY_CANCELLED":
            problems.append(f"booking {b}: cleanup cancel answered HTTP {r.status}")
    return problems


def open_target(options: TargetOptions) -> Target:
    return make_target(options)
