"""The one template syntax of scenario files: ``${...}`` refers to the scenario's data and earlier steps.

A string that is exactly one ``${expr}`` becomes the value itself (an object, a number); a string with text
around templates becomes text. References:

    ${slot.a}                    the Slot of scenario slot ``a`` (merchant_id, service_id, start_sec, ...)
    ${slot.a.spots_open}         one field of that feed slot (any FeedSlot field)
    ${slot_time.a}               the SlotTime of slot ``a`` (BatchAvailabilityLookup)
    ${unknown_slot.a}            a Slot of a's merchant and service at a start time the feed does not have
    ${unknown_slot_time.a}       the same, as a SlotTime
    ${user.alice}                a UserInformation, distinct per scenario and run; ${user.alice.user_id}
    ${token.t1}                  an idempotency token (or lease user_reference), unique per scenario and run
    ${steps.create.response.booking.booking_id}
                                 a field of the normalised response of step ``create`` (its first reply)
    ${steps.create.status}       the HTTP status of that reply
    ${str:slot.a.start_sec}      any reference as a string (int64 in its canonical proto3 JSON form)
    ${copy}                      the copy index inside a ``times:`` / ``concurrent:`` step (0, 1, ...)
    ${now}, ${now+300}           the current time (plus or minus N seconds), UTC epoch seconds
    ${new_time.b}                {"start_sec": ..., "duration_sec": ...} of slot ``b`` (a reschedule)

``${copy}`` is replaced first, so ``${user.racer${copy}}`` names a different user per copy. A reference to a
value an earlier step did not produce raises :class:`Unresolved` (the scenario stops there).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from booking_protocol.feed import FeedSlot
from harness.normalize import dig

_TEMPLATE = re.compile(r"\$\{([^${}]+)\}")
_WHOLE = re.compile(r"^\$\{([^${}]+)\}$")


class Unresolved(LookupError):
    """A template names something that does not exist (yet)."""


class TemplateScope(Protocol):
    def slot(self, name: str) -> FeedSlot: ...

    def unknown_start(self, name: str) -> int: ...

    def now(self) -> int: ...

    def user(self, name: str) -> dict[str, Any]: ...

    def token(self, name: str) -> str: ...

    def step_reply(self, step_id: str) -> Any: ...


def _slot_fields(s: FeedSlot, start_sec: int | None, resources_key: str) -> dict[str, Any]:
    """Fields a Slot and a SlotTime share; they differ only in the resources field's name."""
    out: dict[str, Any] = {
        "service_id": s.service_id,
        "start_sec": str(start_sec if start_sec is not None else s.start_sec),
        "duration_sec": str(s.duration_sec),
    }
    if s.availability_tag:
        out["availability_tag"] = s.availability_tag
    res = resources_json(s)
    if res:
        out[resources_key] = res
    if s.confirmation_mode != "CONFIRMATION_MODE_UNSPECIFIED":
        out["confirmation_mode"] = s.confirmation_mode
    return out


def slot_json(s: FeedSlot, *, start_sec: int | None = None) -> dict[str, Any]:
    """A v3 Slot in canonical proto3 JSON (int64 as strings, as Google's CreateBooking sample sends)."""
    return {"merchant_id": s.merchant_id, **_slot_fields(s, start_sec, "resources")}


def resources_json(s: FeedSlot) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if s.staff_id:
        res["staff_id"] = s.staff_id
    if s.room_id:
        res["room_id"] = s.room_id
    if s.party_size:
        res["party_size"] = s.party_size
    return res


def slot_time_json(s: FeedSlot, *, start_sec: int | None = None) -> dict[str, Any]:
    """A v3 SlotTime (no merchant_id; its resources field is named ``resource_ids``)."""
    return _slot_fields(s, start_sec, "resource_ids")


def evaluate(expr: str, scope: TemplateScope) -> Any:
    expr = expr.strip()
    if expr.startswith("str:"):
        return str(evaluate(expr[4:], scope))
    head, _, rest = expr.partition(".")
    if head.startswith("now"):
        m = re.fullmatch(r"now\s*(?:([+-])\s*(\d+))?", expr)
        if not m:
            raise Unresolved(f"${{{expr}}}: use now, now+N or now-N")
        n = int(m.group(2) or 0)
        return scope.now() + (n if m.group(1) != "-" else -n)
    if head == "new_time":
        s = scope.slot(rest)
        return {"start_sec": str(s.start_sec), "duration_sec": str(s.duration_sec)}
    if head in ("slot", "slot_time", "unknown_slot", "unknown_slot_time"):
        name, _, field = rest.partition(".")
        s = scope.slot(name)
        if head == "slot":
            if not field:
                return slot_json(s)
            if not hasattr(s, field):
                raise Unresolved(f"${{{expr}}}: a feed slot has no field {field!r}")
            return getattr(s, field)
        if head == "slot_time":
            return slot_time_json(s)
        start = scope.unknown_start(name)
        return slot_json(s, start_sec=start) if head == "unknown_slot" else slot_time_json(s, start_sec=start)
    if head == "user":
        name, _, field = rest.partition(".")
        u = scope.user(name)
        return u if not field else dig(u, field)
    if head == "token":
        return scope.token(rest)
    if head == "steps":
        step_id, _, path = rest.partition(".")
        reply = scope.step_reply(step_id)
        if path == "status":
            return reply.status
        if path.startswith("response"):
            sub = path[len("response") :].lstrip(".")
            value = reply.body if not sub else dig(reply.data, sub)
            if value is None or value == "":  # proto3: an empty string is an absent field (D14)
                raise Unresolved(f"step '{step_id}' gave no {sub or 'response'}")
            return value
        raise Unresolved(f"${{{expr}}}: use steps.<id>.response.<path> or steps.<id>.status")
    raise Unresolved(f"${{{expr}}}: unknown reference {head!r}")


def resolve(value: Any, scope: TemplateScope, *, copy: int | None = None) -> Any:
    """Resolve every template inside ``value`` (dicts and lists are walked; other values returned as is)."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        if copy is not None:
            value = value.replace("${copy}", str(copy))
        m = _WHOLE.match(value)
        if m:
            return evaluate(m.group(1), scope)
        return _TEMPLATE.sub(lambda mm: str(evaluate(mm.group(1), scope)), value)
    if isinstance(value, dict):
        return {k: resolve(v, scope, copy=copy) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope, copy=copy) for v in value]
    return value


def resolve_int(value: Any, scope: TemplateScope) -> int:
    """A count: an int, or a template with optional ``+ n`` / ``- n`` (``"${slot.a.spots_open} - 1"``)."""
    v = resolve(value, scope)
    if isinstance(v, int):
        return v
    text = str(v).replace(" ", "")
    m = re.fullmatch(r"(-?\d+)(?:([+-])(\d+))?", text)
    if not m:
        raise Unresolved(f"{value!r} is not a count")
    n = int(m.group(1))
    if m.group(2):
        n = n + int(m.group(3)) if m.group(2) == "+" else n - int(m.group(3))
    return n
