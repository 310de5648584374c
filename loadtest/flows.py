"""What one simulated Google user does: the actions of the mix, over any transport.

This module runs inside Locust's worker processes (gevent). It knows nothing of Locust: a :class:`Caller`
(REST or gRPC, in :mod:`loadtest.users`) sends one request and times it; :class:`Flows` decides what to send
(bodies come from the harness's pure builders, :func:`harness.templates.slot_json` and ``slot_time_json``),
classifies every answer the way Google counts it, and writes what the audit will need into the process's
:class:`Recorder` (bookings made, resent tokens, rushes, false availability).

Slots are spread so that load does not just exhaust capacity, and so that availability can be judged: each
user owns a shard of the plan's slots (books, cancels and reschedules only there) and keeps its own count of
open spots. Page loads read any slot. A rush is the one place where users compete on purpose.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from booking_protocol.feed import FeedSlot
from harness.templates import slot_json, slot_time_json
from loadtest.plan import LoadPlan
from loadtest.thresholds import BUSINESS_FAILURE_IS_ERROR, budget_ms

LIVE = ("CONFIRMED", "PENDING_MERCHANT_CONFIRMATION")


@dataclass
class Answer:
    method: str
    status: int | None  # HTTP status (gRPC codes mapped as the harness maps them); None: no answer
    data: dict[str, Any]
    ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None

    @property
    def cause(self) -> str | None:
        """The booking_failure cause of a 200 answer (None when there is none)."""
        failure = field_of(self.data, "booking_failure")
        if not isinstance(failure, dict):
            return None
        return str(field_of(failure, "cause") or "CAUSE_UNSPECIFIED")

    def summary(self) -> dict[str, Any]:
        return {"status": self.status, "ms": round(self.ms, 1), "error": self.error, "body": self.data}


class Caller(Protocol):
    def call(self, method: str, body: dict[str, Any] | None) -> Answer: ...


def field_of(d: Any, name: str) -> Any:
    """A field of a proto3 JSON object under its snake_case or lowerCamelCase name."""
    if not isinstance(d, dict):
        return None
    if name in d:
        return d[name]
    head, *rest = name.split("_")
    return d.get(head + "".join(p.capitalize() for p in rest))


@dataclass
class Recorder:
    """Everything a worker process observed since the last report to the master (drained every report)."""

    counters: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    events: dict[str, list[tuple[float, str]]] = field(default_factory=lambda: defaultdict(list))
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def drain(self) -> dict[str, Any]:
        out = {
            "counters": {m: dict(c) for m, c in self.counters.items()},
            "events": {k: list(v) for k, v in self.events.items()},
            "records": {k: list(v) for k, v in self.records.items()},
            "notes": dict(self.notes),
        }
        self.counters.clear()
        self.events.clear()
        self.records.clear()
        self.notes.clear()
        return out


RECORDER = Recorder()


class Ids:
    """Tokens and end-users unique per run, worker and user (the nonce keeps runs apart)."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.n = prefix, 0

    def next(self) -> tuple[str, dict[str, Any]]:
        self.n += 1
        uid = f"{self.prefix}-{self.n}"
        user = {
            "user_id": uid,
            "given_name": "Load",
            "family_name": f"Test{self.n}",
            "telephone": "+1 415-555-0100",
            "email": f"bookcheck+{uid}@example.com",
        }
        return f"tok-{uid}", user


def _group(s: FeedSlot) -> tuple[str, str, str, str, int]:
    return (s.merchant_id, s.service_id, s.staff_id, s.room_id, s.party_size)


