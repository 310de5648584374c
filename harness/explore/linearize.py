"""Linearizability of concurrent booking histories, per slot (Wing & Gong's search with Lowe's
memoisation, the algorithm Porcupine implements).

A history is a list of :class:`HOp`: who called what on which slot, what came back, and when the call
started and ended. It is *linearizable* when every operation can be given one instant between its call and
its return such that, in that order, the answers are exactly those of the sequential model. Operations whose
answer never came (a timeout, a reset connection) end at infinity and may have taken effect or not.

The sequential model of one slot (:func:`step`) is the domain's rule set for the operations a concurrent run
issues (CreateBooking with a fresh or a resent token, cancel, availability reads), written as a pure
function over an immutable state so the search can memoise states; ``tests/explore`` checks it against
``mock_server.domain`` on random sequential histories. Slots share no state, so the history is split by
slot (as Porcupine's partitioning does) and each part searched alone.

When a part is not linearizable, :func:`check` reports the *smallest window* it could find: starting from
the state the deepest successful search reached, a set of operations that cannot be put in any order
consistent with their timing, minimised by removing operations one at a time while it still fails.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

BOOKED, FAILED, CANCELLED, ALREADY, AVAILABLE, UNKNOWN, REFUSED = (
    "booked",
    "failed",
    "cancelled",
    "already",
    "available",
    "unknown",
    "refused",
)
#: Transient answers to a copy of an in-flight CreateBooking (D25): allowed, no effect.
TRANSIENT = frozenset({409, 429, 503})


@dataclass(frozen=True)
class HOp:
    """One operation of a concurrent history.

    ``kind``: ``book`` (``arg`` = token), ``cancel`` (``arg`` = booking id) or ``read`` (``arg`` = "").
    ``result``: ``(BOOKED, booking_id)``, ``(FAILED, cause)``, ``(REFUSED, http_status)``,
    ``(CANCELLED, "")``, ``(ALREADY, "")``, ``(AVAILABLE, "true"/"false")`` or ``(UNKNOWN, why)``.
    """

    id: int
    client: int
    slot: int
    kind: str
    arg: str
    result: tuple[str, str]
    call: float
    ret: float
    text: str = ""

    @property
    def pending(self) -> bool:
        return self.result[0] == UNKNOWN


@dataclass(frozen=True)
class State:
    """One slot: open spots, the booking of each token ("?" when a timed-out call may have made one), live
    and cancelled bookings."""

    open: int
    tokens: frozenset[tuple[str, str]] = frozenset()
    live: frozenset[str] = frozenset()
    cancelled: frozenset[str] = frozenset()

    def booking_of(self, token: str) -> str | None:
        return next((b for t, b in self.tokens if t == token), None)

    def describe(self) -> str:
        return f"{self.open} open spot(s), {len(self.live)} live booking(s)"


def step(s: State, op: HOp) -> Iterator[State]:
    """Every state ``op`` may lead to from ``s`` (none: its answer is impossible in ``s``)."""
    kind, (res, value) = op.kind, op.result
    if kind == "read":
        if res == UNKNOWN or value == ("true" if s.open > 0 else "false"):
            yield s
        return
    if kind == "book":
        yield from _book(s, op.arg, res, value)
        return
    yield from _cancel(s, op.arg, res)


def _book(s: State, token: str, res: str, value: str) -> Iterator[State]:
    known = s.booking_of(token)
    if res == REFUSED and int(value) in TRANSIENT:
        yield s
        return
    if known is not None:  # a resend: the same booking, no new spot
        if res == UNKNOWN or (res == BOOKED and (value == known or known == "?")):
            yield s
        return
    if res == UNKNOWN:
        yield s  # never applied
        if s.open > 0:
            yield State(s.open - 1, s.tokens | {(token, "?")}, s.live | {f"?{token}"}, s.cancelled)
        return
    if res == BOOKED and s.open > 0 and value not in s.live and value not in s.cancelled:
        yield State(s.open - 1, s.tokens | {(token, value)}, s.live | {value}, s.cancelled)
    elif res == FAILED and value == "SLOT_UNAVAILABLE" and s.open == 0:
        yield s


def _cancel(s: State, booking: str, res: str) -> Iterator[State]:
    if booking in s.live:
        after = State(s.open + 1, s.tokens, s.live - {booking}, s.cancelled | {booking})
        if res in (CANCELLED, UNKNOWN):
            yield after
        if res == UNKNOWN:
            yield s
    elif booking in s.cancelled and res in (CANCELLED, ALREADY, UNKNOWN):
        yield s


@dataclass
class SlotVerdict:
    slot: int
    ok: bool
    ops: int
    window: list[HOp] = field(default_factory=list)
    start: State | None = None
    linearized: int = 0
    #: the operations that made the bookings live at ``start`` (shown before the window)
    context: list[HOp] = field(default_factory=list)


@dataclass
class _Deepest:
    """The furthest the search got: the ops it ordered (in order), the state before each, what was left."""

    path: list[int] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    mask: int = 0


def _search(ops: Sequence[HOp], start: State, deadline: float) -> tuple[bool, _Deepest]:
    """Wing-Gong DFS with memoisation of (linearized set, state)."""
    n = len(ops)
    full = (1 << n) - 1
    order = sorted(range(n), key=lambda i: ops[i].call)
    rets = [ops[i].ret for i in range(n)]

    def options(mask: int, state: State) -> Iterator[tuple[int, State]]:
        rest = [i for i in order if not mask >> i & 1]
        bound = min(rets[i] for i in rest)
        for i in rest:
            if ops[i].call > bound:
                break
            for nxt in step(state, ops[i]):
                yield i, nxt

    deepest = _Deepest(states=[start])
    if n == 0:
        return True, deepest
    seen: set[tuple[int, State]] = set()
    stack: list[tuple[int, State, Iterator[tuple[int, State]], int]] = [(0, start, options(0, start), -1)]
    while stack:
        if time.monotonic() > deadline:
            raise TimeoutError("the linearizability search ran out of time")
        mask, state, it, _ = stack[-1]
        for i, nxt in it:
            nm = mask | 1 << i
            if (nm, nxt) in seen:
                continue
            seen.add((nm, nxt))
            if nm == full:
                return True, deepest
            stack.append((nm, nxt, options(nm, nxt), i))
            if len(stack) - 1 > len(deepest.path):
                deepest = _Deepest([e[3] for e in stack[1:]], [e[1] for e in stack], nm)
            break
        else:
            stack.pop()
    return False, deepest


def _window(ops: Sequence[HOp], deepest: _Deepest, deadline: float) -> tuple[list[HOp], State]:
    """The smallest set of operations around the point where the search got stuck that still cannot be
    ordered, and the state before them.

    The window starts at the first operation the search had ordered that overlaps in time with one it could
    not order (so the conflicting operations are all inside, and the state before them is forced), and is
    then minimised (:func:`_minimise`)."""
    left = [op for i, op in enumerate(ops) if not deepest.mask >> i & 1]
    p = len(deepest.path)  # move the start back while an ordered operation overlaps the window
    while p > 0 and ops[deepest.path[p - 1]].ret >= min(
        [op.call for op in left] + [ops[i].call for i in deepest.path[p:]]
    ):
        p -= 1
    start = deepest.states[p]
    rest = sorted([ops[i] for i in deepest.path[p:]] + left, key=lambda op: op.call)
    return _minimise(rest, start, deadline), start


def _minimise(rest: list[HOp], start: State, deadline: float) -> list[HOp]:
    """Drop operations (constraints first, then bookings, then a booking with its cancel) while what is
    left still cannot be ordered from ``start``, until nothing more can go."""
    changed = True
    while changed:
        changed = False
        for op in sorted(rest, key=lambda h: (h.result[0] in (BOOKED, CANCELLED), h.call)):
            trial = [h for h in rest if h is not op]
            if _safe_to_drop(op, trial) and trial and not _search(trial, start, deadline)[0]:
                rest, changed = trial, True
                break
        if changed:
            continue
        for cancel in [h for h in rest if h.kind == "cancel" and h.result[0] == CANCELLED]:
            made = [h for h in rest if h.result == (BOOKED, cancel.arg)]
            trial = [h for h in rest if h is not cancel and h not in made]
            if made and trial and _pair_safe(trial) and not _search(trial, start, deadline)[0]:
                rest, changed = trial, True
                break
    return rest


def _pair_safe(rest: Sequence[HOp]) -> bool:
    """A booking and its cancel may go together when nothing left needs the slot to be full."""
    return not any(h.result == (FAILED, "SLOT_UNAVAILABLE") or h.result == (AVAILABLE, "false") for h in rest)


def _safe_to_drop(op: HOp, rest: Sequence[HOp]) -> bool:
    """Whether leaving ``op`` out can only make ``rest`` *easier* to order, so a failure without it is real.

    Constraints (reads, refusals, unknown answers, repeated cancels) always qualify. A booking qualifies when
    nothing left needs the slot to be full (no SLOT_UNAVAILABLE, no "unavailable" read) and nothing cancels
    it; a cancel when nothing left needs the spot it gave back (no booking, no "available" read)."""
    res = op.result[0]
    if res == BOOKED:
        if any(h.result == op.result and h.arg == op.arg for h in rest):
            return True  # a copy of the same request stays: the booking is still made
        return not any(
            (h.result == (FAILED, "SLOT_UNAVAILABLE"))
            or h.result == (AVAILABLE, "false")
            or (h.kind == "cancel" and h.arg == op.result[1])
            for h in rest
        )
    if res == CANCELLED:
        return not any(h.result[0] == BOOKED or h.result == (AVAILABLE, "true") for h in rest)
    return True


def check(
    history: Sequence[HOp], initial_open: dict[int, int], *, budget_sec: float = 30.0
) -> list[SlotVerdict]:
    """Check each slot's part of ``history`` from ``initial_open[slot]`` open spots."""
    deadline = time.monotonic() + budget_sec
    out = []
    for slot in sorted({op.slot for op in history}):
        part = [op for op in history if op.slot == slot]
        start = State(initial_open[slot])
        ok, deepest = _search(part, start, deadline)
        verdict = SlotVerdict(slot, ok, len(part), linearized=len(part) if ok else len(deepest.path))
        if not ok:
            verdict.window, verdict.start = _window(part, deepest, deadline)
            live = verdict.start.live
            verdict.context = [
                h for h in part if h.result[0] == BOOKED and h.result[1] in live and h not in verdict.window
            ]
        out.append(verdict)
    return out


def never_returned(call: float) -> float:
    """The return time of an operation whose answer never came."""
    del call
    return math.inf
