"""Correctness under load: the audit after the run (and after an interrupt), then the cleanup.

It runs in the ``bookcheck load`` process, outside gevent, with the harness's own asyncio targets, on what
the workers recorded. With the load stopped it asks the target:

- every resent token produced exactly one booking: both answers name the same booking, and the end-user
  (each booking has its own) holds one booking in ListBookings (``create-booking/idempotent-replay``,
  ``create-booking/idempotent-capacity``);
- every live booking is still known to GetBookingStatus, where the profile claims it
  (``get-booking-status/known``);
- no slot holds more bookings than its capacity in the feed (``create-booking/concurrent-last-spots`` when a
  rush overfilled it, ``create-booking/full-slot-unavailable`` otherwise);
- availability agrees with booking: slot clicks answered available whose booking then failed with
  SLOT_UNAVAILABLE (``create-booking/succeeds``), and a lookup of every touched slot now, with nothing else
  running, against what the run left in it (``bal/open-slot-available``, ``bal/full-slot-unavailable``).

Every violation is a deviation under the catalogue's rule, with its evidence. Then every booking the run
made is cancelled, as ``run`` does with its ledger.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from harness.catalogue import rule
from harness.targets import Reply, Target
from harness.templates import slot_json, slot_time_json
from loadtest.flows import LIVE, field_of
from loadtest.plan import LoadPlan

CONCURRENCY = 16
BAL_CHUNK = 50


def deviation(rule_id: str, message: str, evidence: dict[str, Any]) -> dict[str, Any]:
    r = rule(rule_id)
    return {
        "rule_id": r.id,
        "level": r.level,
        "severity": r.severity.value,
        "spec": r.spec,
        "rule": r.text,
        "message": message,
        "evidence": evidence,
    }


def exchange(op: str, body: Any, reply: Reply) -> dict[str, Any]:
    return {
        "operation": op,
        "request": body,
        "status": reply.status,
        "response": reply.raw,
        "error": reply.exchange.error,
    }


class Ledger:
    """Every booking the run made, rebuilt from the records: where it is now and whether it was cancelled."""

    def __init__(self, records: dict[str, list[dict[str, Any]]]) -> None:
        self.bookings: dict[str, dict[str, Any]] = {}
        for b in records.get("bookings", []):
            self.bookings.setdefault(b["id"], {**b, "cancelled": False})
        for u in sorted(records.get("updates", []), key=lambda u: u["t"]):
            moved = self.bookings.get(u["id"])
            if moved is None:
                continue
            if u["op"] == "cancel":
                moved["cancelled"] = True
            elif u["op"] == "reschedule":
                moved["slot"] = u["slot"]

    def add(self, bid: str, slot: int, user_id: str, via: str) -> None:
        self.bookings.setdefault(
            bid, {"id": bid, "slot": slot, "user_id": user_id, "status": "", "via": via, "cancelled": False}
        )

    def active(self) -> list[dict[str, Any]]:
        return [
            b for b in self.bookings.values() if not b["cancelled"] and b.get("status", "") in (*LIVE, "")
        ]


class Audit:
    def __init__(self, plan: LoadPlan, target: Target, records: dict[str, list[dict[str, Any]]]) -> None:
        self.plan, self.target, self.records = plan, target, records
        self.ledger = Ledger(records)
        self.deviations: list[dict[str, Any]] = []
        self.checked: dict[str, int] = defaultdict(int)
        self.sem = asyncio.Semaphore(CONCURRENCY)

    async def call(self, op: str, body: Any) -> Reply:
        async with self.sem:
            return await self.target.call(op, body)

    async def run(self) -> dict[str, Any]:
        await self.resent_tokens()
        await self.lost_answers()
        await self.statuses()
        self.capacity()
        self.false_availability()
        await self.availability_now()
        return {
            "bookings_made": len(self.ledger.bookings),
            "resent_tokens": len(self.records.get("resends", [])),
            "rushes": len(self.records.get("rushes", [])),
            "checked": dict(self.checked),
            "deviations": self.deviations,
        }

    async def user_bookings(self, user_id: str) -> tuple[list[dict[str, Any]], Reply]:
        body = {"user_id": user_id}
        reply = await self.call("ListBookings", body)
        found = field_of(reply.data, "bookings") or []
        return [b for b in found if isinstance(b, dict)], reply

    async def resent_tokens(self) -> None:
        for r in self.records.get("resends", []):
            self.checked["resent_tokens"] += 1
            answers = r["answers"]
            ids = []
            for a in answers:
                b = field_of(a["body"], "booking") if a["status"] == 200 else None
                if isinstance(b, dict) and field_of(b, "booking_id"):
                    ids.append(str(field_of(b, "booking_id")))
            first_ok = bool(ids) and answers[0]["status"] == 200 and field_of(answers[0]["body"], "booking")
            second_failed = answers[-1]["status"] == 200 and field_of(answers[-1]["body"], "booking_failure")
            if len(set(ids)) > 1:
                self.deviations.append(
                    deviation(
                        "create-booking/idempotent-capacity",
                        f"CreateBooking resent with token {r['token']} made a duplicate booking: "
                        f"{' and '.join(dict.fromkeys(ids))} for one request",
                        {
                            "token": r["token"],
                            "slot": slot_json(self.plan.slots[r["slot"]]),
                            "answers": answers,
                        },
                    )
                )
            elif first_ok and second_failed:
                self.deviations.append(
                    deviation(
                        "create-booking/idempotent-replay",
                        f"CreateBooking resent with token {r['token']} got a booking_failure instead of the "
                        f"booking {ids[0]} of its first answer",
                        {"token": r["token"], "answers": answers},
                    )
                )
            elif self.plan.claims("list_bookings") and ids:
                await self.one_booking_per_token(r, ids)

    async def one_booking_per_token(self, r: dict[str, Any], ids: list[str]) -> None:
        found, reply = await self.user_bookings(r["user_id"])
        live = [b for b in found if str(field_of(b, "status")) in LIVE]
        for b in found:
            self.ledger.add(str(field_of(b, "booking_id")), r["slot"], r["user_id"], "resend")
        if len(live) > 1:
            self.deviations.append(
                deviation(
                    "create-booking/idempotent-capacity",
                    f"token {r['token']} produced {len(live)} bookings for one end-user: "
                    + ", ".join(str(field_of(b, "booking_id")) for b in live),
                    {
                        "token": r["token"],
                        "slot": slot_json(self.plan.slots[r["slot"]]),
                        "list_bookings": exchange("ListBookings", {"user_id": r["user_id"]}, reply),
                    },
                )
            )

    async def lost_answers(self) -> None:
        """CreateBookings that never got an answer may still have booked: find them to cancel them."""
        if not self.plan.claims("list_bookings"):
            return
        for r in self.records.get("lost", []):
            found, _ = await self.user_bookings(r["user_id"])
            for b in found:
                self.ledger.add(str(field_of(b, "booking_id")), r["slot"], r["user_id"], "lost")

    async def statuses(self) -> None:
        if not self.plan.claims("get_booking_status"):
            return

        async def one(b: dict[str, Any]) -> None:
            body = {"booking_id": b["id"]}
            reply = await self.call("GetBookingStatus", body)
            self.checked["booking_status"] += 1
            status = str(field_of(reply.data, "booking_status") or "")
            if reply.status != 200 or not status:
                self.deviations.append(
                    deviation(
                        "get-booking-status/known",
                        f"booking {b['id']} (made by the run, not cancelled) is unknown to GetBookingStatus",
                        {"booking": b, "get_booking_status": exchange("GetBookingStatus", body, reply)},
                    )
                )
                return
            b["status"] = status

        await asyncio.gather(*(one(b) for b in self.ledger.active()))

    def capacity(self) -> None:
        by_slot: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for b in self.ledger.active():
            by_slot[b["slot"]].append(b)
        rushes = {r["slot"] for r in self.records.get("rushes", [])}
        for idx, held in sorted(by_slot.items()):
            self.checked["slots"] += 1
            s = self.plan.slots[idx]
            if len(held) <= s.spots_open:
                continue
            rule_id = (
                "create-booking/concurrent-last-spots"
                if idx in rushes
                else "create-booking/full-slot-unavailable"
            )
            self.deviations.append(
                deviation(
                    rule_id,
                    f"slot {s.merchant_id}/{s.service_id}@{s.start_sec} holds {len(held)} bookings, "
                    f"capacity {s.spots_open}: overbooked",
                    {
                        "slot": slot_json(s),
                        "capacity": s.spots_open,
                        "bookings": [b["id"] for b in held],
                        "rushes": [r for r in self.records.get("rushes", []) if r["slot"] == idx],
                    },
                )
            )

    def false_availability(self) -> None:
        for r in self.records.get("false_availability", []):
            s = self.plan.slots[r["slot"]]
            rule_id = "create-booking/succeeds" if r["via"] == "book" else "update-booking/reschedule"
            what = "booking" if r["via"] == "book" else "reschedule"
            self.deviations.append(
                deviation(
                    rule_id,
                    f"slot {s.merchant_id}/{s.service_id}@{s.start_sec} was answered available at slot "
                    f"click, and the {what} right after failed with SLOT_UNAVAILABLE (false availability; "
                    "no other booking of the run touched this slot)",
                    {"slot": slot_json(s), "slot_click": r["click"], "then": r["create"]},
                )
            )

    async def availability_now(self) -> None:
        """With the load stopped: every slot the run booked is available exactly when spots are left."""
        if not self.plan.claims("bal"):
            return
        held: dict[int, int] = defaultdict(int)
        for b in self.ledger.bookings.values():
            held[b["slot"]] += 0
        for b in self.ledger.active():
            held[b["slot"]] += 1
        by_merchant: dict[str, list[int]] = defaultdict(list)
        for idx in sorted(held):
            by_merchant[self.plan.slots[idx].merchant_id].append(idx)
        await asyncio.gather(
            *(
                self.lookup(merchant, idxs[i : i + BAL_CHUNK], held)
                for merchant, idxs in by_merchant.items()
                for i in range(0, len(idxs), BAL_CHUNK)
            )
        )

    async def lookup(self, merchant: str, idxs: list[int], held: dict[int, int]) -> None:
        body = {"merchant_id": merchant, "slot_time": [slot_time_json(self.plan.slots[i]) for i in idxs]}
        reply = await self.call("BatchAvailabilityLookup", body)
        entries = field_of(reply.data, "slot_time_availability") or []
        if reply.status != 200 or len(entries) != len(idxs):
            return  # the shape of BAL is judged by `bookcheck run`; the audit only compares answers
        for idx, e in zip(idxs, entries, strict=True):
            self.checked["availability"] += 1
            s = self.plan.slots[idx]
            expected = s.spots_open - held[idx] > 0
            said = bool(field_of(e, "available"))
            if said == expected:
                continue
            rule_id = "bal/open-slot-available" if expected else "bal/full-slot-unavailable"
            self.deviations.append(
                deviation(
                    rule_id,
                    f"slot {s.merchant_id}/{s.service_id}@{s.start_sec}: {s.spots_open} spot(s) in the feed, "
                    f"{held[idx]} held by the run's bookings, answered available={str(said).lower()}",
                    {"slot_time": slot_time_json(s), "entry": e},
                )
            )


async def cleanup(target: Target, ledger: Ledger) -> dict[str, Any]:
    """Cancel every booking the run made and did not cancel itself (BOOKING_ALREADY_CANCELLED is fine)."""
    sem = asyncio.Semaphore(CONCURRENCY)
    failed: list[str] = []
    todo = [b for b in ledger.bookings.values() if not b["cancelled"]]

    async def one(b: dict[str, Any]) -> None:
        async with sem:
            reply = await target.call(
                "UpdateBooking", {"booking": {"booking_id": b["id"], "status": "CANCELED"}}
            )
        failure = field_of(field_of(reply.data, "booking_failure"), "cause")
        if reply.status != 200 or (failure and failure != "BOOKING_ALREADY_CANCELLED"):
            failed.append(b["id"])

    await asyncio.gather(*(one(b) for b in todo))
    return {
        "cancelled": len(todo) - len(failed),
        "cancelled_during_run": len(ledger.bookings) - len(todo),
        "failed": sorted(failed),
        "kept": False,
    }
