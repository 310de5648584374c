"""The fault matrix of issue 13 as data: which ``--fault`` values of the reference server break a rule that
explore's operations can observe (and so must be found), and why each other one is out of explore's reach.

Every value of ``mock_server.faults.registry.CASES`` is in exactly one of :data:`REACHABLE` and
:data:`EXCLUDED`, or breaks only rules of a family explore never judges (:data:`EXCLUDED_FAMILIES`);
``test_explore_matrix.py`` checks it, so a new profile must be classified here.

A :class:`Row` also carries the bounded budget under which the suite finds the profile deterministically
(``max_examples`` histories of seed ``seed``; counts, not seconds, so a slow machine finds the same thing),
the rules the same bug may show up under in explore besides the registry's (``also``, with the reason),
and ``fail_on``: ``warning`` for profiles that only break SHOULD-level rules (explore reports those as
warnings by default; ``--fail-on warning`` makes them failures, as a partner would run it to see them).
``bench/explore_matrix.py`` runs the same rows through the real CLI with ``--seed 1 --duration 60``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.profile import TargetProfile

#: A server that claims BatchAvailabilityLookup only (no status, no lists, no leases, no party sizes): its
#: histories are dense in bookings, cancels, reschedules and lookups.
BOOKINGS_ONLY = TargetProfile(availability="bal", get_booking_status=False, list_bookings=False)
#: The same with leases: dense in leases, bookings on them and waits for their expiry.
WITH_LEASES = TargetProfile(availability="bal", leases=True, get_booking_status=False, list_bookings=False)


@dataclass(frozen=True)
class Row:
    fault: str
    #: histories the suite's bounded run may draw before it must have found the profile (seed ``seed``)
    max_examples: int = 40
    seed: int = 1
    fail_on: str = "error"
    #: explore rules the same misbehaviour is named by, besides the registry's ``breaks`` (reason in ``why``)
    also: frozenset[str] = field(default_factory=frozenset)
    why: str = ""
    #: the most steps the shrunk history may have (8: the issue's bound for single-step bugs)
    max_steps_shrunk: int = 8
    #: shrink executions of the suite's run (Hypothesis's shrinking, then the one-minimal pass)
    shrink_executions: int = 20
    #: the answers take seconds (latency profiles): the suite stops at the first slow answer, unshrunk
    slow: bool = False
    #: what the target claims, in the suite's bounded run (None: everything explore can use); a narrower
    #: claim makes the few kinds a multi-step bug needs dense enough for a small budget
    profile: TargetProfile | None = None


_NO_REQUEST_SHAPES = (
    "explore sends only well-formed, authenticated requests; malformed, mistyped, incomplete and "
    "unauthenticated requests are bookcheck run's (http/*, auth/*)"
)
_HEALTH = "explore judges no HealthCheck: its one HealthCheck is the reachability probe before the run"

#: rule families explore's operations never judge -> why; a fault value whose every rule is in these families
#: is excluded for that reason (the families grow with the registry: payments, offers, online sessions)
EXCLUDED_FAMILIES: dict[str, str] = {
    "payments/": "explore draws no payment: no prepaid slots, payment options, refunds or stored cards",
    "offers/": "explore draws no offers: its bookings name no offer_id",
    "virtual/": "explore's bookings carry no virtual session: its feeds have no online services",
}


def excluded_family(breaks: frozenset[str]) -> str | None:
    """The reason a fault breaking ``breaks`` is out of reach as a family, or None."""
    reasons = {next((r for f, r in EXCLUDED_FAMILIES.items() if rule.startswith(f)), None) for rule in breaks}
    return reasons.pop() if len(reasons) == 1 and None not in reasons else None


#: fault value -> why explore's operations cannot observe the rules it breaks
EXCLUDED: dict[str, str] = {
    "health-fail": _HEALTH,
    "reject-valid-auth": _HEALTH + " (this profile refuses only the HealthCheck by default)",
    "no-auth": _NO_REQUEST_SHAPES,
    "no-auth=missing": _NO_REQUEST_SHAPES,
    "no-auth=wrong": _NO_REQUEST_SHAPES,
    "health-unprotected": _NO_REQUEST_SHAPES,
    "auth-403": _NO_REQUEST_SHAPES,
    "unknown-method-200": "explore calls only the API's methods",
    "malformed-500": _NO_REQUEST_SHAPES,
    "wrong-type-500": _NO_REQUEST_SHAPES,
    "missing-required-200": _NO_REQUEST_SHAPES,
    "missing-required-500": _NO_REQUEST_SHAPES,
    "bad-request-takes-spot": _NO_REQUEST_SHAPES,
    "in-flight-conflict": (
        "needs copies of one CreateBooking in flight at the same moment: sequential histories send one "
        "request at a time, and --concurrency checks linearizability, where a transient 503 to a copy is "
        "an allowed (unknown) outcome"
    ),
    "in-flight-no-converge": (
        "as in-flight-conflict: the copies' transient answers are allowed outcomes of a concurrent history, "
        "and the resend-after-copies scenario is bookcheck run's"
    ),
    "race-replay": (
        "a race between concurrent copies of one request: found by --concurrency 8, whose history checker "
        "names the copies (test_concurrency.py); a sequential history never has two requests in flight"
    ),
    "race-overbook": (
        "a race for the last spot: found by --concurrency 8 (test_concurrency.py); a sequential history "
        "never has two requests in flight"
    ),
    "async-status-failed": (
        "breaks get-booking-status/async, a MAY-level rule: explore counts it among the notes, but a MAY "
        "never fails a run"
    ),
}

#: the profiles explore must find, each with a seed and a budget of histories that find it: the first seed of
#: 1, 2, ... that finds it within 60 histories (100 or 150 where 60 were not enough). The budget is part of
#: what is drawn (Hypothesis sizes its first histories by it), so it stays as measured; a run stops at the
#: first finding and its shrinking, so a larger budget costs nothing where the profile is found early.
REACHABLE: tuple[Row, ...] = (
    Row("reject-valid-auth@ListBookings", max_examples=60),
    Row("content-type-text", max_examples=60, fail_on="warning"),
    Row("invalid-enum", max_examples=60),
    Row("int64-not-numeric", max_examples=60),
    Row("slow-bal", slow=True, max_examples=30),
    Row("latency=fixed:4.1s@CreateBooking", slow=True, max_examples=30),
    Row("latency=fixed:4.1s@UpdateBooking", slow=True, max_examples=30),
    Row("latency=fixed:5.1s@CreateLease", slow=True, max_examples=30),
    Row("latency=fixed:5.1s@CheckAvailability", slow=True, max_examples=30, seed=4),
    Row("cause-unspecified", max_examples=60),
    Row("cause-unspecified@CreateLease", max_examples=60),
    Row("business-as-http-error", max_examples=60),
    Row("business-as-http-error@CreateLease", max_examples=60),
    Row("failure-with-booking", max_examples=60),
    Row("failure-with-booking@CreateBooking", max_examples=60),
    Row("bal-omit-unavailable", max_examples=60),
    Row("bal-extra-entry", max_examples=60),
    Row("bal-no-echo", max_examples=60),
    Row("bal-reverse-order", max_examples=60, fail_on="warning"),
    Row(
        "bal-truncate",
        max_examples=60,
        also=frozenset({"bal/across-services"}),
        why="a dropped entry for the other service's slot is named by the rule for lookups across services",
    ),
    Row("bal-unknown-available", max_examples=60),
    Row("bal-full-available", max_examples=60),
    Row("bal-stale-cache", max_examples=100, profile=BOOKINGS_ONLY),
    Row("bal-single-service", max_examples=60),
    Row("check-no-echo", max_examples=60),
    Row("check-zero", max_examples=60),
    Row("check-total", max_examples=60, seed=2),
    Row("async-unsupported", max_examples=60),
    Row("empty-booking-id=async", max_examples=60),
    Row("duplicate-booking-id", max_examples=60),
    Row("echo-local-time", max_examples=60),
    Row("echo-no-user", max_examples=60),
    Row("sync-as-pending", max_examples=60),
    Row("async-as-confirmed", max_examples=60),
    Row("replay-new-booking", max_examples=60),
    Row(
        "replay-takes-spot",
        max_examples=60,
        also=frozenset({"lease/created"}),
        why="the spot the resend took is missing when a lease asks for it next",
    ),
    Row("dedupe-returns-earlier", max_examples=60),
    Row("capacity-off-by-one", max_examples=60),
    Row("overbook", max_examples=60),
    Row("sticky-failure", max_examples=60),
    Row("unknown-slot-500", max_examples=60),
    Row("int64-strings-400", max_examples=60),
    Row("lease-unsupported", max_examples=60),
    Row("lease-no-expiration-time", max_examples=60),
    Row("lease-echo-wrong", max_examples=60),
    Row("lease-replay-new", max_examples=60),
    Row(
        "lease-not-holding",
        max_examples=60,
        seed=5,
        also=frozenset({"bal/full-slot-unavailable", "check-availability/full-count"}),
        why="availability shows the spot the lease holds as open before any booking tries it",
    ),
    Row("lease-booking-refused", max_examples=60),
    Row("lease-slot-unchecked", max_examples=60, seed=5),
    Row("lease-no-expiry", max_examples=100, profile=WITH_LEASES),
    Row("lease-overbook", max_examples=60),
    Row("cancel-wrong-status", max_examples=60),
    Row("cancel-no-release", max_examples=60, seed=4),
    Row("recancel-error", max_examples=60, seed=3),
    Row("recancel-error=409", max_examples=60, seed=3),
    Row("unknown-booking-500", max_examples=60),
    Row("unknown-booking-500@UpdateBooking", max_examples=60),
    Row("unknown-booking-500@GetBookingStatus", max_examples=100, seed=6),
    Row("reschedule-echo-old", max_examples=60),
    Row(
        "reschedule-keeps-old",
        max_examples=60,
        seed=4,
        also=frozenset({"bal/freed-slot-available", "create-booking/failed-retry"}),
        why="the old slot's spot is not given back: a lookup, or a retry of a token refused there, shows it",
    ),
    Row("reschedule-no-take", max_examples=60, seed=3),
    Row(
        "reschedule-overbook",
        max_examples=60,
        seed=2,
        also=frozenset({"lease/holds-spot"}),
        why="when a lease holds the new slot's last spot, the move into it breaks the lease's hold",
    ),
    Row("reschedule-not-idempotent", max_examples=60, seed=2),
    Row("reschedule-new-id", max_examples=60),
    Row("party-size-ignored", max_examples=60, seed=3),
    Row("status-unmapped", max_examples=60),
    Row("status-stale-cancel", max_examples=60),
    Row("list-empty", max_examples=60, seed=2),
    Row("list-leaks-users", max_examples=60),
    Row("list-cancelled-as-confirmed", max_examples=60),
    Row("unknown-user-500", max_examples=60),
    Row("token-other-body-books", max_examples=60),
    Row(
        "replay-after-cancel-books",
        max_examples=60,
        seed=3,
        also=frozenset({"create-booking/token-other-body"}),
        why="a resend after the cancel with another body gets a second booking too",
    ),
    Row(
        "replay-after-reschedule-books",
        max_examples=100,
        seed=6,
        profile=BOOKINGS_ONLY,
        also=frozenset({"create-booking/token-other-body"}),
        why="a resend after the reschedule with another body gets a second booking too",
    ),
    Row("whole-cancel-ignored", max_examples=60),
    Row("whole-reschedule-refused", max_examples=150),
    Row("whole-party-size-ignored", max_examples=60, seed=3, shrink_executions=40),
    Row(
        "capacity-off-by-one@CreateBooking",
        max_examples=60,
        also=frozenset({"create-booking/succeeds", "create-booking/fill-to-capacity"}),
        why="explore books the last spot itself: the refusal shows at CreateBooking (as capacity-off-by-one)",
    ),
)

ROWS = {r.fault: r for r in REACHABLE}
