"""What each fault profile is expected to break: the data behind the self-test matrix, the traceability test
and docs/faults.md, in one place.

A :class:`Case` is one ``--fault`` value and the **exact** set of rule ids a harness run against a server
with that fault must report as FAIL or WARN (over the default suite, or the scenarios in ``only``; a
``payments`` case runs on a feed directory with money in it, with ``--allow-payments`` and the generated
payment fixtures, over the payment, offer and virtual-session scenarios only). Most
profiles break exactly one rule. Where one misbehaviour is legitimately seen by several rules, all of them are
listed and ``why`` says why — so a profile that starts tripping an unrelated rule shows up as a mismatch.

The rule ids are plain strings: the mock server never imports the harness; the traceability test checks
them against ``scenarios/rules.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import PROFILES
from .spec import split_spec


@dataclass(frozen=True)
class Case:
    fault: str
    breaks: frozenset[str]
    why: str = ""
    #: the target profile's availability method for this run ("check" runs the CheckAvailability scenario)
    availability: str = "bal"
    #: scenario ids to run instead of the default suite (for slow cases); empty = the default suite
    only: tuple[str, ...] = ()
    #: expected set over gRPC, when the case is also run there (None: not run over gRPC)
    grpc: frozenset[str] | None = None
    #: run on the payment feed directory with ``--allow-payments`` (issue 15); ``only`` empty = the payment,
    #: offer and virtual-session scenarios
    payments: bool = False
    #: why the harness does not catch this fault yet (the matrix then expects the case to fail, strictly, so
    #: it turns red the day the harness catches it and the gap note can go); "" for every normal case
    gap: str = ""

    @property
    def profile(self) -> str:
        return split_spec(self.fault).name


def _c(
    fault: str,
    *rules: str,
    why: str = "",
    availability: str = "bal",
    only: tuple[str, ...] = (),
    grpc: bool | tuple[str, ...] = False,
    payments: bool = False,
    gap: str = "",
) -> Case:
    breaks = frozenset(rules)
    over_grpc = None if grpc is False else (breaks if grpc is True else frozenset(grpc))
    return Case(fault, breaks, why, availability, only, over_grpc, payments, gap)


def _p(
    fault: str,
    *rules: str,
    why: str = "",
    only: tuple[str, ...] = (),
    grpc: bool | tuple[str, ...] = False,
    gap: str = "",
    availability: str = "bal",
) -> Case:
    """A case of issue 15: the payment feed, ``--allow-payments``, the payment scenarios (or ``only``)."""
    return _c(fault, *rules, why=why, only=only, grpc=grpc, payments=True, gap=gap, availability=availability)


_BUSINESS_FAILURE_RULES = (
    "create-booking/full-slot-unavailable",
    "create-booking/invalid-slot",
    "lease/expired",
    "lease/holds-spot",
    "lease/unavailable-slot",
    "update-booking/recancel",
    "update-booking/reschedule-full-slot",
    "update-booking/reschedule-takes-new",
)
_EVERY_FAILURE = (
    "every scenario that expects a specific business failure (full slot, duplicate, lease, "
    "re-cancel, full reschedule target, unknown slot) sees the wrong answer"
)

CASES: tuple[Case, ...] = (
    # --- transport, HealthCheck, authentication ------------------------------------------------------------
    _c("health-fail", "health/ok", grpc=True),
    _c(
        "reject-valid-auth@ListBookings",
        "auth/valid-credentials-accepted",
        "list-bookings/contains-active",
        "list-bookings/unknown-user",
        why="the refused calls are the ListBookings of the list scenarios",
        grpc=True,
    ),
    _c(
        "reject-valid-auth",
        "auth/valid-credentials-accepted",
        "health/ok",
        why="the refused call is the HealthCheck, so health/ok fails with it",
        grpc=True,
    ),
    _c(
        "no-auth",
        "auth/missing-credentials",
        "auth/wrong-credentials",
        "auth/health-check-protected",
        why="the auth scenarios also probe HealthCheck without and with wrong credentials",
        grpc=True,
    ),
    _c(
        "no-auth=missing",
        "auth/missing-credentials",
        "auth/health-check-protected",
        why="the missing-credentials scenario probes HealthCheck too",
    ),
    _c(
        "no-auth=wrong",
        "auth/wrong-credentials",
        "auth/health-check-protected",
        why="the wrong-credentials scenario probes HealthCheck too",
    ),
    _c("health-unprotected", "auth/health-check-protected", grpc=True),
    _c("auth-403", "auth/status-401"),
    _c("unknown-method-200", "http/unknown-method"),
    _c("malformed-500", "http/malformed-json-400"),
    _c("wrong-type-500", "http/wrong-type-400"),
    _c("missing-required-200", "http/missing-required-400", grpc=True),
    _c("missing-required-500", "http/missing-required-400", grpc=True),
    _c("bad-request-takes-spot", "http/bad-request-no-effect", grpc=True),
    _c("content-type-text", "json/content-type"),
    _c("invalid-enum", "json/response-schema"),
    _c(
        "int64-not-numeric",
        "json/response-schema",
        "create-booking/echo-slot",
        why="the answer's duration is not the booked one, so the echo check sees it too",
    ),
    # --- latency budgets -----------------------------------------------------------------------------------
    _c("slow-bal", "latency/batch-availability-lookup", grpc=True),
    _c(
        "latency=fixed:4.1s@CreateBooking", "latency/create-booking", only=("create-booking/echo",), grpc=True
    ),
    _c(
        "latency=fixed:4.1s@UpdateBooking", "latency/update-booking", only=("update-booking/unknown-booking",)
    ),
    _c("latency=fixed:5.1s@CreateLease", "latency/create-lease", only=("lease/full-slot",)),
    _c(
        "latency=fixed:5.1s@CheckAvailability",
        "latency/check-availability",
        availability="check",
        only=("check-availability/open-and-full",),
    ),
    # --- business failures ---------------------------------------------------------------------------------
    _c(
        "cause-unspecified",
        "failure/cause-specified",
        *_BUSINESS_FAILURE_RULES,
        why=_EVERY_FAILURE,
        grpc=True,
    ),
    _c(
        "cause-unspecified@CreateLease",
        "failure/cause-specified",
        "lease/unavailable-slot",
        why="the only CreateLease failure of the suite is lease/full-slot, which expects SLOT_UNAVAILABLE",
    ),
    _c("business-as-http-error", "failure/http-200", *_BUSINESS_FAILURE_RULES, why=_EVERY_FAILURE, grpc=True),
    _c(
        "business-as-http-error@CreateLease",
        "failure/http-200",
        "lease/unavailable-slot",
        why="lease/full-slot judges its CreateLease failure under both rules",
    ),
    _c("failure-with-booking", "failure/other-fields-unset", grpc=True),
    _c(
        "failure-with-booking@CreateBooking",
        "failure/other-fields-unset",
        "create-booking/invalid-slot",
        "lease/slot-mismatch-refused",
        why="those two rules say a refused CreateBooking makes no booking, and the answer shows one",
    ),
    # --- BatchAvailabilityLookup / CheckAvailability -------------------------------------------------------
    _c(
        "bal-omit-unavailable",
        "bal/one-entry-per-slot-time",
        "bal/echo-slot-time",
        "bal/unknown-slot-unavailable",
        "bal/full-slot-unavailable",
        why="a missing entry also leaves the unknown and the full SlotTime without their available=false",
        grpc=True,
    ),
    _c(
        "bal-extra-entry",
        "bal/one-entry-per-slot-time",
        "bal/echo-slot-time",
        why="an extra entry makes the answer not a one-to-one echo of the request",
    ),
    _c("bal-no-echo", "bal/echo-slot-time"),
    _c("bal-reverse-order", "bal/request-order"),
    _c("bal-truncate", "bal/open-slot-available", grpc=True),
    _c("bal-unknown-available", "bal/unknown-slot-unavailable", grpc=True),
    _c("bal-full-available", "bal/full-slot-unavailable", grpc=True),
    _c("bal-stale-cache", "bal/freed-slot-available"),
    _c("bal-single-service", "bal/across-services"),
    _c("check-no-echo", "check-availability/echo-slot", availability="check", grpc=True),
    _c("check-zero", "check-availability/open-count", availability="check"),
    _c("check-total", "check-availability/full-count", availability="check"),
    # --- CreateBooking -------------------------------------------------------------------------------------
    _c("async-unsupported", "create-booking/succeeds"),
    _c("empty-booking-id=async", "create-booking/booking-id"),
    _c("duplicate-booking-id", "create-booking/unique-booking-id"),
    _c("echo-local-time", "create-booking/echo-slot"),
    _c("echo-no-user", "create-booking/echo-user"),
    _c("sync-as-pending", "create-booking/status-sync"),
    _c("async-as-confirmed", "create-booking/status-async"),
    _c(
        "replay-new-booking",
        "create-booking/idempotent-replay",
        "create-booking/concurrent-replay",
        "create-booking/in-flight-copies-converge",
        "create-booking/token-other-body",
        "create-booking/replay-after-cancel",
        "create-booking/replay-after-reschedule",
        why="every resent token is treated as new: sequential and concurrent replays, the resend after the "
        "copies, resends with another body (D24) and resends after a cancel or reschedule (D26)",
        grpc=True,
    ),
    _c(
        "replay-takes-spot",
        "create-booking/idempotent-capacity",
        "create-booking/token-other-body",
        why="a resent token takes a spot: after an identical resend, and after one with another user (D24)",
    ),
    _c("race-replay", "create-booking/concurrent-replay", grpc=True),
    _c("dedupe-returns-earlier", "create-booking/new-token-not-earlier-booking"),
    _c(
        "capacity-off-by-one",
        "create-booking/fill-to-capacity",
        "create-booking/succeeds",
        "create-booking/idempotent-capacity",
        "create-booking/concurrent-last-spots",
        "http/bad-request-no-effect",
        "bal/available-is-bookable",
        "create-booking/token-other-body",
        why="every scenario that fills a slot as its own check loses its last spot (a 1-spot slot cannot be "
        "booked at all), though BAL says available (D31); where a fill only prepares a scenario (full-slot "
        "BAL, lease or reschedule), that scenario is not judged",
    ),
    _c(
        "overbook",
        "create-booking/full-slot-unavailable",
        "create-booking/concurrent-last-spots",
        "update-booking/reschedule-full-slot",
        "update-booking/reschedule-takes-new",
        "lease/holds-spot",
        why="every scenario that books one more than the open spots gets a booking, not SLOT_UNAVAILABLE",
        grpc=True,
    ),
    _c("race-overbook", "create-booking/concurrent-last-spots", grpc=True),
    _c("sticky-failure", "create-booking/failed-retry", grpc=True),
    _c("unknown-slot-500", "create-booking/invalid-slot"),
    _c(
        "int64-strings-400",
        "json/accepts-int64-strings",
        "create-booking/succeeds",
        "create-booking/fill-to-capacity",
        "create-booking/idempotent-capacity",
        "create-booking/idempotent-replay",
        "create-booking/concurrent-replay",
        "create-booking/concurrent-last-spots",
        "create-booking/full-slot-unavailable",
        "http/bad-request-no-effect",
        "failure/http-200",
        "bal/one-entry-per-slot-time",
        "bal/open-slot-available",
        "bal/unknown-slot-unavailable",
        "bal/across-services",
        "lease/created",
        "lease/holds-spot",
        "lease/idempotent-user-reference",
        why="the harness sends int64 as strings (as Google does) in every request, so almost nothing works "
        "(scenarios whose setup bookings fail are not judged)",
    ),
    # --- leases --------------------------------------------------------------------------------------------
    _c(
        "lease-unsupported",
        "lease/created",
        "lease/holds-spot",
        "lease/unavailable-slot",
        "lease/idempotent-user-reference",
        "failure/http-200",
        why="no lease can be made: nothing holds the last spot, and the full-slot lease gets an HTTP error",
    ),
    _c(
        "lease-no-expiration-time",
        "lease/expiration-set",
        "lease/expired",
        why="without an expiry the lease-expiry scenario waits only ~1 s and books on a lease that is still "
        "held (the server kept its longest hold), so LEASE_EXPIRED does not come",
    ),
    _c("lease-echo-wrong", "lease/echo"),
    _c("lease-replay-new", "lease/idempotent-user-reference"),
    _c("lease-not-holding", "lease/holds-spot", grpc=True),
    _c("lease-booking-refused", "lease/book-on-lease"),
    _c("lease-slot-unchecked", "lease/slot-mismatch-refused"),
    _c("lease-no-expiry", "lease/expired", grpc=True),
    _c("lease-overbook", "lease/unavailable-slot"),
    # --- UpdateBooking -------------------------------------------------------------------------------------
    _c(
        "cancel-wrong-status",
        "update-booking/cancel",
        "update-booking/whole-booking-cancel",
        why="both UpdateBooking forms cancel (D27)",
    ),
    _c(
        "cancel-no-release",
        "update-booking/cancel-frees-spot",
        "create-booking/failed-retry",
        "bal/freed-slot-available",
        "update-booking/whole-booking-cancel",
        why="four scenarios rely on a cancel freeing a spot: rebooking it, retrying a failed booking, BAL, "
        "and the whole-booking cancel (D27)",
        grpc=True,
    ),
    _c("recancel-error", "update-booking/recancel"),
    _c("recancel-error=409", "update-booking/recancel", grpc=True),
    _c(
        "unknown-booking-500",
        "update-booking/unknown-booking",
        "get-booking-status/unknown",
        why="the profile applies to both methods that take a booking_id",
        grpc=True,
    ),
    _c("unknown-booking-500@UpdateBooking", "update-booking/unknown-booking"),
    _c("unknown-booking-500@GetBookingStatus", "get-booking-status/unknown"),
    _c(
        "reschedule-echo-old",
        "update-booking/reschedule",
        "update-booking/whole-booking-reschedule",
        why="both UpdateBooking forms reschedule (D27)",
    ),
    _c(
        "reschedule-keeps-old",
        "update-booking/reschedule-frees-old",
        "update-booking/whole-booking-reschedule",
        why="both UpdateBooking forms reschedule (D27)",
        grpc=True,
    ),
    _c("reschedule-no-take", "update-booking/reschedule-takes-new"),
    _c("reschedule-overbook", "update-booking/reschedule-full-slot"),
    _c("reschedule-not-idempotent", "update-booking/idempotent"),
    _c(
        "reschedule-new-id",
        "update-booking/reschedule",
        "update-booking/whole-booking-reschedule",
        why="both UpdateBooking forms reschedule (D27)",
        grpc=True,
    ),
    _c(
        "party-size-ignored",
        "update-booking/party-size",
        "update-booking/whole-booking-party-size",
        why="both UpdateBooking forms change the party size (D27)",
    ),
    # --- GetBookingStatus / ListBookings -------------------------------------------------------------------
    _c("status-unmapped", "get-booking-status/known"),
    _c("status-stale-cancel", "get-booking-status/after-cancel"),
    _c("async-status-failed", "get-booking-status/async"),
    _c("list-empty", "list-bookings/contains-active"),
    _c("list-leaks-users", "list-bookings/isolation", grpc=True),
    _c("list-cancelled-as-confirmed", "list-bookings/cancelled"),
    _c("unknown-user-500", "list-bookings/unknown-user"),
    # --- issue 11: idempotency tokens (D24-D26) and the whole-booking UpdateBooking form (D27) ------------
    _c("token-other-body-books", "create-booking/token-other-body", grpc=True),
    _c("in-flight-conflict", "create-booking/in-flight-copy-transient"),
    _c(
        "in-flight-no-converge",
        "create-booking/in-flight-copy-transient",
        "create-booking/in-flight-copies-converge",
        why="the copies get a transient 503 (a warning) and the resend never gets the booking",
        grpc=True,
    ),
    _c("replay-after-cancel-books", "create-booking/replay-after-cancel", grpc=True),
    _c("replay-after-reschedule-books", "create-booking/replay-after-reschedule"),
    _c("whole-cancel-ignored", "update-booking/whole-booking-cancel"),
    _c("whole-reschedule-refused", "update-booking/whole-booking-reschedule", grpc=True),
    _c("whole-party-size-ignored", "update-booking/whole-booking-party-size"),
    _c(
        "capacity-off-by-one@CreateBooking",
        "check-availability/available-is-bookable",
        availability="check",
        only=("check-availability/available-is-bookable",),
        why="CheckAvailability counts the last spot that CreateBooking refuses (false availability, D31)",
    ),
    # --- issue 15: payments, offers, virtual sessions (§3.12, §3.13, D32-D54; mock_server.faults.payments) --
    _p("payment-processed-by-google", "payments/processed-by", grpc=True),
    _p("payment-status-not-provided", "payments/prepaid-status", grpc=True),
    _p("payment-no-transaction-id", "payments/transaction-id", grpc=True),
    _p("payment-echo-wrong-price", "payments/price-echo", grpc=True),
    _p("price-mismatch-500", "payments/price-mismatch", grpc=True),
    # the declined scenario tries three failing cards on one slot: once the first blocked it, the next two
    # get SLOT_UNAVAILABLE (payments/card-declined sees that too); these two scenarios fail one card each
    _p(
        "payment-failure-takes-spot",
        "payments/no-side-effects",
        only=("payments/card-type-rejected", "payments/price-mismatch"),
        grpc=True,
    ),
    # one spot kept per failure is invisible to the rebooking of a slot with several spots: the count of
    # CheckAvailability before and after the failures shows it (a target that claims only BAL cannot)
    _p(
        "payment-failure-takes-spot=1",
        "payments/no-side-effects",
        availability="check",
        only=("payments/declined", "payments/card-type-rejected", "payments/price-mismatch"),
        grpc=True,
    ),
    _p("card-type-rejected-without-type", "payments/card-type-rejected-type", grpc=True),
    _p("card-declined-500", "payments/card-declined", grpc=True),
    _p("3ds1-without-parameters", "payments/3ds1-parameters", grpc=True),
    _p("payment-replay-new-charge", "payments/replay-same-transaction", grpc=True),
    _p("refund-status-unchanged", "payments/refund-status", grpc=True),
    _p("refund-status-reset", "payments/refund-status", grpc=True),
    _p("payment-status-stale", "payments/status-consistent", grpc=True),
    _p("upo-id-mismatch", "payments/upo-id-match", grpc=True),
    _p("upo-count-unchanged", "payments/upo-count", grpc=True),
    _p("upo-no-credit-on-cancel", "payments/upo-credit-on-cancel", grpc=True),
    _p("unusable-option-payment-error", "payments/unusable-option", grpc=True),
    _p("reschedule-new-transaction", "payments/reschedule-keeps-payment", grpc=True),
    _p(
        "payment-latency=15.2s,first=1",
        "payments/latency-with-payment",
        only=("payments/prepaid-lifecycle",),
        grpc=True,
    ),
    _p("offer-info-wrong-id", "offers/applied", grpc=True),
    _p("offer-unavailable-as-deal", "offers/unavailable", grpc=True),
    _p("offer-before-slot", "offers/slot-precedence", grpc=True),
    _p("virtual-url-relative", "virtual/session-info-shape", grpc=True),
    _p("virtual-url-changes-on-replay", "virtual/stable-on-replay", grpc=True),
)


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    kind: str
    summary: str
    args: str
    transports: tuple[str, ...]
    default_methods: tuple[str, ...] | None
    cases: tuple[Case, ...] = field(default=())

    @property
    def breaks(self) -> frozenset[str]:
        """Every rule any case of this profile breaks."""
        return frozenset().union(*(c.breaks for c in self.cases)) if self.cases else frozenset()


def profiles() -> list[ProfileInfo]:
    """Every registered profile with its self-test cases, sorted by kind then name (for docs and tests)."""
    out = []
    for name, cls in PROFILES.items():
        cases = tuple(c for c in CASES if c.profile == name)
        methods = tuple(sorted(cls.default_methods)) if cls.default_methods is not None else None
        out.append(ProfileInfo(name, cls.kind, cls.summary, cls.args_help, cls.transports, methods, cases))
    return sorted(out, key=lambda p: (p.kind != "chaos", p.name))


def rules_broken() -> frozenset[str]:
    return frozenset().union(*(c.breaks for c in CASES))


def _code_list(text: str) -> str:
    return " or ".join(f"`{t.strip()}`" for t in text.split("|")) if text else ""


def _case_text(c: Case) -> str:
    text = f"`{c.fault}` → " + ", ".join(f"`{r}`" for r in sorted(c.breaks))
    if c.payments:
        text += " (payment feed, `--allow-payments`)"
    if c.availability != "bal":
        text += f" (target profile `availability: {c.availability}`)"
    if c.gap:
        text += f" — **not caught yet**: {c.gap}"
    if c.grpc is not None:
        text += " (self-tested over gRPC too" + ("" if c.grpc == c.breaks else ", with a different set") + ")"
    return text


def markdown_tables() -> str:
    """The profile tables of docs/faults.md (between its ``profiles:begin``/``end`` markers)."""
    lines = ["### Chaos profiles", "", "| profile | arguments | what it does |", "|---|---|---|"]
    infos = profiles()
    for p in (p for p in infos if p.kind == "chaos"):
        lines.append(f"| `{p.name}` | {_code_list(p.args)} | {p.summary} |")
    lines += [
        "",
        "### Spec-violation profiles",
        "",
        "| profile | arguments | applies to | what it does | seen over | the harness reports "
        "(exact set, per `--fault` value) |",
        "|---|---|---|---|---|---|",
    ]
    for p in (p for p in infos if p.kind != "chaos"):
        cases = "<br>".join(_case_text(c) for c in p.cases)
        methods = ", ".join(p.default_methods) if p.default_methods else "all methods"
        seen = " + ".join("REST" if t == "rest" else "gRPC" for t in p.transports)
        lines.append(f"| `{p.name}` | {_code_list(p.args)} | {methods} | {p.summary} | {seen} | {cases} |")
    return "\n".join(lines) + "\n"


def update_docs(path: str) -> None:
    """Replace the generated tables of ``path`` (docs/faults.md) with the current ones."""
    from pathlib import Path

    doc = Path(path)
    text = doc.read_text(encoding="utf-8")
    begin = text.index("-->", text.index("<!-- profiles:begin")) + len("-->\n")
    end = text.index("<!-- profiles:end -->")
    doc.write_text(text[:begin] + markdown_tables() + text[end:], encoding="utf-8")


if __name__ == "__main__":  # python -m mock_server.faults.registry [--update docs/faults.md]
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--update":
        update_docs(sys.argv[2])
    else:
        print(markdown_tables(), end="")
