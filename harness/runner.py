"""The runner: allocates inventory, runs scenarios (concurrently, bounded by ``workers``), judges every reply,
cleans up what it created, and returns one :class:`~harness.results.RunResult`.

Entry points: :func:`run` (blocking) and :func:`arun` (async). Both take a :class:`RunConfig` and optional
:class:`~harness.results.RunListener` objects. The CLI, the pytest plugin and the self-tests all call these.

Determinism: slots are allocated up front from the seed (see :mod:`harness.inventory`), user ids and tokens
are derived from seed + scenario + name + a per-run nonce (see :class:`Ids`), and results are ordered by
scenario id, so serial and parallel runs give the same verdicts.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import fnmatch
import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from booking_protocol.feed import FeedSlot
from harness import checks as checks_mod
from harness.baseline import BaselineEntry
from harness.catalogue import load_rules, rules_by_id
from harness.checks import BUDGETS_MS, CheckContext, Verdict, auto_checks, booking_id, is_booking
from harness.config import RunConfig
from harness.evidence import reproduce
from harness.inventory import Inventory, SlotRequirement
from harness.results import (
    BaselineOutcome,
    CheckResult,
    CreatedResource,
    Exchange,
    ExitCode,
    MethodStats,
    RunListener,
    RunResult,
    ScenarioResult,
    Severity,
    Status,
)
from harness.scenario import PYTHON_SCENARIOS, Scenario, Step, load_scenarios
from harness.targets import Reply, Target, TargetUnreachable, make_target
from harness.templates import Unresolved, resolve, resolve_int

#: Upper bound of copies in one ``times:``/``concurrent:`` step (keeps every scenario bounded).
MAX_COPIES = 32
#: Evidence exchanges kept per deviation.
MAX_EVIDENCE = 8


# ------------------------------------------------------------------------------------------------------
# ids: users and tokens
# ------------------------------------------------------------------------------------------------------

_GIVEN = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
_FAMILY = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Lee",
)


class Ids:
    """User ids and idempotency tokens of one scenario.

    Both are derived from (seed, scenario id, name) *and* a per-run nonce: the seed makes slot choice and
    verdicts reproducible, the nonce makes sure that re-running against the same server never replays a
    token (or reuses a user) of an earlier run, which would turn a "new booking" into an idempotent replay.
    ``--nonce`` pins it when byte-identical requests are wanted.
    """

    def __init__(self, seed: int, nonce: str, scenario_id: str) -> None:
        self.prefix = f"{seed}:{nonce}:{scenario_id}"
        self.nonce = nonce
        self._users: dict[str, dict[str, Any]] = {}

    def _h(self, kind: str, name: str) -> bytes:
        return hashlib.sha256(f"{self.prefix}:{kind}:{name}".encode()).digest()

    def user(self, name: str) -> dict[str, Any]:
        u = self._users.get(name)
        if u is None:
            h = self._h("user", name)
            uid = str(1_000_000_000_000_000_000 + int.from_bytes(h[:8], "big") % 8_999_999_999_999_999_999)
            u = {
                "user_id": uid,
                "given_name": _GIVEN[h[8] % len(_GIVEN)],
                "family_name": _FAMILY[h[9] % len(_FAMILY)],
                "telephone": f"+1 415-555-{int.from_bytes(h[10:12], 'big') % 10000:04d}",
                "email": f"bookcheck+{h[12:18].hex()}@example.com",
            }
            self._users[name] = u
        return u

    def token(self, name: str) -> str:
        return f"bookcheck-{self.nonce}-{self._h('token', name)[:10].hex()}"


# ------------------------------------------------------------------------------------------------------
# what the run created on the target
# ------------------------------------------------------------------------------------------------------


@dataclass
class _Created:
    kind: str
    id: str
    scenario_id: str
    cancelled: bool = False  # bookings: cancelled; leases: consumed, expired or released
    note: str | None = None
    slot: Any = None  # leases: the leased slot (JSON), to release it at cleanup
    expires: int = 0


class CreatedRegistry:
    """Everything the run created on the target (bookings, leases) and every exchange of the run."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], _Created] = {}
        self.exchanges: list[Exchange] = []  # every exchange of the run except cleanup (method stats)

    def observe(self, reply: Reply, scenario_id: str) -> None:
        op = reply.exchange.operation
        if not reply.ok:
            return
        request = reply.exchange.request.body if isinstance(reply.exchange.request.body, dict) else {}
        if op == "CreateBooking" and is_booking(reply):
            bid = booking_id(reply)
            if bid and ("booking", bid) not in self.items:
                self.items[("booking", bid)] = _Created("booking", bid, scenario_id)
            lease_id = (
                (request.get("lease_ref") or {}).get("lease_id")
                if isinstance(request.get("lease_ref"), dict)
                else None
            )
            lease = self.items.get(("lease", str(lease_id)))
            if lease is not None and not lease.cancelled:
                lease.cancelled, lease.note = True, f"consumed by booking {bid}"
        elif op == "UpdateBooking" and is_booking(reply):
            bid = booking_id(reply)
            item = self.items.get(("booking", bid))
            if item and reply.data["booking"].get("status") == "CANCELED":
                item.cancelled = True
        elif op == "CreateLease":
            lease = reply.data.get("lease")
            if isinstance(lease, dict) and lease.get("lease_id") and not reply.data.get("booking_failure"):
                key = ("lease", str(lease["lease_id"]))
                if key not in self.items:
                    exp = lease.get("lease_expiration_time_sec")
                    self.items[key] = _Created(
                        "lease",
                        key[1],
                        scenario_id,
                        slot=(request.get("lease") or {}).get("slot"),
                        expires=exp if isinstance(exp, int) else 0,
                    )


