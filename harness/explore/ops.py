"""The operations of an explored booking history, and the Hypothesis strategies that draw them.

An operation names things *symbolically*, so a drawn history means the same on any target and after any
shrink: slots by role, users, tokens and lease references by small indices, bookings by their position in
the history's own list of bookings. The driver resolves them per example (:mod:`harness.explore.world`):

==========  =====================================================================================
slot role   meaning
==========  =====================================================================================
``0`` A     the example's main slot (1-5 open spots, synchronous or asynchronous)
``1`` A2    another start of A's merchant, service and resources (the reschedule target)
``2`` B     a slot of another service of the same merchant (BatchAvailabilityLookup across services)
``3`` P     another party size of A (dining; the party-size-change target)
``-1``      a start time of A's merchant and service that the feed does not have (D9)
==========  =====================================================================================

A booking index ``b`` means "the (b mod n)-th booking the model holds", so shrinking towards 0 keeps an
operation meaningful; an operation whose reference cannot be resolved (no booking yet, no reschedule target
for that booking) is *skipped* and shown as such — shrinking then drops it.

Strategies put the simplest operation first: Hypothesis shrinks ``one_of`` towards its first branch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from hypothesis import strategies as st

from harness.profile import LEASE_EXPIRY_MARGIN_SEC, TargetProfile

ROLE_A, ROLE_A2, ROLE_B, ROLE_P, ROLE_UNKNOWN = 0, 1, 2, 3, -1
ROLE_NAMES = {ROLE_A: "a", ROLE_A2: "a2", ROLE_B: "b", ROLE_P: "p", ROLE_UNKNOWN: "a?"}
USERS, TOKENS, LEASES = 3, 6, 2
#: Seconds ahead a short lease asks to expire (a Wait then takes about this long against a real target).
SHORT_LEASE_SEC = 2
#: A wait outlasts the expiry by this much (why: :data:`harness.profile.LEASE_EXPIRY_MARGIN_SEC`).
EXPIRY_MARGIN_SEC = LEASE_EXPIRY_MARGIN_SEC


@dataclass(frozen=True)
class Book:
    """CreateBooking of ``slot`` for ``user`` under ``token`` (a used token: a resend, maybe another body)."""

    slot: int
    user: int
    token: int


@dataclass(frozen=True)
class BookOnLease:
    """CreateBooking with lease_ref of lease ``lease`` (the (lease mod n)-th granted in the history);
    ``mismatch``: on slot B instead of the leased slot."""

    lease: int
    user: int
    token: int
    mismatch: bool = False


@dataclass(frozen=True)
class Lease:
    """CreateLease of ``slot`` with user_reference ``ref`` (a used ref: a resend); ``short``: asking for an
    expiry :data:`SHORT_LEASE_SEC` ahead instead of 5 minutes, so that a :class:`Wait` can outlast it."""

    slot: int
    ref: int
    short: bool = False


@dataclass(frozen=True)
class Wait:
    """Wait until every short lease of the history has expired (by the model's clock: moved on at once when
    it can be, as in the test suite; real seconds against a real target)."""


@dataclass(frozen=True)
class Cancel:
    """Cancel a booking of the history, or (``booking`` = -1) an id the target never issued (D5);
    ``whole``: send the whole booking back with status CANCELED (D27)."""

    booking: int
    whole: bool = False


@dataclass(frozen=True)
class Reschedule:
    """Move a booking on A to A2 (or back); ``whole``: send the whole booking back with changes (D27);
    ``repeat``: send the booking's current start again (a repeated reschedule has no further effect, §3.2)."""

    booking: int
    whole: bool = False
    repeat: bool = False


@dataclass(frozen=True)
class PartySize:
    """Change a booking on A to P's party size (or back); ``whole``: send the whole booking back with the
    new party size (D27)."""

    booking: int
    whole: bool = False


@dataclass(frozen=True)
class Status:
    """GetBookingStatus of a booking, or of an id the target never issued (``booking`` = -1)."""

    booking: int


@dataclass(frozen=True)
class ListUser:
    user: int


