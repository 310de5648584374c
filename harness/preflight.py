"""Preflight (spec §11 D30): can this target be judged at all?

Before the first scenario, a handful of calls tell a target that *cannot be judged* from one that merely
misbehaves. The first kind ends the run as one setup error with a hint naming the likely cause, never as a
cascade of deviations blamed on the server:

* nothing answers, or TLS and plain HTTP are mixed up: :class:`TargetUnreachable` (exit 3);
* every call answers 401 to the credentials given (or to none): :class:`SetupError` (exit 2);
* 404 on every ``/v3/`` path (a wrong base path): :class:`SetupError`;
* "no such endpoint" pages where a booking server answers JSON: :class:`SetupError`;
* no open slot of the feed is available on the target (a feed of another merchant): :class:`SetupError`.

A booking server that answers but breaks rules (a HealthCheck that is not 200, a 500 on one method) passes
the preflight and is judged as usual. Its calls belong to no scenario and are never evidence.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from booking_protocol.commerce import Catalogue
from booking_protocol.errors import TargetUnreachable, UsageError
from booking_protocol.feed import FeedSlot
from harness.target_base import Reply, Target, transport_hint
from harness.templates import slot_json, slot_time_json

#: open feed slots asked about in one availability call (enough to tell "another merchant" from "busy")
SAMPLE_SLOTS = 20


class SetupError(UsageError):
    """The target answers, but cannot be judged with what it was given: exit 2, one line plus a hint."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(f"{problem}\n  hint: {hint}")
        self.problem, self.hint = problem, hint


#: books one slot (and cancels it at once); True when the booking was made. Given by the runner, which
#: records what it creates in the run's ledger.
BookingProbe = Callable[[FeedSlot], Awaitable[bool]]


@dataclass(frozen=True)
class PreflightResult:
    """What the preflight learnt. ``availability_trusted`` is False when the availability method said that
    no open feed slot is available although one could be booked: the scenarios then judge that method, and
    live slot confirmation (D28) does not rely on it. ``warnings`` are data warnings, never deviations."""

    availability_trusted: bool = True
    warnings: tuple[str, ...] = ()


async def preflight(
    target: Target,
    *,
    has_credentials: bool,
    feed: Sequence[FeedSlot] = (),
    availability: str = "bal",
    seed: int = 0,
    book: BookingProbe | None = None,
    catalogue: Catalogue | None = None,
) -> PreflightResult:
    """Raise :class:`TargetUnreachable` or :class:`SetupError` when the target cannot be judged. The probe
    booking (``book``) is only ever made on a slot whose service takes no payment in ``catalogue``."""
    health = await target.call("HealthCheck")
    if health.status is None:
        _unreachable(target, health)
    probe = await target.call(
        "BatchAvailabilityLookup", {"merchant_id": "bookcheck-preflight", "slot_time": []}
    )
    _judge_auth(target, health, probe, has_credentials)
    _judge_base_path(target, health, probe)
    _judge_booking_server(target, health, probe)
    if feed:
        return await _judge_feed(target, feed, availability, seed, book, catalogue or Catalogue())
    return PreflightResult()


def _unreachable(target: Target, reply: Reply) -> None:
    """No answer at all: exit 3 with the transport's one-line reason and a hint
    (:func:`harness.target_base.transport_hint`: http:// against a TLS port, a certificate, …).
    aiohttp reports a plain request to a TLS port as "ServerDisconnectedError: Server disconnected"."""
    error = reply.exchange.error or "no response"
    if "Timeout" in error:
        return  # it accepted the connection: slowness is judged (latency budgets), not "unreachable"
    hint = transport_hint(target.url, error)
    raise TargetUnreachable(f"cannot reach {target.url}: {_first_line(error)}\n  hint: {hint}")


def _judge_auth(target: Target, health: Reply, probe: Reply, has_credentials: bool) -> None:
    if not (health.status in (401, 403) and probe.status in (401, 403)):
        return
    if has_credentials:
        raise SetupError(
            f"{target.url} refuses the credentials given: HealthCheck and BatchAvailabilityLookup both "
            f"answer {health.status}",
            "check --user/--password, --credentials-file or BOOKCHECK_USER/BOOKCHECK_PASSWORD",
        )
    raise SetupError(
        f"{target.url} requires credentials: HealthCheck and BatchAvailabilityLookup answer {health.status}",
        "give them with --user/--password, --credentials-file or BOOKCHECK_USER/BOOKCHECK_PASSWORD",
    )


