"""Checks: small registered functions that judge replies against rules of the catalogue.

A check is registered with the rule ids it may report::

    @check("booking-created", rules=("create-booking/succeeds", "create-booking/booking-id", ...))
    def booking_created(ctx: CheckContext, slot: str, user: str | None = None) -> Iterable[Verdict]: ...

and is named from scenario files (``expect: [{booking-created: {slot: a, user: alice}}]``). It returns
verdicts for passes too, so reports can say which rules were exercised. Registration of a rule id that is not
in ``scenarios/rules.yaml`` is refused by :func:`verify_registry` (run by the loader and by a test).

*Automatic* checks (:data:`AUTO_CHECKS`) run on every reply of every step: response schema, content type,
latency budget, business-failure shape, and credentials accepted.

Checks see normalised bodies (:mod:`harness.normalize`): snake_case names, int64 as int, enum names, absent
fields read through ``dig`` as their default. That is how they accept every encoding §11 D12-D14 allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from booking_protocol.feed import FeedSlot
from harness.catalogue import rules_by_id
from harness.normalize import dig
from harness.schemas import schema_errors
from harness.targets import Reply

#: Latency budgets of spec §1.2 (ms), and the rule each one enforces.
BUDGETS_MS = {
    "BatchAvailabilityLookup": (1500.0, "latency/batch-availability-lookup"),
    "CheckAvailability": (5000.0, "latency/check-availability"),
    "CreateBooking": (4000.0, "latency/create-booking"),
    "UpdateBooking": (4000.0, "latency/update-booking"),
    "CreateLease": (5000.0, "latency/create-lease"),
}
FAILURE_OPS = ("CreateBooking", "UpdateBooking", "CreateLease")
#: 409 ABORTED: "usually a concurrency problem" (§4); tolerated for copies of concurrent steps only.
CONFLICT = 409
ASYNC = "CONFIRMATION_MODE_ASYNCHRONOUS"


@dataclass(frozen=True)
class Verdict:
    """One judgement of one rule. ``evidence``: the replies that show it (defaults to the step's)."""

    rule_id: str
    ok: bool
    message: str
    expected: str | None = None
    actual: str | None = None
    evidence: tuple[Reply, ...] | None = None
    related_steps: tuple[str, ...] = ()  # earlier steps whose exchanges belong to the evidence


class ScenarioView(Protocol):
    """What checks may read of the running scenario."""

    transport: str
    has_credentials: bool

    def slot(self, name: str) -> FeedSlot: ...

    def user(self, name: str) -> dict[str, Any]: ...

    def step_replies(self, step_id: str) -> list[Reply]: ...

    def step_request(self, step_id: str) -> Any: ...


@dataclass
class CheckContext:
    scenario: ScenarioView
    step_id: str
    replies: list[Reply]
    request: Any = None

    @property
    def reply(self) -> Reply:
        return self.replies[0]

    def earlier(self, step_id: str) -> Reply:
        replies = self.scenario.step_replies(step_id)
        if not replies:
            raise LookupError(f"step '{step_id}' has no reply")
        return replies[0]


CheckFn = Callable[..., Iterable[Verdict]]


@dataclass(frozen=True)
class RegisteredCheck:
    name: str
    rules: tuple[str, ...]
    fn: CheckFn
    generic_rule: bool = False  # takes its rule id as the ``rule`` argument


REGISTRY: dict[str, RegisteredCheck] = {}


def check(
    name: str, *, rules: Sequence[str] = (), generic_rule: bool = False
) -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        REGISTRY[name] = RegisteredCheck(name, tuple(rules), fn, generic_rule)
        return fn

    return deco


def verify_registry() -> list[str]:
    """Problems with the registry: rule ids that the catalogue does not list."""
    known = rules_by_id()
    problems = []
    for c in REGISTRY.values():
        for r in c.rules:
            if r not in known:
                problems.append(f"check {c.name!r} reports rule {r!r}, which is not in rules.yaml")
            elif known[r].excluded:
                problems.append(f"check {c.name!r} reports rule {r!r}, which rules.yaml lists as excluded")
    for op, (_ms, r) in BUDGETS_MS.items():
        if r not in known:
            problems.append(f"latency rule {r!r} of {op} is not in rules.yaml")
    return problems


# ------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------


def describe(reply: Reply) -> str:
    if reply.status is None:
        return f"no response ({reply.exchange.error})"
    body = reply.raw
    text = repr(body) if not isinstance(body, str) else body
    if len(text) > 300:
        text = text[:300] + "..."
    return f"HTTP {reply.status} {text}"


def failure_cause(reply: Reply) -> str | None:
    bf = reply.data.get("booking_failure")
    if bf is None:
        return None
    cause = dig(bf, "cause", "CAUSE_UNSPECIFIED")
    return str(cause)


def booking_id(reply: Reply, key: str = "booking") -> str:
    return str(dig(reply.data, f"{key}.booking_id", "") or "")


def is_booking(reply: Reply) -> bool:
    """A successful CreateBooking/UpdateBooking: 2xx, a booking, no failure."""
    return reply.ok and isinstance(reply.data.get("booking"), dict) and failure_cause(reply) is None


def _v(
    rule: str,
    ok: bool,
    msg: str,
    expected: str | None = None,
    actual: str | None = None,
    evidence: Sequence[Reply] | None = None,
    related: Sequence[str] = (),
) -> Verdict:
    return Verdict(
        rule, ok, msg, expected, actual, tuple(evidence) if evidence is not None else None, tuple(related)
    )


def slot_mismatches(
    got: Any, s: FeedSlot, *, with_ids: bool = True, start_sec: int | None = None
) -> list[str]:
    """Fields of a returned Slot that differ from feed slot ``s`` (absent = proto3 default)."""
    got = got if isinstance(got, dict) else {}
    want: dict[str, Any] = {
        "start_sec": start_sec if start_sec is not None else s.start_sec,
        "duration_sec": s.duration_sec,
    }
    if with_ids:
        want["merchant_id"] = s.merchant_id
        want["service_id"] = s.service_id
    out = [f"{k}={dig(got, k)!r} (want {v!r})" for k, v in want.items() if dig(got, k) != v]
    for k, v in (("staff_id", s.staff_id), ("room_id", s.room_id), ("party_size", s.party_size)):
        if v and dig(got, f"resources.{k}") != v:
            out.append(f"resources.{k}={dig(got, f'resources.{k}')!r} (want {v!r})")
    return out


def expect_business_failure(
    rule: str, replies: Sequence[Reply], causes: Sequence[str], what: str
) -> Iterable[Verdict]:
    """Each reply must be HTTP 200 with booking_failure.cause in ``causes`` (also judges failure/http-200)."""
    bad = [r for r in replies if not (r.status == 200 and failure_cause(r) in causes)]
    wrong_status = [r for r in replies if r.status is not None and r.status >= 400]
    yield _v(
        rule,
        not bad,
        what,
        expected=f"HTTP 200 with booking_failure.cause in {list(causes)}",
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )
    yield _v(
        "failure/http-200",
        not wrong_status,
        "a business failure is answered HTTP 200",
        expected="HTTP 200 with booking_failure",
        actual=describe(wrong_status[0]) if wrong_status else None,
        evidence=wrong_status[:3] or None,
    )


# ------------------------------------------------------------------------------------------------------
# automatic checks (every reply)
# ------------------------------------------------------------------------------------------------------


def auto_checks(reply: Reply, *, auth: str, has_credentials: bool) -> list[Verdict]:
    out: list[Verdict] = []
    op = reply.exchange.operation
    if reply.status is None:
        return out
    budget = BUDGETS_MS.get(op)
    if budget is not None:
        ms, rule = budget
        ok = reply.elapsed_ms <= ms
        out.append(
            _v(
                rule,
                ok,
                f"{op} answers within its {ms / 1000:g} s budget",
                expected=f"<= {ms:.0f} ms",
                actual=f"{reply.elapsed_ms:.0f} ms",
                evidence=[reply],
            )
        )
    if auth == "default" and has_credentials:
        ok = reply.status not in (401, 403)
        out.append(
            _v(
                "auth/valid-credentials-accepted",
                ok,
                "the configured credentials are accepted",
                expected="not 401/403",
                actual=f"HTTP {reply.status}",
                evidence=[reply],
            )
        )
    if (
        not reply.ok
        or op == "HealthCheck"
        or op not in BUDGETS_MS
        and op not in ("GetBookingStatus", "ListBookings")
    ):
        return out
    if not reply.is_json:
        out.append(
            _v(
                "json/response-schema",
                False,
                f"the {op} response body is JSON",
                expected=f"a JSON {op}Response",
                actual=describe(reply),
                evidence=[reply],
            )
        )
        return out
    errors = schema_errors(f"{op}Response", reply.raw)
    out.append(
        _v(
            "json/response-schema",
            not errors,
            f"the {op} response matches the {op}Response schema",
            expected=f"a valid {op}Response",
            actual="; ".join(errors) or None,
            evidence=[reply],
        )
    )
    if reply.exchange.transport == "rest":
        ok = reply.content_type.split(";")[0].strip().lower() == "application/json"
        out.append(
            _v(
                "json/content-type",
                ok,
                "the response declares Content-Type application/json",
                expected="application/json",
                actual=reply.content_type or "(none)",
                evidence=[reply],
            )
        )
    if op in FAILURE_OPS and isinstance(reply.data.get("booking_failure"), dict):
        others = sorted(k for k in reply.data if k != "booking_failure")
        out.append(
            _v(
                "failure/other-fields-unset",
                not others,
                "a response with booking_failure leaves every other field unset",
                expected="only booking_failure",
                actual=f"also {', '.join(others)}" if others else None,
                evidence=[reply],
            )
        )
        cause = failure_cause(reply)
        out.append(
            _v(
                "failure/cause-specified",
                cause not in ("CAUSE_UNSPECIFIED", "0", None),
                "booking_failure.cause is a specific cause",
                expected="not CAUSE_UNSPECIFIED",
                actual=str(cause),
                evidence=[reply],
            )
        )
    return out


# ------------------------------------------------------------------------------------------------------
# generic checks (rule given by the scenario)
# ------------------------------------------------------------------------------------------------------


@check("status-in", generic_rule=True)
def status_in(ctx: CheckContext, rule: str, codes: list[int], what: str | None = None) -> Iterable[Verdict]:
    bad = [r for r in ctx.replies if r.status not in codes]
    yield _v(
        rule,
        not bad,
        what or f"HTTP status in {codes}",
        expected=f"HTTP {' or '.join(map(str, codes))}",
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )


@check("business-failure", generic_rule=True)
def business_failure(
    ctx: CheckContext, rule: str, causes: list[str], what: str | None = None
) -> Iterable[Verdict]:
    yield from expect_business_failure(rule, ctx.replies, causes, what or f"fails with {' or '.join(causes)}")


@check("same-answer-as", rules=("json/accepts-int64-strings",))
def same_answer_as(
    ctx: CheckContext, step: str, rule: str = "json/accepts-int64-strings"
) -> Iterable[Verdict]:
    """The reply equals (after normalisation) the reply of ``step``, which sent the same request in another
    encoding (e.g. int64 as numbers there, as strings here)."""
    other = ctx.earlier(step)
    r = ctx.reply
    ok = r.status == other.status and r.body == other.body
    yield _v(
        rule,
        ok,
        "the same request in another allowed JSON encoding gets the same answer",
        expected=describe(other),
        actual=None if ok else describe(r),
        related=(step,),
    )


@check("no-booking", generic_rule=True)
def no_booking(
    ctx: CheckContext,
    rule: str,
    codes: list[int] | None = None,
    causes: list[str] | None = None,
    what: str | None = None,
    any_refusal: bool = False,
) -> Iterable[Verdict]:
    """No booking is made: an accepted 4xx status or an accepted business failure (``any_refusal``: any 4xx
    and any booking_failure are accepted)."""
    codes = codes or []
    causes = causes or []
    bad = []
    for r in ctx.replies:
        if r.status in codes or (any_refusal and r.status is not None and 400 <= r.status < 500):
            continue
        if (
            r.status == 200
            and (failure_cause(r) in causes or (any_refusal and failure_cause(r)))
            and not r.data.get("booking")
        ):
            continue
        bad.append(r)
    accepted = [f"HTTP {c}" for c in codes] + [f"HTTP 200 + {c}" for c in causes]
    if any_refusal:
        accepted = ["a 4xx status", "HTTP 200 with booking_failure"]
    yield _v(
        rule,
        not bad,
        what or "no booking is made",
        expected=" or ".join(accepted),
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )


# ------------------------------------------------------------------------------------------------------
# HealthCheck and authentication
# ------------------------------------------------------------------------------------------------------


@check("health-ok", rules=("health/ok",))
def health_ok(ctx: CheckContext) -> Iterable[Verdict]:
    r = ctx.reply
    yield _v("health/ok", r.status == 200, "HealthCheck answers 200", expected="HTTP 200", actual=describe(r))


@check(
    "auth-refused",
    rules=(
        "auth/missing-credentials",
        "auth/wrong-credentials",
        "auth/health-check-protected",
        "auth/status-401",
    ),
)
def auth_refused(ctx: CheckContext, rule: str) -> Iterable[Verdict]:
    r = ctx.reply
    yield _v(rule, r.status in (401, 403), "the request is refused", expected="HTTP 401", actual=describe(r))
    if r.status in (401, 403):
        yield _v(
            "auth/status-401",
            r.status == 401,
            "refused credentials are answered 401",
            expected="HTTP 401",
            actual=f"HTTP {r.status}",
        )


# ------------------------------------------------------------------------------------------------------
# BatchAvailabilityLookup / CheckAvailability
# ------------------------------------------------------------------------------------------------------


def _slot_time_key(st: Any) -> tuple[Any, ...]:
    st = st if isinstance(st, dict) else {}
    return (
        dig(st, "service_id", ""),
        _int(dig(st, "start_sec", 0)),
        _int(dig(st, "duration_sec", 0)),
        dig(st, "resource_ids.staff_id", ""),
        dig(st, "resource_ids.room_id", ""),
        _int(dig(st, "resource_ids.party_size", 0)),
    )


def _int(v: Any) -> Any:
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    return v


def _bal_entries(reply: Reply) -> list[dict[str, Any]]:
    entries = reply.data.get("slot_time_availability") or []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


@check("bal-shape", rules=("bal/one-entry-per-slot-time", "bal/echo-slot-time", "bal/request-order"))
def bal_shape(ctx: CheckContext) -> Iterable[Verdict]:
    asked = (ctx.request or {}).get("slot_time") or []
    for r in ctx.replies:
        if not r.ok:
            yield _v(
                "bal/one-entry-per-slot-time",
                False,
                "BatchAvailabilityLookup answers 200",
                expected="HTTP 200",
                actual=describe(r),
                evidence=[r],
            )
            continue
        entries = _bal_entries(r)
        yield _v(
            "bal/one-entry-per-slot-time",
            len(entries) == len(asked),
            "one slot_time_availability per requested SlotTime",
            expected=f"{len(asked)} entries",
            actual=f"{len(entries)} entries",
            evidence=[r],
        )
        want = [_slot_time_key(st) for st in asked]
        got = [_slot_time_key(e.get("slot_time")) for e in entries]
        missing = [w for w in want if w not in got]
        yield _v(
            "bal/echo-slot-time",
            not missing and len(entries) == len(asked),
            "every requested SlotTime is echoed",
            expected="each SlotTime echoed",
            actual=f"not echoed: {missing[:3]}" if missing else None,
            evidence=[r],
        )
        if not missing and len(got) == len(want):
            yield _v(
                "bal/request-order",
                got == want,
                "entries come back in request order",
                expected=str(want[:4]),
                actual=str(got[:4]),
                evidence=[r],
            )


@check(
    "bal-available",
    rules=(
        "bal/open-slot-available",
        "bal/unknown-slot-unavailable",
        "bal/full-slot-unavailable",
        "bal/freed-slot-available",
        "bal/across-services",
    ),
)
def bal_available(ctx: CheckContext, expect: list[bool], rule: str) -> Iterable[Verdict]:
    """``expect[i]``: whether the i-th requested SlotTime must be available (paired with its answer by
    the echo, else by index)."""
    asked = (ctx.request or {}).get("slot_time") or []
    for r in ctx.replies:
        if r.status != 200:
            yield _v(
                rule,
                False,
                "BatchAvailabilityLookup answers 200 with an entry per SlotTime",
                expected="HTTP 200",
                actual=describe(r),
                evidence=[r],
            )
            continue
        entries = _bal_entries(r)
        by_key = {_slot_time_key(e.get("slot_time")): e for e in entries}
        wrong = []
        for i, (st, want) in enumerate(zip(asked, expect, strict=False)):
            e = by_key.get(_slot_time_key(st)) or (entries[i] if i < len(entries) else None)
            got = bool(dig(e, "available", False)) if e is not None else None
            if got is not want:
                wrong.append(f"slot_time[{i}] available={got} (want {want})")
        yield _v(
            rule,
            not wrong,
            "availability reflects the inventory",
            expected=", ".join(f"[{i}] available={w}" for i, w in enumerate(expect)),
            actual="; ".join(wrong) or None,
            evidence=[r],
        )


@check(
    "check-availability",
    rules=("check-availability/echo-slot", "check-availability/open-count", "check-availability/full-count"),
)
def check_availability(ctx: CheckContext, slot: str, open: bool) -> Iterable[Verdict]:  # noqa: A002
    s = ctx.scenario.slot(slot)
    r = ctx.reply
    rule = "check-availability/open-count" if open else "check-availability/full-count"
    if r.status != 200:
        yield _v(rule, False, "CheckAvailability answers 200", expected="HTTP 200", actual=describe(r))
        return
    mism = slot_mismatches(r.data.get("slot"), s)
    yield _v(
        "check-availability/echo-slot",
        not mism,
        "the requested slot is echoed",
        expected="the requested slot",
        actual="; ".join(mism) or None,
    )
    count = dig(r.data, "count_available", 0)
    ok = (isinstance(count, int) and count > 0) if open else count == 0
    yield _v(
        rule, ok, "count_available reflects the inventory", expected="> 0" if open else "0", actual=str(count)
    )


# ------------------------------------------------------------------------------------------------------
# CreateBooking
# ------------------------------------------------------------------------------------------------------


@check(
    "booking-created",
    rules=(
        "create-booking/succeeds",
        "create-booking/booking-id",
        "create-booking/echo-slot",
        "create-booking/echo-user",
        "create-booking/status-sync",
        "create-booking/status-async",
        "create-booking/fill-to-capacity",
        "create-booking/failed-retry",
        "update-booking/cancel-frees-spot",
        "update-booking/reschedule-frees-old",
        "create-booking/idempotent-capacity",
        "lease/book-on-lease",
        "http/bad-request-no-effect",
    ),
)
def booking_created(
    ctx: CheckContext, slot: str, user: str | None = None, rule: str = "create-booking/succeeds"
) -> Iterable[Verdict]:
    """Every reply of the step is a booking on ``slot`` (for ``user``, when given)."""
    s = ctx.scenario.slot(slot)
    failed = [r for r in ctx.replies if not is_booking(r)]
    yield _v(
        rule,
        not failed,
        "CreateBooking on an available slot succeeds",
        expected="HTTP 200 with a booking and no booking_failure",
        actual=describe(failed[0]) if failed else None,
        evidence=failed[:3] or None,
    )
    good = [r for r in ctx.replies if is_booking(r)]
    if not good:
        return
    no_id = [r for r in good if not booking_id(r)]
    yield _v(
        "create-booking/booking-id",
        not no_id,
        "the booking has a booking_id",
        expected="a non-empty booking_id",
        actual=describe(no_id[0]) if no_id else None,
        evidence=no_id[:1] or None,
    )
    bad_slot = [(r, m) for r in good if (m := slot_mismatches(dig(r.data, "booking.slot"), s))]
    yield _v(
        "create-booking/echo-slot",
        not bad_slot,
        "the booking echoes the requested slot",
        expected="the requested slot",
        actual="; ".join(bad_slot[0][1]) if bad_slot else None,
        evidence=[bad_slot[0][0]] if bad_slot else None,
    )
    if user is not None:
        want_uid = ctx.scenario.user(user)["user_id"]
        bad_user = [r for r in good if dig(r.data, "booking.user_information.user_id") != want_uid]
        # copies of a ``times``/``concurrent`` step use distinct users: compare each with its own request
        if "${copy}" in user or len(ctx.replies) > 1:
            bad_user = [
                r
                for r in good
                if dig(r.data, "booking.user_information.user_id")
                != dig(r.exchange.request.body or {}, "user_information.user_id")
            ]
        yield _v(
            "create-booking/echo-user",
            not bad_user,
            "the booking echoes the user",
            expected=f"user_information.user_id {want_uid!r}",
            actual=describe(bad_user[0]) if bad_user else None,
            evidence=bad_user[:1] or None,
        )
    want_status = "PENDING_MERCHANT_CONFIRMATION" if s.confirmation_mode == ASYNC else "CONFIRMED"
    status_rule = (
        "create-booking/status-async" if s.confirmation_mode == ASYNC else "create-booking/status-sync"
    )
    bad_status = [
        r for r in good if dig(r.data, "booking.status", "BOOKING_STATUS_UNSPECIFIED") != want_status
    ]
    yield _v(
        status_rule,
        not bad_status,
        f"a new booking on this slot is {want_status}",
        expected=want_status,
        actual=str(dig(bad_status[0].data, "booking.status", "BOOKING_STATUS_UNSPECIFIED"))
        if bad_status
        else None,
        evidence=bad_status[:1] or None,
    )


@check("same-booking-as", rules=("create-booking/idempotent-replay",))
def same_booking_as(
    ctx: CheckContext, step: str, rule: str = "create-booking/idempotent-replay"
) -> Iterable[Verdict]:
    first = ctx.earlier(step)
    want = booking_id(first)
    bad = [r for r in ctx.replies if not is_booking(r) or booking_id(r) != want]
    detail = None
    if not bad:
        keys = ("booking.slot", "booking.status", "booking.user_information.user_id")
        diffs = [k for k in keys for r in ctx.replies if dig(r.data, k) != dig(first.data, k)]
        if diffs:
            bad, detail = list(ctx.replies[:1]), f"differs in {sorted(set(diffs))}"
    yield _v(
        rule,
        not bad,
        "the same request gets the same response",
        expected=f"booking_id {want!r}",
        actual=detail or (describe(bad[0]) if bad else None),
        evidence=bad[:3] or None,
        related=(step,),
    )


@check("repeated-update", rules=("update-booking/idempotent",))
def repeated_update(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """The same UpdateBooking again: the same booking back, or a business failure (HTTP 200) that changed
    nothing. Whether nothing changed is shown by the capacity steps that follow in the scenario."""
    first = ctx.earlier(step)
    r = ctx.reply
    if is_booking(r):
        keys = ("booking.booking_id", "booking.slot.start_sec", "booking.slot.duration_sec", "booking.status")
        diffs = [k for k in keys if dig(r.data, k) != dig(first.data, k)]
        ok, actual = not diffs, (f"differs in {diffs}" if diffs else None)
    else:
        ok, actual = r.status == 200 and failure_cause(r) is not None, describe(r)
    yield _v(
        "update-booking/idempotent",
        ok,
        "the same update repeated has no different effect",
        expected="the same booking, or HTTP 200 with a booking_failure",
        actual=None if ok else actual,
        related=(step,),
    )


@check("all-same-booking", rules=("create-booking/concurrent-replay",))
def all_same_booking(ctx: CheckContext) -> Iterable[Verdict]:
    """Every copy names the same booking. A copy answered 409 (ABORTED, "a concurrency problem", §4) while
    the first was in flight is tolerated: Google retries it; the capacity steps that follow show that only
    one spot was taken."""
    ids = {booking_id(r) for r in ctx.replies if is_booking(r)}
    failed = [r for r in ctx.replies if not is_booking(r) and r.status != CONFLICT]
    ok = len(ids) == 1 and not failed
    yield _v(
        "create-booking/concurrent-replay",
        ok,
        f"{len(ctx.replies)} concurrent copies of one request name one booking",
        expected="every copy answers the same booking_id (409 tolerated)",
        actual=None if ok else f"{len(ids)} distinct booking_ids, {len(failed)} copies without a booking",
        evidence=(failed[:2] + [r for r in ctx.replies if is_booking(r)][:2]) if not ok else None,
    )


@check("not-earlier-booking", rules=("create-booking/new-token-not-earlier-booking",))
def not_earlier_booking(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D10 judges one thing: whether the earlier booking comes back. Any other answer (a new booking, one of
    the refusals D10 allows, or a failure such as SLOT_UNAVAILABLE) is not this rule's symptom: a wrong
    capacity is reported by the capacity scenarios, a wrong status code by the automatic checks."""
    earlier = booking_id(ctx.earlier(step))
    r = ctx.reply
    ok = not (is_booking(r) and booking_id(r) == earlier)
    actual = None if ok else f"the earlier booking {earlier!r} was returned"
    yield _v(
        "create-booking/new-token-not-earlier-booking",
        ok,
        "a new idempotency token never gets the earlier booking back",
        expected="a new booking, or SLOT_ALREADY_BOOKED_BY_USER / OVERLAPPING_RESERVATION",
        actual=actual,
        related=(step,),
    )


@check("count-booked", rules=("create-booking/concurrent-last-spots", "lease/holds-spot"))
def count_booked(
    ctx: CheckContext, exactly: int, rule: str = "create-booking/concurrent-last-spots"
) -> Iterable[Verdict]:
    """Exactly ``exactly`` distinct bookings; the others SLOT_UNAVAILABLE. Copies answered 409 (ABORTED, a
    concurrency conflict, §4) are tolerated and may leave spots unbooked, but never more than ``exactly``."""
    booked = [r for r in ctx.replies if is_booking(r)]
    ids = {booking_id(r) for r in booked}
    refused = [r for r in ctx.replies if not is_booking(r)]
    aborted = [r for r in refused if r.status == CONFLICT]
    refused = [r for r in refused if r.status != CONFLICT]
    bad_refusals = [r for r in refused if not (r.status == 200 and failure_cause(r) == "SLOT_UNAVAILABLE")]
    ok = len(ids) == len(booked) and (len(booked) == exactly or (bool(aborted) and len(booked) < exactly))
    yield _v(
        rule,
        ok,
        f"exactly {exactly} of {len(ctx.replies)} concurrent bookings succeed",
        expected=f"{exactly} bookings, the rest SLOT_UNAVAILABLE",
        actual=None
        if ok
        else f"{len(booked)} bookings ({len(ids)} distinct ids), {len(aborted)} answered 409",
        evidence=(booked[:3] + refused[:1]) if not ok else None,
    )
    if refused:
        yield from expect_business_failure(
            "create-booking/full-slot-unavailable",
            bad_refusals or refused[:1],
            ("SLOT_UNAVAILABLE",),
            "the refused bookings fail with SLOT_UNAVAILABLE",
        )


@check("unique-booking-ids", rules=("create-booking/unique-booking-id",))
def unique_booking_ids(ctx: CheckContext, steps: list[str]) -> Iterable[Verdict]:
    ids: list[str] = []
    for st in steps:
        ids += [booking_id(r) for r in ctx.scenario.step_replies(st) if is_booking(r)]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    yield _v(
        "create-booking/unique-booking-id",
        not dup,
        "distinct bookings have distinct booking_ids",
        expected="no repeated booking_id",
        actual=f"repeated: {dup[:3]}" if dup else None,
        related=tuple(steps),
    )


# ------------------------------------------------------------------------------------------------------
# UpdateBooking
# ------------------------------------------------------------------------------------------------------


@check("cancelled", rules=("update-booking/cancel",))
def cancelled(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    ok = is_booking(r) and booking_id(r) == want and dig(r.data, "booking.status") == "CANCELED"
    yield _v(
        "update-booking/cancel",
        ok,
        "the cancel returns the booking with status CANCELED",
        expected=f"HTTP 200, booking {want!r} with status CANCELED",
        actual=None if ok else describe(r),
        related=(step,),
    )


@check("recancel", rules=("update-booking/recancel",))
def recancel(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    if r.status == 200 and failure_cause(r) == "BOOKING_ALREADY_CANCELLED":
        ok = True
    else:
        ok = is_booking(r) and booking_id(r) == want and dig(r.data, "booking.status") == "CANCELED"
    yield _v(
        "update-booking/recancel",
        ok,
        "a second cancel is refused or echoes the cancelled booking",
        expected="HTTP 200 with BOOKING_ALREADY_CANCELLED, or the booking still CANCELED",
        actual=None if ok else describe(r),
        related=(step,),
    )


@check("rescheduled", rules=("update-booking/reschedule",))
def rescheduled(ctx: CheckContext, step: str, slot: str) -> Iterable[Verdict]:
    first = ctx.earlier(step)
    s = ctx.scenario.slot(slot)
    r = ctx.reply
    problems: list[str] = []
    if not is_booking(r):
        problems.append(describe(r))
    else:
        if booking_id(r) != booking_id(first):
            problems.append(f"booking_id {booking_id(r)!r} (want {booking_id(first)!r})")
        problems += slot_mismatches(dig(r.data, "booking.slot"), s)
        want_status = dig(first.data, "booking.status")
        allowed = {want_status}
        if want_status == "PENDING_MERCHANT_CONFIRMATION":
            allowed.add("CONFIRMED")  # an asynchronous booking may have been confirmed meanwhile (D18)
        if dig(r.data, "booking.status") not in allowed:
            problems.append(f"status {dig(r.data, 'booking.status')!r} (want {want_status!r})")
    yield _v(
        "update-booking/reschedule",
        not problems,
        "the rescheduled booking keeps its id and status and shows the new slot",
        expected=f"booking {booking_id(first)!r} at start_sec {s.start_sec}, status unchanged",
        actual="; ".join(problems) or None,
        related=(step,),
    )


@check("party-size-changed", rules=("update-booking/party-size",))
def party_size_changed(ctx: CheckContext, step: str, party_size: int) -> Iterable[Verdict]:
    r = ctx.reply
    want = booking_id(ctx.earlier(step))
    got = dig(r.data, "booking.slot.resources.party_size", 0)
    ok = is_booking(r) and booking_id(r) == want and got == party_size
    yield _v(
        "update-booking/party-size",
        ok,
        "the booking shows the new party size",
        expected=f"booking {want!r} with party_size {party_size}",
        actual=None if ok else describe(r),
        related=(step,),
    )


# ------------------------------------------------------------------------------------------------------
# GetBookingStatus / ListBookings
# ------------------------------------------------------------------------------------------------------


@check(
    "booking-status",
    rules=("get-booking-status/known", "get-booking-status/after-cancel", "get-booking-status/async"),
)
def booking_status(
    ctx: CheckContext, step: str, status: list[str], rule: str = "get-booking-status/known"
) -> Iterable[Verdict]:
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    got = dig(r.data, "booking_status", "BOOKING_STATUS_UNSPECIFIED")
    ok = r.status == 200 and dig(r.data, "booking_id") == want and got in status
    yield _v(
        rule,
        ok,
        "GetBookingStatus reports the booking's current status",
        expected=f"HTTP 200, booking_id {want!r}, booking_status in {status}",
        actual=None if ok else describe(r),
        related=(step,),
    )


def _listed(reply: Reply) -> list[dict[str, Any]]:
    items = reply.data.get("bookings") or []
    return [b for b in items if isinstance(b, dict)] if isinstance(items, list) else []


@check(
    "list-bookings",
    rules=("list-bookings/contains-active", "list-bookings/isolation", "list-bookings/cancelled"),
)
def list_bookings(
    ctx: CheckContext,
    user: str,
    active: list[str],
    others: list[str] | None = None,
    cancelled: list[str] | None = None,
) -> Iterable[Verdict]:
    """``active``/``others``/``cancelled``: steps whose booking belongs to the user / to other users / was
    cancelled (still the user's)."""
    r = ctx.reply
    related = tuple(active) + tuple(others or ()) + tuple(cancelled or ())
    if r.status != 200:
        yield _v(
            "list-bookings/contains-active",
            False,
            "ListBookings answers 200 for a user with bookings",
            expected="HTTP 200 with the user's bookings",
            actual=describe(r),
            related=related,
        )
        return
    listed = _listed(r)
    by_id = {str(b.get("booking_id", "")): b for b in listed}
    want = {booking_id(ctx.earlier(s)) for s in active}
    missing = sorted(want - set(by_id))
    yield _v(
        "list-bookings/contains-active",
        not missing,
        "every active booking of the user is listed",
        expected=f"contains {sorted(want)}",
        actual=f"missing {missing}" if missing else None,
        related=related,
    )
    uid = ctx.scenario.user(user)["user_id"]
    foreign = {booking_id(ctx.earlier(s)) for s in (others or [])}
    leaked = sorted(i for i in by_id if i in foreign)
    leaked += sorted(
        str(b.get("booking_id")) for b in listed if dig(b, "user_information.user_id") not in (None, "", uid)
    )
    yield _v(
        "list-bookings/isolation",
        not leaked,
        "nothing of other users is listed",
        expected=f"only bookings of user {uid}",
        actual=f"foreign bookings {sorted(set(leaked))}" if leaked else None,
        related=related,
    )
    for s in cancelled or []:
        bid = booking_id(ctx.earlier(s))
        b = by_id.get(bid)
        ok = b is None or dig(b, "status") == "CANCELED"
        yield _v(
            "list-bookings/cancelled",
            ok,
            "a cancelled booking is absent or listed as CANCELED",
            expected="absent, or status CANCELED",
            actual=None if ok else f"listed with status {dig(b, 'status')!r}",
            related=related,
        )


@check("list-unknown-user", rules=("list-bookings/unknown-user",))
def list_unknown_user(ctx: CheckContext) -> Iterable[Verdict]:
    r = ctx.reply
    ok = r.status == 404 or (r.status == 200 and not _listed(r))
    yield _v(
        "list-bookings/unknown-user",
        ok,
        "an unknown user has an empty list (or 404)",
        expected="HTTP 200 with no bookings, or HTTP 404",
        actual=None if ok else describe(r),
    )


# ------------------------------------------------------------------------------------------------------
# Leases
# ------------------------------------------------------------------------------------------------------


def lease_of(reply: Reply) -> dict[str, Any]:
    lease = reply.data.get("lease")
    return lease if isinstance(lease, dict) else {}


@check("lease-created", rules=("lease/created", "lease/expiration-set", "lease/echo"))
def lease_created(ctx: CheckContext, slot: str, now: int) -> Iterable[Verdict]:
    r = ctx.reply
    lease = lease_of(r)
    ok = r.status == 200 and bool(lease.get("lease_id")) and failure_cause(r) is None
    yield _v(
        "lease/created",
        ok,
        "CreateLease returns a lease with a lease_id",
        expected="HTTP 200, lease.lease_id set",
        actual=None if ok else describe(r),
    )
    if not ok:
        return
    exp = dig(lease, "lease_expiration_time_sec", 0)
    ok_exp = isinstance(exp, int) and exp > now
    yield _v(
        "lease/expiration-set",
        ok_exp,
        "lease_expiration_time_sec is set, in the future",
        expected=f"> {now}",
        actual=str(exp),
    )
    asked = (ctx.request or {}).get("lease") or {}
    problems = slot_mismatches(lease.get("slot"), ctx.scenario.slot(slot))
    if lease.get("user_reference") != asked.get("user_reference"):
        problems.append(
            f"user_reference={lease.get('user_reference')!r} (want {asked.get('user_reference')!r})"
        )
    yield _v(
        "lease/echo",
        not problems,
        "the lease echoes the slot and user_reference",
        expected="slot and user_reference as requested",
        actual="; ".join(problems) or None,
    )


@check("same-lease-as", rules=("lease/idempotent-user-reference",))
def same_lease_as(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    want = lease_of(ctx.earlier(step)).get("lease_id")
    r = ctx.reply
    ok = r.status == 200 and lease_of(r).get("lease_id") == want
    yield _v(
        "lease/idempotent-user-reference",
        ok,
        "the same user_reference gets the same lease",
        expected=f"lease_id {want!r}",
        actual=None if ok else describe(r),
        related=(step,),
    )