@dataclass(frozen=True)
class Bal:
    """BatchAvailabilityLookup of these roles (one request, in this order)."""

    slots: tuple[int, ...]


@dataclass(frozen=True)
class Count:
    """CheckAvailability of one role."""

    slot: int


Op = Book | BookOnLease | Lease | Wait | Cancel | Reschedule | PartySize | Status | ListUser | Bal | Count

OPERATION_OF = {
    Book: "CreateBooking",
    BookOnLease: "CreateBooking",
    Lease: "CreateLease",
    Wait: "Wait",
    Cancel: "UpdateBooking",
    Reschedule: "UpdateBooking",
    PartySize: "UpdateBooking",
    Status: "GetBookingStatus",
    ListUser: "ListBookings",
    Bal: "BatchAvailabilityLookup",
    Count: "CheckAvailability",
}


def operation(op: Op) -> str:
    """The API method an operation calls."""
    return OPERATION_OF[type(op)]


def describe(op: Op) -> str:
    """One line naming an operation in the history's own terms (slot roles, u0, t1, booking #0)."""
    if isinstance(op, Book):
        return f"CreateBooking slot {ROLE_NAMES[op.slot]} user u{op.user} token t{op.token}"
    if isinstance(op, BookOnLease):
        where = "slot b (not the leased slot)" if op.mismatch else "the leased slot"
        return f"CreateBooking on lease #{op.lease} ({where}) user u{op.user} token t{op.token}"
    if isinstance(op, Lease):
        short = f", expiring in {SHORT_LEASE_SEC} s" if op.short else ""
        return f"CreateLease slot {ROLE_NAMES[op.slot]} user_reference l{op.ref}{short}"
    if isinstance(op, Wait):
        return "wait until the short leases have expired"
    if isinstance(op, Cancel):
        if op.booking < 0:
            return "UpdateBooking cancel of an unknown id"
        return f"UpdateBooking cancel booking #{op.booking}" + (" (whole booking form)" if op.whole else "")
    if isinstance(op, Reschedule):
        form = "whole booking" if op.whole else "short"
        again = ", to where it is (a repeat)" if op.repeat else ""
        return f"UpdateBooking reschedule booking #{op.booking} ({form} form{again})"
    if isinstance(op, PartySize):
        form = " (whole booking form)" if op.whole else ""
        return f"UpdateBooking party size of booking #{op.booking}{form}"
    if isinstance(op, Status):
        return (
            "GetBookingStatus of an unknown id"
            if op.booking < 0
            else f"GetBookingStatus booking #{op.booking}"
        )
    if isinstance(op, ListUser):
        return f"ListBookings user u{op.user}"
    if isinstance(op, Bal):
        return "BatchAvailabilityLookup " + ", ".join(ROLE_NAMES[s] for s in op.slots)
    return f"CheckAvailability slot {ROLE_NAMES[op.slot]}"


def roles_used(ops: list[Op]) -> set[int]:
    """Slot roles an example needs allocated (A always: every other role is defined relative to it)."""
    roles = {ROLE_A}
    for op in ops:
        if isinstance(op, (Book, Lease, Count)):
            roles.add(op.slot)
        elif isinstance(op, Bal):
            roles.update(op.slots)
        elif isinstance(op, Reschedule):
            roles.add(ROLE_A2)
        elif isinstance(op, PartySize):
            roles.add(ROLE_P)
        elif isinstance(op, BookOnLease) and op.mismatch:
            roles.add(ROLE_B)
    roles.discard(ROLE_UNKNOWN)
    return roles


#: How often each kind is drawn (out of the kinds the profile claims): most operations act on a booking.
WEIGHTS = {
    "book": 8,
    "cancel": 3,
    "reschedule": 2,
    "status": 2,
    "list": 2,
    "bal": 3,
    "count": 2,
    "lease": 2,
    "book-lease": 2,
    "wait": 1,
    "party": 2,
}
#: Kinds switched on and off together by swarm testing (a booking on a lease needs a lease first).
SWARM_GROUP = {"book-lease": "lease", "wait": "lease"}