def _judge_base_path(target: Target, health: Reply, probe: Reply) -> None:
    if health.status != 404 or probe.status != 404 or target.transport != "rest":
        return
    hint = "--target is the base URL; bookcheck appends /v3/<Method> to it"
    if target.url.rstrip("/").endswith("/v3"):
        hint = "remove the trailing /v3 from --target: bookcheck appends /v3/<Method> itself"
    raise SetupError(f"{target.url}: 404 on /v3/HealthCheck and on /v3/BatchAvailabilityLookup", hint)


#: answers of a web server that has no such endpoint (not of a booking server that fails)
NOT_AN_ENDPOINT = (404, 405, 501)


def _judge_booking_server(target: Target, health: Reply, probe: Reply) -> None:
    """Not a booking server: HealthCheck is not 200 and the availability method is answered by a page that
    says "no such endpoint". A booking server that fails (503 health, 500 on a method) is judged instead."""
    if target.transport != "rest" or health.status == 200 or probe.is_json:
        return
    html = "html" in (probe.content_type or "").lower()
    if probe.status not in NOT_AN_ENDPOINT and not html:
        return
    ctype = probe.content_type or "no content type"
    raise SetupError(
        f"{target.url} does not look like a booking server: POST /v3/BatchAvailabilityLookup answered "
        f"{probe.status} ({ctype}) and GET /v3/HealthCheck {health.status}",
        "is --target the Booking Server API base URL (the one Google calls), not a web site or another "
        "service?",
    )


async def _judge_feed(
    target: Target,
    feed: Sequence[FeedSlot],
    availability: str,
    seed: int,
    book: BookingProbe | None,
    catalogue: Catalogue,
) -> PreflightResult:
    """At least one open feed slot must be available on the target; otherwise the feed describes another
    merchant (or a sandbox that is booked out), and every slot scenario would fail for want of data. Before
    calling that a setup mistake, one of the slots is booked: if that works, the availability method is
    wrong, which is the server's business (judged by the scenarios), not the user's."""
    open_slots = [s for s in feed if s.spots_open > 0]
    if not open_slots:
        return PreflightResult()  # the run itself reports this as INCONCLUSIVE (D29): a data problem
    sample = random.Random(seed).sample(open_slots, min(SAMPLE_SLOTS, len(open_slots)))
    for merchant in sorted({s.merchant_id for s in sample}):
        mine = [s for s in sample if s.merchant_id == merchant]
        if await _any_available(target, merchant, mine, availability):
            return PreflightResult()
    probe = _free_slot(catalogue, [*sample, *open_slots])
    if book is not None and probe is not None and await book(probe):
        return PreflightResult(
            availability_trusted=False,
            warnings=(
                f"the availability method said none of {len(sample)} open feed slots is available, yet "
                "one could be booked: live slot confirmation was not used; the availability scenarios "
                "judge the method",
            ),
        )
    merchants = ", ".join(sorted({s.merchant_id for s in sample})[:3])
    raise SetupError(
        f"none of {len(sample)} open slots of the feed (merchants {merchants}) is available on {target.url}",
        "is the feed this target's own (same merchant and service ids)? Use --merchant to pick one it knows; "
        "if the sandbox is simply booked out, free some slots or give a newer feed",
    )


def _free_slot(catalogue: Catalogue, slots: Sequence[FeedSlot]) -> FeedSlot | None:
    """The first of ``slots`` whose service takes no payment (a probe must never charge or hold a card,
    and carries no token; D48): None when every one does."""
    for s in slots:
        terms = catalogue.service(s.merchant_id, s.service_id)
        if terms is None or not terms.takes_payment:
            return s
    return None


async def _any_available(target: Target, merchant: str, slots: list[FeedSlot], availability: str) -> bool:
    if availability in ("bal", "both"):
        body = {"merchant_id": merchant, "slot_time": [slot_time_json(s) for s in slots]}
        reply = await target.call("BatchAvailabilityLookup", body)
        entries = reply.data.get("slot_time_availability") if reply.ok else None
        if reply.ok and isinstance(entries, list):
            return any(isinstance(e, dict) and e.get("available") is True for e in entries)
        return True  # an answer the checks will judge: not the preflight's business
    for s in slots:
        reply = await target.call("CheckAvailability", {"slot": slot_json(s)})
        if not reply.ok:
            return True
        if reply.data.get("count_available", 0):
            return True
    return False


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else text


__all__ = ["PreflightResult", "SetupError", "preflight"]