# ------------------------------------------------------------------------------------------------------
# one scenario
# ------------------------------------------------------------------------------------------------------


class ScenarioStopped(Exception):
    """Raised inside a scenario to stop it; ``skip`` makes it a SKIP with the reason."""

    def __init__(self, reason: str, *, skip: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.skip = reason, skip


class ScenarioRun:
    """The state of one running scenario: its slots, users, tokens, replies and verdicts.

    Python scenarios use :meth:`call` and :meth:`expect` (or :meth:`verdict`) exactly as data steps do.
    """

    def __init__(
        self,
        scenario: Scenario,
        target: Target,
        slots: dict[str, FeedSlot],
        ids: Ids,
        created: CreatedRegistry,
        inventory: Inventory,
        config: RunConfig,
    ) -> None:
        self.scenario = scenario
        self.target = target
        self.transport = target.transport
        self.has_credentials = config.target.credentials is not None
        self.slots = slots
        self.ids = ids
        self.created = created
        self.inventory = inventory
        self.config = config
        self.replies: dict[str, list[Reply]] = {}
        self.requests: dict[str, Any] = {}
        self.order: list[str] = []
        self.exchanges: list[Exchange] = []
        self.results: list[CheckResult] = []
        self._auto: dict[str, list[tuple[Verdict, str]]] = {}

    # --- TemplateScope / ScenarioView -----------------------------------------------------------------
    def slot(self, name: str) -> FeedSlot:
        try:
            return self.slots[name]
        except KeyError:
            raise Unresolved(f"the scenario has no slot {name!r}") from None

    def now(self) -> int:
        """The run's clock, in whole epoch seconds (``${now}`` in scenario files)."""
        return int(self.config.clock())

    def unknown_start(self, name: str) -> int:
        return self.inventory.unknown_start(self.slot(name))

    def user(self, name: str) -> dict[str, Any]:
        return self.ids.user(name)

    def token(self, name: str) -> str:
        return self.ids.token(name)

    def step_reply(self, step_id: str) -> Reply:
        replies = self.replies.get(step_id)
        if not replies:
            raise Unresolved(f"step {step_id!r} has not run")
        return replies[0]

    def step_replies(self, step_id: str) -> list[Reply]:
        return self.replies.get(step_id, [])

    def step_request(self, step_id: str) -> Any:
        return self.requests.get(step_id)

    # --- calls --------------------------------------------------------------------------------------
    async def call(
        self,
        step_id: str,
        operation: str,
        body: Any = None,
        *,
        auth: str = "default",
        raw: bytes | None = None,
        path: str | None = None,
    ) -> Reply:
        if raw is not None and self.transport != "rest":
            raise ScenarioStopped("raw request bodies are REST-only", skip=True)
        reply = await self.target.call(operation, body, auth=auth, raw=raw, path=path)
        ex = reply.exchange
        ex = Exchange(
            operation=ex.operation,
            transport=ex.transport,
            request=ex.request,
            response=ex.response,
            elapsed_ms=ex.elapsed_ms,
            error=ex.error,
            scenario_id=self.scenario.id,
            step=step_id,
        )
        reply = Reply(
            exchange=ex,
            status=reply.status,
            body=reply.body,
            raw=reply.raw,
            is_json=reply.is_json,
            content_type=reply.content_type,
        )
        self.exchanges.append(ex)
        self.created.exchanges.append(ex)
        self.created.observe(reply, self.scenario.id)
        if step_id not in self.replies:
            self.replies[step_id] = []
            self.order.append(step_id)
            self.requests[step_id] = body
        self.replies[step_id].append(reply)
        for v in auto_checks(reply, auth=auth, has_credentials=self.has_credentials):
            self._auto.setdefault(v.rule_id, []).append((v, step_id))
        if operation == "UpdateBooking" and checks_mod.failure_cause(reply) == "OUTSIDE_CANCELLATION_WINDOW":
            # D21: a cancel past the merchant's cutoff may be refused; the harness cannot know the cutoff,
            # so it never fails a server for it: the scenario is skipped with the reason instead.
            raise ScenarioStopped(
                f"step {step_id!r}: the server refused with OUTSIDE_CANCELLATION_WINDOW (its cancellation "
                f"cutoff covers slots starting {self.config.min_lead_sec} s or more from now; use --min-lead "
                "to pick later slots)",
                skip=True,
            )
        return reply

    async def call_many(
        self, step_id: str, operation: str, bodies: list[Any], *, concurrent: bool, auth: str = "default"
    ) -> list[Reply]:
        if concurrent:
            return list(await asyncio.gather(*(self.call(step_id, operation, b, auth=auth) for b in bodies)))
        return [await self.call(step_id, operation, b, auth=auth) for b in bodies]

    # --- verdicts -----------------------------------------------------------------------------------
    def expect(self, step_id: str, name: str, **args: Any) -> None:
        reg = checks_mod.REGISTRY[name]
        ctx = CheckContext(
            scenario=self,
            step_id=step_id,
            replies=self.replies.get(step_id, []),
            request=self.requests.get(step_id),
        )
        if not ctx.replies:
            raise ScenarioStopped(f"step {step_id!r} has no reply to judge")
        for v in reg.fn(ctx, **args):
            self.verdict(step_id, v)

    def verdict(self, step_id: str, v: Verdict) -> None:
        self.results.append(self._to_result(step_id, v))

    def _to_result(self, step_id: str, v: Verdict) -> CheckResult:
        rule = rules_by_id()[v.rule_id]
        sev = rule.severity
        status = Status.PASS if v.ok else (Status.FAIL if sev == Severity.ERROR else Status.WARN)
        passed = CheckResult(
            rule_id=rule.id,
            status=status,
            severity=sev,
            spec=rule.spec,
            scenario_id=self.scenario.id,
            step=step_id,
            message=v.message,
            expected=v.expected,
        )
        if v.ok:
            return passed
        own = list(v.evidence) if v.evidence is not None else self.replies.get(step_id, [])[:3]
        own_ex = [r.exchange for r in own]
        earlier: list[Exchange] = []
        steps_before = list(v.related_steps) or [s for s in self.order if s != step_id]
        for s in steps_before:
            rs = self.replies.get(s)
            if rs and rs[0].exchange not in own_ex:
                earlier.append(rs[0].exchange)
        exchanges = (earlier[-(MAX_EVIDENCE - len(own_ex)) :] if len(own_ex) < MAX_EVIDENCE else []) + own_ex
        exchanges = exchanges[-MAX_EVIDENCE:]
        decisive = own_ex[-1] if own_ex else None
        # a deviation is the same record plus its evidence
        return replace(
            passed,
            actual=v.actual,
            exchanges=tuple(exchanges),
            reproduce=reproduce(
                decisive, insecure=self.config.target.insecure, ca_file=self.config.target.ca_file
            )
            if decisive
            else None,
            elapsed_ms=decisive.elapsed_ms if decisive else None,
        )

    def flush_auto(self) -> None:
        """One PASS per automatic rule per scenario, or one FAIL per offending reply (at most 3)."""
        for rule_id in sorted(self._auto):
            items = self._auto[rule_id]
            bad = [(v, s) for v, s in items if not v.ok]
            if not bad:
                v, s = items[0]
                self.results.append(self._to_result(s, Verdict(rule_id, True, v.message, v.expected)))
                continue
            for v, s in bad[:3]:
                self.results.append(
                    self._to_result(
                        s, Verdict(rule_id, False, v.message, v.expected, v.actual, v.evidence, ())
                    )
                )

    # --- data steps ---------------------------------------------------------------------------------
    async def run_step(self, step: Step) -> None:
        copies, concurrent = 1, False
        if step.times is not None:
            copies = resolve_int(step.times, self)
        if step.concurrent is not None:
            copies, concurrent = resolve_int(step.concurrent, self), True
        if copies > MAX_COPIES:
            raise ScenarioStopped(f"step {step.id!r} asks for {copies} copies (at most {MAX_COPIES})")
        if copies <= 0:
            return
        if step.raw is not None:
            raw = resolve(step.raw, self).encode()
            await self.call(step.id, step.call, None, auth=step.auth, raw=raw, path=step.path)
            self.requests[step.id] = step.raw
        elif step.times is None and step.concurrent is None:
            body = resolve(step.request, self)
            await self.call(step.id, step.call, body, auth=step.auth, path=step.path)
        else:
            bodies = [resolve(step.request, self, copy=i) for i in range(copies)]
            await self.call_many(step.id, step.call, bodies, concurrent=concurrent, auth=step.auth)
            self.requests[step.id] = bodies[0]
        for e in step.expect:
            args = {k: (resolve(v, self) if k not in ("user",) else v) for k, v in e.args.items()}
            if "exactly" in args:
                args["exactly"] = resolve_int(e.args["exactly"], self)
            self.expect(step.id, e.name, **args)


# ------------------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------------------


def _worst(results: Iterable[CheckResult]) -> Status:
    statuses = {r.status for r in results}
    for s in (Status.ERROR, Status.FAIL, Status.WARN):
        if s in statuses:
            return s
    return Status.PASS


def select_scenarios(config: RunConfig) -> tuple[list[Scenario], list[Scenario]]:
    """(scenarios that get slots, scenarios that run). Slots are always allocated for the whole suite, so a
    run filtered with ``only`` (or one pytest-xdist worker) uses exactly the slots of the full run."""
    scenarios = (
        list(config.scenarios) if config.scenarios is not None else load_scenarios(config.scenario_files)
    )
    in_suite = [s for s in scenarios if config.suite in s.suites or config.suite == "all"]
    selected = in_suite
    if config.only:
        selected = [s for s in scenarios if any(fnmatch.fnmatchcase(s.id, p) for p in config.only)]
    if config.exclude:
        selected = [s for s in selected if not any(fnmatch.fnmatchcase(s.id, p) for p in config.exclude)]
    allocated = {s.id: s for s in in_suite + selected}
    return sorted(allocated.values(), key=lambda s: s.id), sorted(selected, key=lambda s: s.id)


def _skip_reason(s: Scenario, config: RunConfig, transport: str) -> str | None:
    if transport not in s.transports:
        return f"not applicable over {transport} ({', '.join(s.transports)} only)"
    for cap in s.requires:
        if not config.profile.claims(cap):
            return config.profile.unclaimed_reason(cap)
    if s.needs_credentials and config.target.credentials is None:
        return (
            "no credentials given (--user/--password, --credentials-file, BOOKCHECK_USER/BOOKCHECK_PASSWORD)"
        )
    if s.slots and not config.feed:
        return "no availability feed given (--feed)"
    return None


async def _run_one(
    s: Scenario,
    target: Target,
    slots: dict[str, FeedSlot] | str | None,
    config: RunConfig,
    created: CreatedRegistry,
    inventory: Inventory,
    nonce: str,
) -> ScenarioResult:
    t0 = time.perf_counter()
    reason = _skip_reason(s, config, target.transport)
    if reason is None and isinstance(slots, str):
        reason = slots
    if reason is not None:
        return ScenarioResult(
            scenario_id=s.id,
            title=s.title,
            transport=target.transport,
            spec=s.spec,
            status=Status.SKIP,
            reason=reason,
        )
    run = ScenarioRun(
        s,
        target,
        slots if isinstance(slots, dict) else {},
        Ids(config.seed, nonce, s.id),
        created,
        inventory,
        config,
    )
    stop: str | None = None
    status_override: Status | None = None
    try:
        if s.python:
            await PYTHON_SCENARIOS[s.python](run)
        else:
            for step in s.steps:
                await run.run_step(step)
    except ScenarioStopped as exc:
        stop = exc.reason
        if exc.skip:
            status_override = Status.SKIP
    except Unresolved as exc:
        stop = f"stopped: {exc}"
    except Exception as exc:  # a bug of the harness or of a scenario: ERROR, never a crash of the run
        stop = f"harness error: {type(exc).__name__}: {exc}"
        status_override = Status.ERROR
    run.flush_auto()
    results = tuple(run.results)
    status = _worst(results)
    if status_override is Status.SKIP and status == Status.PASS:
        status = Status.SKIP
    elif status_override is Status.ERROR:
        status = Status.ERROR
    elif stop and status == Status.PASS:
        status = Status.ERROR  # stopped without a deviation explaining why
    return ScenarioResult(
        scenario_id=s.id,
        title=s.title,
        transport=target.transport,
        spec=s.spec,
        status=status,
        checks=results,
        reason=stop,
        duration_ms=(time.perf_counter() - t0) * 1000.0,
    )


def _allocate(
    scenarios: list[Scenario], inventory: Inventory, config: RunConfig, transport: str
) -> dict[str, dict[str, FeedSlot] | str | None]:
    out: dict[str, dict[str, FeedSlot] | str | None] = {}
    for s in scenarios:  # sorted by id: deterministic, independent of --workers
        if _skip_reason(s, config, transport) is not None:
            out[s.id] = None
            continue
        out[s.id] = inventory.allocate(s.slots, key=s.id) if s.slots else {}
    return out


async def _cleanup(
    target: Target, created: CreatedRegistry, keep: bool, nonce: str, clock: Callable[[], float]
) -> tuple[CreatedResource, ...]:
    """Cancel every booking the run created and release every live lease it did not use.

    Leases cannot be cancelled (v3 has no method for it), so a live, unconsumed lease is released by booking
    on it and cancelling that booking at once; an expired one needs nothing. Cleanup calls are not counted
    in the method statistics."""
    sem = asyncio.Semaphore(8)

    async def cancel(c: _Created) -> None:
        async with sem:
            reply = await target.call(
                "UpdateBooking", {"booking": {"booking_id": c.id, "status": "CANCELED"}}
            )
        cause = checks_mod.failure_cause(reply)
        if (
            is_booking(reply) and reply.data["booking"].get("status") == "CANCELED"
        ) or cause == "BOOKING_ALREADY_CANCELLED":
            c.cancelled = True
        else:
            c.note = f"cleanup cancel failed: {checks_mod.describe(reply)[:200]}"

    async def release(c: _Created) -> None:
        if c.expires and c.expires <= clock():
            c.cancelled, c.note = True, "expired"
            return
        if not isinstance(c.slot, dict):
            c.note = "live lease left to expire (its slot is unknown)"
            return
        ids = Ids(0, nonce, "cleanup")
        body = {
            "slot": c.slot,
            "lease_ref": {"lease_id": c.id},
            "user_information": ids.user(c.id),
            "idempotency_token": ids.token(f"release-{c.id}"),
        }
        async with sem:
            reply = await target.call("CreateBooking", body)
        if is_booking(reply):
            holder = _Created("booking", booking_id(reply), c.scenario_id)
            await cancel(holder)
            c.cancelled = holder.cancelled
            c.note = (
                f"released: booked on the lease ({holder.id}) and cancelled at once"
                if holder.cancelled
                else f"booked on the lease to release it, but {holder.note}"
            )
        else:
            c.note = f"live lease left to expire at {c.expires} ({checks_mod.describe(reply)[:120]})"

    if not keep:
        pending = [c for c in created.items.values() if c.kind == "booking" and not c.cancelled]
        leases = [c for c in created.items.values() if c.kind == "lease" and not c.cancelled]
        await asyncio.gather(*(cancel(c) for c in pending), *(release(c) for c in leases))
    out: list[CreatedResource] = []
    for c in sorted(created.items.values(), key=lambda c: (c.scenario_id, c.kind, c.id)):
        note = c.note
        if keep and not c.cancelled:
            note = "kept (--keep-bookings)"
        out.append(
            CreatedResource(
                kind=c.kind, id=c.id, scenario_id=c.scenario_id, cleaned_up=c.cancelled, note=note
            )
        )
    return tuple(out)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
    return v[k]


def method_stats(
    scenario_results: Sequence[ScenarioResult], exchanges: Sequence[Exchange]
) -> tuple[MethodStats, ...]:
    keyed: set[tuple[str, str, str, float]] = set()
    for sr in scenario_results:
        for c in sr.checks:
            if c.status == Status.FAIL and not c.baselined:
                for e in c.exchanges:
                    if e.step == c.step:
                        keyed.add((e.scenario_id, e.step, e.operation, e.elapsed_ms))
    by_op: dict[str, list[Exchange]] = {}
    for e in exchanges:
        by_op.setdefault(e.operation, []).append(e)
    out = []
    for op in sorted(by_op):
        exs = by_op[op]
        times = [e.elapsed_ms for e in exs]
        failed = sum(
            1
            for e in exs
            if e.response is None or (e.scenario_id, e.step, e.operation, e.elapsed_ms) in keyed
        )
        non2xx = sum(
            1
            for e in exs
            if e.response is not None
            and e.response.status is not None
            and (
                (e.transport == "rest" and not 200 <= e.response.status < 300)
                or (e.transport == "grpc" and e.response.status != 0)
            )
        )
        budget = BUDGETS_MS.get(op)
        out.append(
            MethodStats(
                operation=op,
                calls=len(exs),
                failed_calls=failed,
                non_2xx=non2xx,
                p50_ms=_percentile(times, 0.5),
                p95_ms=_percentile(times, 0.95),
                max_ms=max(times) if times else 0.0,
                budget_ms=budget[0] if budget else None,
            )
        )
    return tuple(out)


def apply_baseline(
    scenarios: Sequence[ScenarioResult], entries: tuple[BaselineEntry, ...] | None
) -> tuple[tuple[ScenarioResult, ...], BaselineOutcome]:
    if not entries:
        return tuple(scenarios), BaselineOutcome()
    used: set[str] = set()
    accepted: set[str] = set()
    out = []
    for sr in scenarios:
        new_checks = []
        for c in sr.checks:
            if c.is_deviation:
                hit = next((e for e in entries if e.matches(c.rule_id, c.scenario_id)), None)
                if hit is not None:
                    used.add(hit.key)
                    accepted.add(f"{c.rule_id} {c.scenario_id}")
                    c = replace(c, baselined=True)
            new_checks.append(c)
        out.append(replace(sr, checks=tuple(new_checks)))
    stale = tuple(sorted(e.key for e in entries if e.key not in used))
    return tuple(out), BaselineOutcome(accepted=tuple(sorted(accepted)), stale=stale)


def exit_code_for(scenarios: Sequence[ScenarioResult], baseline: BaselineOutcome, fail_on: str) -> ExitCode:
    """The process exit code of a finished run, from the one verdict rule of :mod:`harness.results`."""
    if any(sr.fails_run(fail_on) for sr in scenarios) or baseline.stale:
        return ExitCode.DEVIATIONS
    return ExitCode.OK


async def arun(config: RunConfig, listeners: Sequence[RunListener] = ()) -> RunResult:
    """Run the suite. Raises :class:`TargetUnreachable` when the target cannot be reached at all."""
    started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    to_allocate, scenarios = select_scenarios(config)
    nonce = config.nonce or secrets.token_hex(4)
    target = make_target(config.target)
    inventory = Inventory(
        config.feed or [],
        seed=config.seed,
        now=int(config.clock()),
        min_lead_sec=config.min_lead_sec,
        merchant=config.merchant,
        service=config.service,
    )
    allocation = _allocate(to_allocate, inventory, config, target.transport)
    created = CreatedRegistry()
    for li in listeners:
        li.run_started(
            target=target.url, transport=target.transport, suite=config.suite, total=len(scenarios)
        )
    try:
        await target.preflight()
        sem = asyncio.Semaphore(max(1, config.workers))

        async def guarded(s: Scenario) -> ScenarioResult:
            async with sem:
                res = await _run_one(s, target, allocation.get(s.id), config, created, inventory, nonce)
            for li in listeners:
                li.scenario_finished(res)
            return res

        results = await asyncio.gather(*(guarded(s) for s in scenarios))
        exchanges = list(created.exchanges)
        resources = await _cleanup(target, created, config.keep_bookings, nonce, config.clock)
    finally:
        await target.close()
    ordered = sorted(results, key=lambda r: r.scenario_id)
    ordered_t, outcome = apply_baseline(ordered, config.baseline)
    code = exit_code_for(ordered_t, outcome, config.fail_on)
    result = RunResult(
        target=target.url,
        transport=target.transport,
        suite=config.suite,
        seed=config.seed,
        started_at=started,
        duration_ms=(time.perf_counter() - t0) * 1000.0,
        scenarios=ordered_t,
        rules=load_rules(),
        exit_code=code,
        tool_version=config.tool_version,
        created=resources,
        methods=method_stats(ordered_t, exchanges),
        baseline=outcome,
        fail_on=config.fail_on,
    )
    for li in listeners:
        li.run_finished(result)
    return result


def run(config: RunConfig, listeners: Sequence[RunListener] = ()) -> RunResult:
    """Blocking form of :func:`arun`."""
    return asyncio.run(arun(config, listeners))


__all__ = [
    "RunConfig",
    "ScenarioRun",
    "ScenarioStopped",
    "TargetUnreachable",
    "arun",
    "run",
    "Ids",
    "SlotRequirement",
]