def _kinds(profile: TargetProfile) -> list[str]:
    claimed = {
        "book": True,
        "cancel": True,
        "reschedule": True,
        "status": profile.get_booking_status,
        "list": profile.list_bookings,
        "bal": profile.claims("bal"),
        "count": profile.claims("check_availability"),
        "lease": profile.leases,
        "book-lease": profile.leases,
        "wait": profile.leases,
        "party": profile.party_size_change,
    }
    return [k for k, w in WEIGHTS.items() if claimed[k] for _ in range(w)]


@functools.lru_cache(maxsize=4096)
def operations(profile: TargetProfile, enabled: frozenset[str] | None = None) -> st.SearchStrategy[Op]:
    """One operation, drawn only from the capabilities ``profile`` claims (and from ``enabled`` kinds).

    CreateBooking is drawn most often (most other operations act on a booking) and slot A most often (so
    capacity runs out within a short history); the simplest choices come first, as Hypothesis shrinks
    towards them. Cached: a history draws its strategy per swarm choice, and building one is costly."""
    user = st.integers(0, USERS - 1)
    token = st.integers(0, TOKENS - 1)
    booking = st.integers(0, 3)
    roles = [ROLE_A, ROLE_A, ROLE_A, ROLE_A2, ROLE_B, ROLE_UNKNOWN] + (
        [ROLE_P] if profile.party_size_change else []
    )
    main = st.sampled_from(roles)
    by_kind: dict[str, st.SearchStrategy[Op]] = {
        "book": st.builds(Book, main, user, token),
        "cancel": st.builds(Cancel, st.integers(-1, 3), st.booleans()),
        "reschedule": st.builds(Reschedule, booking, st.booleans(), st.booleans()),
        "status": st.builds(Status, st.integers(-1, 3)),
        "list": st.builds(ListUser, user),
        "bal": st.builds(
            Bal, st.lists(st.sampled_from(roles[2:]), min_size=1, max_size=4, unique=True).map(tuple)
        ),
        "count": st.builds(Count, main),
        "lease": st.builds(
            Lease, st.sampled_from((ROLE_A, ROLE_B)), st.integers(0, LEASES - 1), st.booleans()
        ),
        "wait": st.just(Wait()),
        "book-lease": st.builds(BookOnLease, st.integers(0, LEASES - 1), user, token, st.booleans()),
        "party": st.builds(PartySize, booking, st.booleans()),
    }
    kinds = [k for k in _kinds(profile) if enabled is None or k == "book" or SWARM_GROUP.get(k, k) in enabled]
    return st.sampled_from(kinds).flatmap(by_kind.__getitem__)


@functools.lru_cache(maxsize=4096)
def _fixed_lists(profile: TargetProfile, enabled: frozenset[str], n: int) -> st.SearchStrategy[list[Op]]:
    return st.lists(operations(profile, enabled), min_size=n, max_size=n)


def histories(profile: TargetProfile, max_steps: int) -> st.SearchStrategy[list[Op]]:
    """A history of 1..``max_steps`` operations.

    Swarm testing (Groce et al., 2012): each history first draws which kinds of operation it leaves out
    (never CreateBooking), so a history is dense in a few kinds — the shape multi-step bugs need, e.g. book,
    availability, cancel, availability. The simplest draw leaves nothing out: Hypothesis starts each search
    from the simplest choices, so its first histories use every kind rather than bookings only. The length
    is drawn uniformly (``sampled_from``: Hypothesis's integers and list lengths lean towards small values)
    and shrinks towards one step."""
    others = sorted(set(_kinds(profile)) - {"book"} - set(SWARM_GROUP))
    swarm = st.lists(st.booleans(), min_size=len(others), max_size=len(others)).map(
        lambda off: frozenset(k for k, b in zip(others, off, strict=True) if not b)
    )

    def build(drawn: tuple[frozenset[str], int]) -> st.SearchStrategy[list[Op]]:
        enabled, n = drawn
        return _fixed_lists(profile, enabled, n)

    return st.tuples(swarm, st.sampled_from(range(1, max_steps + 1))).flatmap(build)
