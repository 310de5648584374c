"""The resource ledger of a run: every booking and lease it created on the target, and the cleanup that
cancels the bookings and releases the live leases at the end (unless ``--keep-bookings``).

:class:`CreatedRegistry` watches every reply of every scenario (:meth:`CreatedRegistry.observe`), so cleanup
needs no help from the scenarios; it also keeps every exchange of the run for the method statistics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.checks import booking_id, describe, failure_cause, is_booking
from harness.ids import Ids
from harness.journal import Journal
from harness.results import CreatedResource, Exchange
from harness.target_base import Reply, Target


@dataclass
class CreatedItem:
    """One booking or lease the run created, and whether cleanup has dealt with it."""

    kind: str
    id: str
    scenario_id: str
    cancelled: bool = False  # bookings: cancelled; leases: consumed, expired or released
    note: str | None = None
    slot: Any = None  # leases: the leased slot (JSON), to release it at cleanup
    expires: int = 0


class CreatedRegistry:
    """Everything the run created on the target (bookings, leases) and every exchange of the run."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.items: dict[tuple[str, str], CreatedItem] = {}
        self.exchanges: list[Exchange] = []  # every exchange of the run except cleanup (method stats)
        #: the ledger file, written as resources appear, so a killed run's left-overs can be cleaned up
        self.journal = journal

    def _add(self, item: CreatedItem, token: str | None = None) -> None:
        self.items[(item.kind, item.id)] = item
        if self.journal is not None:
            self.journal.created(
                item.kind, item.id, item.scenario_id, slot=item.slot, expires=item.expires, token=token
            )

    def _answered_without_booking(self, request: dict[str, Any]) -> None:
        token = request.get("idempotency_token")
        if self.journal is not None and isinstance(token, str):
            self.journal.resolved(token)

    def sending(self, body: Any, scenario_id: str) -> None:
        """A CreateBooking is about to be sent: the ledger names it first, so a run killed while it is in
        flight leaves a request that ``bookcheck cleanup`` can resolve (resend with its token, cancel)."""
        if self.journal is not None and isinstance(body, dict) and body.get("idempotency_token"):
            self.journal.sending(body, scenario_id)

    def observe(self, reply: Reply, scenario_id: str) -> None:
        """Record what a successful reply created (a booking, a lease) or ended (a cancel, a lease consumed
        by a booking), so cleanup knows what is left without help from the scenarios."""
        op = reply.exchange.operation
        request = reply.exchange.request.body if isinstance(reply.exchange.request.body, dict) else {}
        if op == "CreateBooking" and reply.status is not None and not is_booking(reply):
            self._answered_without_booking(request)  # no longer in flight, and nothing to clean up
        if not reply.ok:
            return
        if op == "CreateBooking" and is_booking(reply):
            bid = booking_id(reply)
            if bid and ("booking", bid) not in self.items:
                token = request.get("idempotency_token")
                self._add(CreatedItem("booking", bid, scenario_id), token if isinstance(token, str) else None)
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
                    self._add(
                        CreatedItem(
                            "lease",
                            key[1],
                            scenario_id,
                            slot=(request.get("lease") or {}).get("slot"),
                            expires=exp if isinstance(exp, int) else 0,
                        )
                    )


async def cleanup(
    target: Target, created: CreatedRegistry, keep: bool, nonce: str, clock: Callable[[], float]
) -> tuple[CreatedResource, ...]:
    """Cancel every booking the run created and release every live lease it did not use.

    Leases cannot be cancelled (v3 has no method for it), so a live, unconsumed lease is released by booking
    on it and cancelling that booking at once; an expired one needs nothing. Cleanup calls are not counted
    in the method statistics."""
    sem = asyncio.Semaphore(8)

    async def cancel(c: CreatedItem) -> None:
        async with sem:
            reply = await target.call(
                "UpdateBooking", {"booking": {"booking_id": c.id, "status": "CANCELED"}}
            )
        cause = failure_cause(reply)
        if (
            is_booking(reply) and reply.data["booking"].get("status") == "CANCELED"
        ) or cause == "BOOKING_ALREADY_CANCELLED":
            c.cancelled = True
        else:
            c.note = f"cleanup cancel failed: {describe(reply)[:200]}"

    async def release(c: CreatedItem) -> None:
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
            holder = CreatedItem("booking", booking_id(reply), c.scenario_id)
            await cancel(holder)
            c.cancelled = holder.cancelled
            c.note = (
                f"released: booked on the lease ({holder.id}) and cancelled at once"
                if holder.cancelled
                else f"booked on the lease to release it, but {holder.note}"
            )
        else:
            c.note = f"live lease left to expire at {c.expires} ({describe(reply)[:120]})"

    if not keep:
        pending = [c for c in created.items.values() if c.kind == "booking" and not c.cancelled]
        leases = [c for c in created.items.values() if c.kind == "lease" and not c.cancelled]
        await asyncio.gather(*(cancel(c) for c in pending), *(release(c) for c in leases))
    return resources(created, keep)


def resources(created: CreatedRegistry, keep: bool) -> tuple[CreatedResource, ...]:
    """What the run created and whether each was cleaned up (also after an aborted cleanup); every cleaned
    one is written to the ledger file, so ``bookcheck cleanup`` leaves it alone."""
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
        if c.cancelled and created.journal is not None:
            created.journal.cleaned(c.kind, c.id, note)
    return tuple(out)