class Flows:
    """One simulated user's actions. ``shard``/``shards`` pick the slots it books; ``spawn`` runs a
    function concurrently (gevent in workers) and returns a joinable handle."""

    def __init__(
        self,
        plan: LoadPlan,
        caller: Caller,
        *,
        shard: int,
        shards: int,
        prefix: str,
        spawn: Callable[..., Any],
        recorder: Recorder = RECORDER,
    ) -> None:
        self.plan, self.caller, self.spawn, self.rec = plan, caller, spawn, recorder
        self.rng = random.Random(f"{plan.seed}-{prefix}")
        self.ids = Ids(prefix)
        self.slots = plan.slots
        self.own = [i for i in range(len(self.slots)) if i % max(1, shards) == shard % max(1, shards)]
        self.open = {i: self.slots[i].spots_open for i in self.own}
        self.mine: list[
            dict[str, Any]
        ] = []  # this user's live bookings (an action takes one out while it works)
        self.seen_ids: set[str] = set()
        self.mix = plan.mix
        lo, hi = self.mix.get("page_load_slot_times", [8, 20])
        self.page_bounds = (int(lo), int(hi))

    # ---------------------------------------------------------------------------------------- calls
    def call(self, method: str, body: dict[str, Any] | None, *, contended: bool = False) -> Answer:
        """One request, counted the way Google counts it (transport, HTTP, business, over budget).
        ``contended``: a CreateBooking of a rush, whose SLOT_UNAVAILABLE is the refusal the load provoked on
        purpose (one booking more than the slot has spots): correct behaviour, not a failure of readiness."""
        a = self.caller.call(method, body)
        c = self.rec.counters[method]
        c["requests"] += 1
        if a.status is None:
            c["transport_errors"] += 1
        elif a.status != 200:
            c["http_errors"] += 1
        elif method in BUSINESS_FAILURE_IS_ERROR and a.cause is not None and not _provoked(a, contended):
            c["business_failures"] += 1
        budget = budget_ms(method)
        if budget is not None and a.ms > budget:
            c["slow"] += 1
        return a

    def event(self, kind: str, t: float, code: str) -> None:
        self.rec.events[kind].append((round(t, 3), code))

    @staticmethod
    def code_of(a: Answer, *, business_is_failure: bool = True) -> str:
        budget = budget_ms(a.method)
        if not a.ok or (budget is not None and a.ms > budget):
            return "error"
        return "failure" if business_is_failure and a.cause is not None else "ok"

    # ---------------------------------------------------------------------------------------- actions
    def run(self, action: str) -> None:
        handler = getattr(self, f"do_{action}", None)
        if handler is not None:
            handler()

    def do_health(self) -> None:
        self.call("HealthCheck", None)

    def do_page_load(self) -> None:
        n = self.rng.randint(*self.page_bounds)
        first = self.rng.randrange(len(self.slots))
        merchant = self.slots[first].merchant_id
        chosen = [s for s in self.slots[first : first + n] if s.merchant_id == merchant]
        t = time.time()
        if not self.plan.claims("bal"):
            a = self.call("CheckAvailability", {"slot": slot_json(chosen[0])})
            self.event("page_load", t, self.code_of(a))
            return
        a = self.call(
            "BatchAvailabilityLookup",
            {"merchant_id": merchant, "slot_time": [slot_time_json(s) for s in chosen]},
        )
        entries = field_of(a.data, "slot_time_availability") or []
        code = self.code_of(a)
        if code == "ok" and len(entries) != len(chosen):
            code = "error"
        self.event("page_load", t, code)

    def slot_click(self, idx: int) -> tuple[bool | None, Answer]:
        """Availability of one slot as Google asks it at slot click: (available, answer)."""
        s = self.slots[idx]
        if self.plan.claims("check_availability"):
            a = self.call("CheckAvailability", {"slot": slot_json(s)})
            count = field_of(a.data, "count_available")
            return (int(count or 0) > 0 if a.ok else None), a
        a = self.call(
            "BatchAvailabilityLookup", {"merchant_id": s.merchant_id, "slot_time": [slot_time_json(s)]}
        )
        entries = field_of(a.data, "slot_time_availability") or []
        if not a.ok or len(entries) != 1:
            return None, a
        return bool(field_of(entries[0], "available")), a

    def pick_open(self, *, small: bool = False) -> int | None:
        candidates = [i for i in self.own if self.open[i] > 0]
        if small:
            candidates = [i for i in candidates if self.open[i] <= 3] or candidates
        return self.rng.choice(candidates) if candidates else None

    def do_book(self) -> None:
        idx = self.pick_open()
        if idx is None:
            self.rec.notes["no_open_slot"] += 1
            self.do_page_load()
            return
        self.open[idx] -= 1  # held from the click on, so this user's other actions leave the spot alone
        t = time.time()
        available, click = self.slot_click(idx)
        failed = available is None or self.code_of(click) == "error"
        if available is False and not failed:
            self.open[idx] += 1
            self.event("slot_click", t, "failure")
            self.rec.records["unavailable_at_click"].append({"slot": idx, "t": t, "open": self.open[idx]})
            return
        # a failed or late slot click: Google falls back to the feed's availability and books anyway
        lease_id = self.take_lease(idx) if self.wants_lease() else None
        booking, answer = self.create(idx, lease_id=lease_id)
        if booking is None:
            self.open[idx] += 1
        said_available = available is True and not failed
        if said_available and answer is not None and answer.cause == "SLOT_UNAVAILABLE" and lease_id is None:
            self.open[idx] = 0
            self.rec.notes["false_availability"] += 1
            self.rec.counters[click.method]["false_availability"] += 1
            self.rec.records["false_availability"].append(
                {"slot": idx, "t": t, "click": click.summary(), "create": answer.summary(), "via": "book"}
            )
            self.event("slot_click", t, "error")
            return
        self.event("slot_click", t, "error" if failed else "ok")

    def wants_lease(self) -> bool:
        return self.plan.claims("leases") and self.rng.random() < float(self.mix.get("lease_share", 0))

    def take_lease(self, idx: int) -> str | None:
        token, _ = self.ids.next()
        a = self.call("CreateLease", {"lease": {"slot": slot_json(self.slots[idx]), "user_reference": token}})
        lease = field_of(a.data, "lease")
        return str(field_of(lease, "lease_id") or "") or None if a.ok else None

    def create(
        self, idx: int, *, lease_id: str | None = None, via: str = "book", resend: bool = True
    ) -> tuple[dict[str, Any] | None, Answer | None]:
        """CreateBooking for a new end-user, resent with the same token when Google would resend it."""
        token, user = self.ids.next()
        body: dict[str, Any] = {
            "slot": slot_json(self.slots[idx]),
            "user_information": user,
            "idempotency_token": token,
            "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
        }
        if lease_id:
            body["lease_ref"] = {"lease_id": lease_id}
        rush = via == "rush"
        answers = [self.create_once(body, contended=rush)]
        lost = answers[0].status is None or (answers[0].status or 0) >= 500
        if resend and (lost or self.rng.random() < float(self.mix.get("resend_share", 0))):
            answers.append(self.create_once(body, contended=rush))
            self.rec.records["resends"].append(
                {
                    "token": token,
                    "user_id": user["user_id"],
                    "slot": idx,
                    "reason": "no answer" if lost else "resent",
                    "answers": [a.summary() for a in answers],
                }
            )
        booking = None
        for a in answers:
            b = field_of(a.data, "booking") if a.ok and a.cause is None else None
            if isinstance(b, dict) and field_of(b, "booking_id"):
                booking = booking or b
                self.record_booking(b, idx, token, user["user_id"], via)
        last = answers[-1]
        if booking is None and (last.status is None or last.status >= 500):
            self.rec.records["lost"].append({"token": token, "user_id": user["user_id"], "slot": idx})
        return booking, last

    def create_once(self, body: dict[str, Any], *, contended: bool = False) -> Answer:
        t = time.time()
        a = self.call("CreateBooking", body, contended=contended)
        self.event("create_booking", t, self.code_of(a, business_is_failure=not _provoked(a, contended)))
        return a

    def record_booking(self, b: dict[str, Any], idx: int, token: str, user_id: str, via: str) -> None:
        bid = str(field_of(b, "booking_id"))
        status = str(field_of(b, "status") or "")
        if bid in self.seen_ids:
            return
        self.seen_ids.add(bid)
        entry = {"id": bid, "slot": idx, "token": token, "user_id": user_id, "status": status, "via": via}
        self.rec.records["bookings"].append({**entry, "t": time.time()})
        if status in LIVE or not status:
            self.mine.append(entry)

    def do_rush(self) -> None:
        """Popular slot: one more CreateBooking than it has open spots, all at once, each for another user."""
        idx = self.pick_open(small=True)
        if idx is None:
            self.rec.notes["no_open_slot"] += 1
            return
        open_before = self.open[idx]
        self.open[idx] = 0  # the rush takes every spot; this user's other actions leave the slot alone
        n = open_before + int(self.mix.get("rush_extra", 1))
        handles = [self.spawn(self.create, idx, via="rush") for _ in range(n)]
        results = [h.get() for h in handles]
        booked = [str(field_of(b, "booking_id")) for b, _ in results if b is not None]
        self.open[idx] = max(0, open_before - len(booked))
        self.rec.records["rushes"].append(
            {"slot": idx, "open_before": open_before, "sent": n, "booked": booked, "t": time.time()}
        )

    def pop_booking(self) -> dict[str, Any] | None:
        """One of this user's live bookings, taken out of the list (O(1)) until the action puts it back."""
        if not self.mine:
            return None
        i = self.rng.randrange(len(self.mine))
        self.mine[i], self.mine[-1] = self.mine[-1], self.mine[i]
        return self.mine.pop()

    def update(self, m: dict[str, Any], booking: dict[str, Any], op: str) -> Answer:
        t = time.time()
        a = self.call("UpdateBooking", {"booking": {"booking_id": m["id"], **booking}})
        self.event("update_booking", t, self.code_of(a))
        return a

    def do_cancel(self) -> None:
        m = self.pop_booking()
        if m is None:
            self.do_book()
            return
        a = self.update(m, {"status": "CANCELED"}, "cancel")
        b = field_of(a.data, "booking")
        if a.ok and a.cause is None and str(field_of(b, "status")) == "CANCELED":
            self.open[m["slot"]] += 1
            self.rec.records["updates"].append({"id": m["id"], "op": "cancel", "t": time.time()})
        else:
            self.mine.append(m)

    def do_reschedule(self) -> None:
        m = self.pop_booking()
        if m is None:
            self.do_book()
            return
        group = _group(self.slots[m["slot"]])
        targets = [
            i for i in self.own if self.open[i] > 0 and i != m["slot"] and _group(self.slots[i]) == group
        ]
        if not targets:
            self.mine.append(m)
            self.do_status()
            return
        idx = self.rng.choice(targets)
        self.open[idx] -= 1
        t = time.time()
        available, click = self.slot_click(idx)
        if not available:
            self.open[idx] += 1
            self.event("slot_click", t, "error" if available is None else "failure")
            self.mine.append(m)
            return
        s = self.slots[idx]
        a = self.update(
            m, {"slot": {"start_sec": str(s.start_sec), "duration_sec": str(s.duration_sec)}}, "move"
        )
        b = field_of(a.data, "booking")
        if a.ok and a.cause is None and isinstance(b, dict):
            self.open[m["slot"]] += 1
            self.rec.records["updates"].append(
                {"id": m["id"], "op": "reschedule", "slot": idx, "t": time.time()}
            )
            self.mine.append({**m, "slot": idx})
            self.event("slot_click", t, "ok")
            return
        self.open[idx] += 1
        self.mine.append(m)
        if a.cause == "SLOT_UNAVAILABLE":
            self.open[idx] = 0
            self.rec.counters[click.method]["false_availability"] += 1
            self.rec.records["false_availability"].append(
                {"slot": idx, "t": t, "click": click.summary(), "create": a.summary(), "via": "reschedule"}
            )
            self.event("slot_click", t, "error")
            return
        self.event("slot_click", t, "ok")

    def do_status(self) -> None:
        if not self.plan.claims("get_booking_status") or not self.mine:
            self.do_page_load()
            return
        self.call("GetBookingStatus", {"booking_id": self.rng.choice(self.mine)["id"]})

    def do_list(self) -> None:
        if not self.plan.claims("list_bookings") or not self.mine:
            self.do_page_load()
            return
        self.call("ListBookings", {"user_id": self.rng.choice(self.mine)["user_id"]})


def _provoked(a: Answer, contended: bool) -> bool:
    """The SLOT_UNAVAILABLE of a rush: the load asked for one booking more than the slot has spots."""
    return contended and a.cause == "SLOT_UNAVAILABLE"
