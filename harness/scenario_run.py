"""One scenario at a time: its slots, users and tokens, its calls, and the verdicts of its checks.

:class:`ScenarioRun` is what YAML steps and Python scenarios drive (``call``, ``expect``, ``verdict``);
:func:`run_scenario` runs one scenario to its :class:`~harness.results.ScenarioResult`, turning a stopped,
skipped or crashed scenario into a result with its reason (never a crash of the run). The run around the
scenarios (preflight, allocation, interrupts, cleanup, verdict) is :mod:`harness.runner`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from booking_protocol.feed import FeedSlot
from harness.catalogue import rules_by_id
from harness.checks import REGISTRY, CheckContext, Verdict, auto_checks, failure_cause, symptom
from harness.checks.payments import payment_budgets
from harness.evidence import with_evidence
from harness.ids import Ids
from harness.inventory import Inventory
from harness.ledger import CreatedRegistry
from harness.results import (
    CheckResult,
    Exchange,
    ScenarioResult,
    Severity,
    Status,
)
from harness.scenario import Scenario, Step
from harness.scenario_base import PYTHON_SCENARIOS, ScenarioStopped
from harness.selection import skip_reason
from harness.target_base import Reply, Target
from harness.templates import Unresolved, resolve, resolve_int

if TYPE_CHECKING:  # RunConfig lives in harness.config; it is not re-exported from here
    from harness.config import RunConfig

#: Upper bound of copies in one ``times:``/``concurrent:`` step (keeps every scenario bounded).
MAX_COPIES = 32


class PreconditionFailed(ScenarioStopped):
    """A step that only prepares the scenario (``precondition: true``) failed: the scenario stops, reports
    this once (its reason), and its own rules are not judged. The failing rule is reported where it belongs:
    by the scenarios that exist for it."""


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
        self._prepared: set[str] = set()  # precondition steps (their passes stand when one fails)

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
        counted: bool = True,
    ) -> Reply:
        """Send one request as step ``step_id`` and record its reply (judged by the automatic checks).
        ``counted=False``: a verification resend (Google's idempotency resend) left out of the method
        statistics, as Google's summary counts one CreateBooking per slot; still judged and cleaned up."""
        if raw is not None and self.transport != "rest":
            raise ScenarioStopped("raw request bodies are REST-only", skip=True)
        sent_at = self.config.clock()
        if operation == "CreateBooking" and raw is None:
            self.created.sending(body, self.scenario.id)  # in the ledger before it can exist on the target
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
            sent_at=sent_at,
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
        if counted:
            self.created.exchanges.append(ex)
        self.created.observe(reply, self.scenario.id)
        if step_id not in self.replies:
            self.replies[step_id] = []
            self.order.append(step_id)
            self.requests[step_id] = body
        self.replies[step_id].append(reply)
        auto = auto_checks(reply, auth=auth, has_credentials=self.has_credentials)
        for v in payment_budgets(auto, reply, body):  # D47: paid bookings have 15 s
            self._auto.setdefault(v.rule_id, []).append((v, step_id))
        if operation == "UpdateBooking" and failure_cause(reply) == "OUTSIDE_CANCELLATION_WINDOW":
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
        reg = REGISTRY[name]
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

    def precondition(self, step_id: str, name: str, **args: Any) -> None:
        """:meth:`expect` for a step that only prepares the scenario (Python scenarios' ``precondition``)."""
        before = len(self.results)
        self.expect(step_id, name, **args)
        self._prepared.add(step_id)
        self.hold_precondition(step_id, before, _primary_rule(name, args))

    def hold_precondition(
        self, step_id: str, before: int, primary: Iterable[str], later_rules: Iterable[str] = ()
    ) -> None:
        """Stop with :class:`PreconditionFailed` when precondition step ``step_id`` did not bring about what
        it prepares: a FAIL of a ``primary`` rule among its results (from index ``before``; e.g. "the booking
        was made", not "it echoes the user", which stays a deviation where it was seen). That failure is not
        charged to this scenario: it becomes the scenario's reason, once; the passes reached so far at the
        scenario's own steps, and the rules of the steps it will not run (``later_rules``), are marked not
        judged."""
        mine = self.results[before:]
        wanted = set(primary)
        failed = [r for r in mine if r.status == Status.FAIL and r.rule_id in wanted]
        if not failed:
            return
        first = failed[0]
        reason = f"not judged: precondition failed at step {step_id!r}: {first.message} ({first.rule_id})"
        self.results = [
            _not_judged(r, reason) if r.status == Status.PASS and r.step not in self._prepared else r
            for r in self.results[:before]
        ] + [r for r in mine if r not in failed]
        judged = {r.rule_id for r in self.results}
        for rule_id in dict.fromkeys(later_rules):
            if rule_id not in judged:
                self.results.append(self._not_judged_rule(rule_id, reason))
        raise PreconditionFailed(reason, skip=True)

    def _not_judged_rule(self, rule_id: str, reason: str) -> CheckResult:
        rule = rules_by_id()[rule_id]
        return CheckResult(
            rule_id=rule.id,
            status=Status.SKIP,
            severity=rule.severity,
            spec=rule.spec,
            scenario_id=self.scenario.id,
            step="",
            message=reason,
        )

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
        passed = replace(passed, message=_deviation_message(v, own))
        steps_before = list(v.related_steps) or [s for s in self.order if s != step_id]
        earlier = [self.replies[s][0].exchange for s in steps_before if self.replies.get(s)]
        target = self.config.target
        return with_evidence(
            passed,
            v.actual,
            [r.exchange for r in own],
            earlier,
            insecure=target.insecure,
            ca_file=target.ca_file,
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
        before = len(self.results)
        for e in step.expect:
            args = {k: (resolve(v, self) if k not in ("user",) else v) for k, v in e.args.items()}
            if "exactly" in args:
                args["exactly"] = resolve_int(e.args["exactly"], self)
            self.expect(step.id, e.name, **args)
        if step.precondition:
            self._prepared.add(step.id)
            later = self.scenario.steps[self.scenario.steps.index(step) + 1 :]
            self.hold_precondition(step.id, before, _rules_of([step]), _rules_of(later))


# ------------------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------------------


def _not_judged(r: CheckResult, reason: str) -> CheckResult:
    """A pass that no longer stands because a later precondition of its scenario failed."""
    return replace(r, status=Status.SKIP, message=reason)


def _primary_rule(name: str, args: dict[str, Any]) -> list[str]:
    """The rule an expectation exists for: the ``rule:`` it names, else its check's first rule (the
    "it happened" rule, e.g. create-booking/succeeds of booking-created)."""
    rule = args.get("rule")
    if isinstance(rule, str):
        return [rule]
    reg = REGISTRY[name]
    return list(reg.rules[:1])


def _rules_of(steps: Iterable[Step]) -> list[str]:
    """The rules the steps exist for (see :func:`_primary_rule`)."""
    return [r for st in steps for e in st.expect for r in _primary_rule(e.name, e.args)]


def _deviation_message(v: Verdict, own: list[Reply]) -> str:
    """Symptom first, expectation second: "CreateBooking returned booking b-3 (CONFIRMED); expected HTTP
    200 with booking_failure SLOT_UNAVAILABLE". The symptom is the check's own short account (``actual``)
    when it has one, else what the decisive reply did."""
    detail = v.actual if v.actual and len(v.actual) <= 200 and not v.actual.startswith("HTTP ") else None
    if own:
        what = symptom(own[0])
        if detail:
            what = f"{own[0].exchange.operation}: {detail}"
    else:
        what = detail or v.actual or v.message
    return f"{what}; expected {v.expected or v.message}"


def _worst(results: Iterable[CheckResult]) -> Status:
    statuses = {r.status for r in results}
    for s in (Status.ERROR, Status.FAIL, Status.WARN):
        if s in statuses:
            return s
    return Status.PASS


async def run_scenario(
    s: Scenario,
    target: Target,
    slots: dict[str, FeedSlot] | str | None,
    config: RunConfig,
    created: CreatedRegistry,
    inventory: Inventory,
    nonce: str,
) -> ScenarioResult:
    t0 = time.perf_counter()
    reason = skip_reason(s, config, target.transport)
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
    except PreconditionFailed as exc:  # not judged: SKIP unless a deviation was seen before it
        stop, status_override = exc.reason, Status.SKIP
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
        # every call, for reproducers, only where there is something to reproduce or explain
        exchanges=tuple(run.exchanges) if status in (Status.FAIL, Status.WARN, Status.ERROR) else (),
    )


__all__ = ["MAX_COPIES", "PreconditionFailed", "ScenarioRun", "ScenarioStopped", "run_scenario"]
