"""The runner: runs the selected scenarios (concurrently, bounded by ``workers``), judges every reply, and
returns one :class:`~harness.results.RunResult`.

Entry points: :func:`run` (blocking) and :func:`arun` (async). Both take a :class:`~harness.config.RunConfig`
and optional :class:`~harness.results.RunListener` objects. The CLI, the pytest plugin and the self-tests all
call these. The jobs around a run live in their own modules: selection and slot allocation
(:mod:`harness.selection`), users and tokens (:mod:`harness.ids`), what the run created and its cleanup
(:mod:`harness.ledger`), evidence of a deviation (:mod:`harness.evidence`), the baseline
(:mod:`harness.baseline`) and method statistics (:mod:`harness.stats`).

Determinism: slots are allocated up front from the seed (see :mod:`harness.inventory`), user ids and tokens
are derived from seed + scenario + name + a per-run nonce (see :class:`~harness.ids.Ids`), and results are
ordered by scenario id, so serial and parallel runs give the same verdicts.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from booking_protocol.feed import FeedSlot
from harness.baseline import apply_baseline
from harness.catalogue import load_rules
from harness.checks import booking_id, is_booking
from harness.errors import TargetUnreachable
from harness.ids import Ids
from harness.interrupts import CLEANUP_BUDGET_SEC, Interrupts
from harness.inventory import Inventory
from harness.journal import Journal
from harness.ledger import CreatedRegistry, cleanup, resources
from harness.liveslots import allocate_live, make_inventory
from harness.preflight import SetupError, preflight
from harness.results import (
    CreatedResource,
    Exchange,
    RunListener,
    RunResult,
    ScenarioResult,
    Status,
    exit_code_of,
    verdict_of,
)
from harness.scenario import Scenario
from harness.scenario_base import ScenarioStopped
from harness.scenario_run import ScenarioRun, run_scenario
from harness.selection import Allocation, allocate, select_scenarios, skip_reason
from harness.stats import method_stats
from harness.target_base import Target
from harness.targets import make_target
from harness.templates import slot_json
from harness.verdict import inconclusive_reason

if TYPE_CHECKING:  # RunConfig lives in harness.config; it is not re-exported from here
    from harness.config import RunConfig


async def arun(
    config: RunConfig, listeners: Sequence[RunListener] = (), *, interrupts: Interrupts | None = None
) -> RunResult:
    """Run the suite and return its result; never raises for the target's sake.

    Order: preflight (§11 D30: a target that cannot be judged ends as one setup error or "unreachable"),
    slot allocation confirmed on the target (D28), the scenarios, the cleanup, the verdict (INCONCLUSIVE when
    the run judged too little, D29). With ``interrupts``, SIGINT/SIGTERM stop the run between scenarios and
    the cleanup is bounded (:mod:`harness.interrupts`)."""
    started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    to_allocate, scenarios = select_scenarios(config)
    nonce = config.nonce or secrets.token_hex(4)
    target = make_target(config.target)
    journal = Journal(config.ledger, target=target.url) if config.ledger else None
    created = CreatedRegistry(journal)
    session = _Session(config, target, created, nonce, listeners, interrupts)
    for li in listeners:
        li.run_started(
            target=target.url, transport=target.transport, suite=config.suite, total=len(scenarios)
        )
    if interrupts is not None:
        interrupts.install(asyncio.get_running_loop())
    try:
        await session.run(to_allocate, scenarios)
    finally:
        await target.close()
        if interrupts is not None:
            interrupts.uninstall()
        if journal is not None:
            journal.close()
    ordered_t, baseline = apply_baseline(
        sorted(session.results, key=lambda r: r.scenario_id), config.baseline
    )
    inconclusive = None
    if session.outcome == "completed":
        inconclusive = inconclusive_reason(
            scenarios, session.data_skips, session.capability_skips, session.pool
        )
    fails = any(sr.fails_run(config.fail_on) for sr in ordered_t) or bool(baseline.stale)
    verdict = verdict_of(session.outcome, fails, inconclusive)
    result = RunResult(
        target=target.url,
        transport=target.transport,
        suite=config.suite,
        seed=config.seed,
        started_at=started,
        duration_ms=(time.perf_counter() - t0) * 1000.0,
        scenarios=ordered_t,
        rules=load_rules(),
        exit_code=exit_code_of(verdict, session.reason),
        tool_version=config.tool_version,
        created=session.resources,
        methods=method_stats(ordered_t, session.exchanges),
        baseline=baseline,
        fail_on=config.fail_on,
        outcome=session.outcome,
        reason=session.reason,
        inconclusive=inconclusive,
        data_warnings=session.warnings,
        ledger=config.ledger,
    )
    for li in listeners:
        li.run_finished(result)
    return result


class _Session:
    """The phases of one run against one target, and what each learnt (for the result)."""

    def __init__(
        self,
        config: RunConfig,
        target: Target,
        created: CreatedRegistry,
        nonce: str,
        listeners: Sequence[RunListener],
        interrupts: Interrupts | None,
    ) -> None:
        self.config, self.target, self.created, self.nonce = config, target, created, nonce
        self.listeners, self.interrupts = listeners, interrupts
        self.outcome: str = "completed"
        self.reason: str | None = None
        self.results: list[ScenarioResult] = []
        self.resources: tuple[CreatedResource, ...] = ()
        self.exchanges: list[Exchange] = []
        self.warnings: tuple[str, ...] = ()
        self.data_skips: dict[str, str] = {}
        self.capability_skips: dict[str, str] = {}
        self.pool = ""

    async def run(self, to_allocate: list[Scenario], scenarios: list[Scenario]) -> None:
        config, target = self.config, self.target
        try:
            first = make_inventory(config)
            checked = await preflight(
                target,
                has_credentials=config.target.credentials is not None,
                feed=first.pool,  # usable slots only: future, open, matching the filters
                availability=config.profile.availability,
                seed=config.seed,
                book=self._probe_booking,
                catalogue=config.catalogue,
            )
            if checked.availability_trusted:
                allocation, inventory, warnings = await allocate_live(to_allocate, config, target, first)
            else:
                inventory = first
                allocation, warnings = allocate(to_allocate, inventory, config, target.transport), ()
            self.warnings = checked.warnings + warnings
        except TargetUnreachable as exc:
            self.outcome, self.reason = "unreachable", str(exc)
            return
        except SetupError as exc:
            self.outcome, self.reason = "setup-error", str(exc)
            return
        self.pool = inventory.describe_pool()
        for s in scenarios:
            why = skip_reason(s, config, target.transport)
            if why is not None:
                self.capability_skips[s.id] = why
            elif isinstance(allocation.get(s.id), str):
                self.data_skips[s.id] = str(allocation[s.id])
        self.results = await self._scenarios(scenarios, allocation, inventory)
        self.exchanges = list(self.created.exchanges)
        if self.interrupts is not None and self.interrupts.signal:
            self.outcome, self.reason = "interrupted", f"interrupted by {self.interrupts.signal}"
        await self._cleanup()

    async def _probe_booking(self, slot: FeedSlot) -> bool:
        """The preflight's one booking (then cancelled at once), recorded like any other the run makes."""
        ids = Ids(self.config.seed, self.nonce, "preflight")
        body = {
            "slot": slot_json(slot),
            "user_information": ids.user("probe"),
            "idempotency_token": ids.token("probe"),
        }
        reply = await self.target.call("CreateBooking", body)
        self.created.observe(reply, "preflight")
        if not is_booking(reply):
            return False
        cancel = {"booking": {"booking_id": booking_id(reply), "status": "CANCELED"}}
        self.created.observe(await self.target.call("UpdateBooking", cancel), "preflight")
        return True

    async def _scenarios(
        self, scenarios: list[Scenario], allocation: Allocation, inventory: Inventory
    ) -> list[ScenarioResult]:
        sem = asyncio.Semaphore(max(1, self.config.workers))
        stop = self.interrupts.first if self.interrupts is not None else asyncio.Event()

        async def guarded(s: Scenario) -> ScenarioResult:
            async with sem:
                if stop.is_set():
                    return _not_run(s, self.target.transport, self.interrupts)
                _tell(self.listeners, "scenario_started", s.id)
                res = await run_scenario(
                    s, self.target, allocation.get(s.id), self.config, self.created, inventory, self.nonce
                )
            for li in self.listeners:
                li.scenario_finished(res)
            return res

        tasks = [asyncio.ensure_future(guarded(s)) for s in scenarios]
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        while not stopper.done() and not all(t.done() for t in tasks):
            await asyncio.wait(
                [*[t for t in tasks if not t.done()], stopper], return_when=asyncio.FIRST_COMPLETED
            )
        stopper.cancel()
        for t in tasks:
            t.cancel()  # no-op for finished ones; an interrupted run stops the scenarios in flight
        await asyncio.gather(*tasks, return_exceptions=True)
        return [
            t.result() if not t.cancelled() else _not_run(s, self.target.transport, self.interrupts)
            for s, t in zip(scenarios, tasks, strict=True)
        ]

    async def _cleanup(self) -> None:
        """Cancel what the run created. Unbounded in a normal run; once interrupted, bounded by
        :data:`CLEANUP_BUDGET_SEC` and aborted by a second signal (what is left is reported)."""
        config, created = self.config, self.created
        if not config.keep_bookings:
            _tell(
                self.listeners, "cleanup_started", sum(1 for i in created.items.values() if not i.cancelled)
            )
        job = asyncio.ensure_future(
            cleanup(self.target, created, config.keep_bookings, self.nonce, config.clock)
        )
        if self.interrupts is None:
            self.resources = await job
            return
        abort = asyncio.ensure_future(self.interrupts.second.wait())
        budget = CLEANUP_BUDGET_SEC if self.interrupts.signal else None
        done, _ = await asyncio.wait([job, abort], timeout=budget, return_when=asyncio.FIRST_COMPLETED)
        abort.cancel()
        if job in done:
            self.resources = job.result()
            return
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
        self.resources = resources(created, config.keep_bookings)
        if self.interrupts.signal:
            self.reason = f"{self.reason}; cleanup aborted" if self.reason else "cleanup aborted"


def _not_run(s: Scenario, transport: str, interrupts: Interrupts | None) -> ScenarioResult:
    why = (
        f"not run: the run was interrupted ({interrupts.signal})"
        if interrupts and interrupts.signal
        else "not run"
    )
    return ScenarioResult(
        scenario_id=s.id, title=s.title, transport=transport, spec=s.spec, status=Status.SKIP, reason=why
    )


def _tell(listeners: Sequence[RunListener], event: str, *args: Any) -> None:
    """Optional listener events (``scenario_started(scenario_id)``, ``cleanup_started(count)``): called on
    the listeners that define them, so a listener needs only the three events of the protocol."""
    for li in listeners:
        hook = getattr(li, event, None)
        if callable(hook):
            hook(*args)


def run(
    config: RunConfig, listeners: Sequence[RunListener] = (), *, interrupts: Interrupts | None = None
) -> RunResult:
    """Blocking form of :func:`arun`."""
    return asyncio.run(arun(config, listeners, interrupts=interrupts))


__all__ = [
    "ScenarioRun",
    "ScenarioStopped",
    "arun",
    "run",
]
