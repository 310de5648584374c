"""The core of the checks: what a check is, how it is registered, and the helpers every family shares.

A check is a small function that judges replies against rules of the catalogue (``scenarios/rules.yaml``).
It is registered with the rule ids it may report::

    @check("booking-created", rules=("create-booking/succeeds", "create-booking/booking-id", ...))
    def booking_created(ctx: CheckContext, slot: str, user: str | None = None) -> Iterable[Verdict]: ...

and is named from scenario files (``expect: [{booking-created: {slot: a, user: alice}}]``). It returns
verdicts for passes too, so reports can say which rules were exercised.

Registration is checked when it happens: :func:`check` raises :class:`CheckRegistrationError` for a rule id
that ``rules.yaml`` does not list or lists as excluded, so a wrong id fails at import, not in a partner's run.
The rules of the automatic checks and latency budgets are checked the same way when this module loads.

*Automatic* checks (:func:`auto_checks`) run on every reply of every step: response schema, content type,
latency budget, business-failure shape, and credentials accepted.

Checks see normalised bodies (:mod:`harness.normalize`): snake_case names, int64 as int, enum names, absent
fields read through ``dig`` as their default. That is how they accept every encoding §11 D12-D14 allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from booking_protocol.feed import FeedSlot
from harness.catalogue import rules_by_id
from harness.normalize import dig
from harness.results import Rule
from harness.schemas import schema_errors
from harness.target_base import Reply

#: Latency budgets of spec §1.2 (ms), and the rule each one enforces.
BUDGETS_MS = {
    "BatchAvailabilityLookup": (1500.0, "latency/batch-availability-lookup"),
    "CheckAvailability": (5000.0, "latency/check-availability"),
    "CreateBooking": (4000.0, "latency/create-booking"),
    "UpdateBooking": (4000.0, "latency/update-booking"),
    "CreateLease": (5000.0, "latency/create-lease"),
}
#: Rules that :func:`auto_checks` and :func:`expect_business_failure` report besides the latency budgets.
AUTO_RULES = (
    "auth/valid-credentials-accepted",
    "json/response-schema",
    "json/content-type",
    "failure/other-fields-unset",
    "failure/cause-specified",
    "failure/http-200",
)
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
    """What one check call judges: the replies (and request) of one step, and a view of its scenario."""

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


#: Every registered check by name (filled when :mod:`harness.checks` imports its family modules).
REGISTRY: dict[str, RegisteredCheck] = {}


class CheckRegistrationError(ValueError):
    """A check registered wrongly (a bug of bookcheck or of a plug-in), raised at import: a rule id that the
    catalogue does not list or lists as excluded, or a check name registered twice."""


def rule_problems(
    owner: str, rule_ids: Iterable[str], catalogue: Mapping[str, Rule] | None = None
) -> list[str]:
    """Why ``owner`` may not report ``rule_ids``: each id missing from ``rules.yaml`` or excluded there."""
    known = rules_by_id() if catalogue is None else catalogue
    problems = []
    for r in rule_ids:
        if r not in known:
            problems.append(f"{owner} reports rule {r!r}, which is not in rules.yaml")
        elif known[r].excluded:
            problems.append(f"{owner} reports rule {r!r}, which rules.yaml lists as excluded")
    return problems


def check(
    name: str,
    *,
    rules: Sequence[str] = (),
    generic_rule: bool = False,
    registry: dict[str, RegisteredCheck] | None = None,
    catalogue: Mapping[str, Rule] | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as check ``name`` reporting ``rules`` (into :data:`REGISTRY` unless
    ``registry`` is given). Raises :class:`CheckRegistrationError` at once for a rule id that the catalogue
    (``rules.yaml``, or ``catalogue`` when given) does not list or excludes."""
    into = REGISTRY if registry is None else registry
    problems = rule_problems(f"check {name!r}", rules, catalogue)
    if problems:
        raise CheckRegistrationError("; ".join(problems))

    def deco(fn: CheckFn) -> CheckFn:
        if name in into:
            raise CheckRegistrationError(f"check {name!r} registered twice")
        into[name] = RegisteredCheck(name, tuple(rules), fn, generic_rule)
        return fn

    return deco


def verify_registry() -> list[str]:
    """Problems with the registry: rule ids that the catalogue does not list (none once imported: registration
    refuses them; kept for callers that register by other means)."""
    problems = []
    for c in REGISTRY.values():
        problems += rule_problems(f"check {c.name!r}", c.rules)
    for op, (_ms, r) in BUDGETS_MS.items():
        problems += rule_problems(f"the latency budget of {op}", [r])
    problems += rule_problems("the automatic checks", AUTO_RULES)
    return problems


def _verify_builtin_rules() -> None:
    """The rules reported without a ``@check`` (budgets, automatic checks) are checked at import as well."""
    problems = [
        p for op, (_ms, r) in BUDGETS_MS.items() for p in rule_problems(f"the latency budget of {op}", [r])
    ]
    problems += rule_problems("the automatic checks", AUTO_RULES)
    if problems:
        raise CheckRegistrationError("; ".join(problems))


_verify_builtin_rules()


# ------------------------------------------------------------------------------------------------------
# helpers shared by the families
# ------------------------------------------------------------------------------------------------------


def describe(reply: Reply) -> str:
    if reply.status is None:
        return f"no response ({reply.exchange.error})"
    body = reply.raw
    text = repr(body) if not isinstance(body, str) else body
    if len(text) > 300:
        text = text[:300] + "..."
    return f"HTTP {reply.status} {text}"


def symptom(reply: Reply) -> str:
    """What a reply did, in a few words, for the first half of a deviation message ("CreateBooking
    succeeded (booking b-3, CONFIRMED)", "UpdateBooking failed with SLOT_UNAVAILABLE", "... HTTP 500")."""
    op = reply.exchange.operation or "the call"
    if reply.status is None:
        return f"{op} got no response ({reply.exchange.error})"
    cause = failure_cause(reply)
    if reply.status == 200 and cause is not None:
        return f"{op} failed with {cause}"
    for key in ("booking", "lease"):
        obj = reply.data.get(key) if reply.ok else None
        if isinstance(obj, dict):
            ident = obj.get(f"{key}_id") or "(no id)"
            state = obj.get("status")
            return f"{op} succeeded ({key} {ident}" + (f", {state})" if state else ")")
    return f"{op} answered HTTP {reply.status}"


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


def verdict(
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
    yield verdict(
        rule,
        not bad,
        what,
        expected=f"HTTP 200 with booking_failure {' or '.join(causes)}",
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )
    yield verdict(
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
            verdict(
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
            verdict(
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
            verdict(
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
        verdict(
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
            verdict(
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
            verdict(
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
            verdict(
                "failure/cause-specified",
                cause not in ("CAUSE_UNSPECIFIED", "0", None),
                "booking_failure.cause is a specific cause",
                expected="not CAUSE_UNSPECIFIED",
                actual=str(cause),
                evidence=[reply],
            )
        )
    return out
