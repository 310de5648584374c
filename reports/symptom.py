"""Symptoms: a serialisable test that tells whether a deviation shows again when its steps are replayed.

A reproducer (``reports.repro``) replays the steps of a scenario up to the failing one, then asks: does the
decisive step answer *the way it did when the rule broke*? A symptom records that answer as a few
**features** of the decisive step (its outcomes, the ids it returned, what it echoed, how long it took),
chosen per rule so that they capture what the rule is about and nothing that changes from run to run (ids,
tokens, times). The deviation reproduces when the replayed step shows the same features.

This module is deliberately standard-library only and imports nothing of bookcheck: the bash reproducers
embed its source and run it with ``python3``, and ``bookcheck replay`` imports it, so both judge alike.

A *call* is a plain dict: ``status`` (int or None), ``content_type`` (str), ``body`` (decoded JSON or text),
``request`` (the request body sent) and ``elapsed_ms``.
"""

from __future__ import annotations

import re
from typing import Any

#: Latency budgets of the spec (§1.2), by rule id, in milliseconds.
BUDGETS_MS = {
    "latency/batch-availability-lookup": 1500.0,
    "latency/check-availability": 5000.0,
    "latency/create-booking": 4000.0,
    "latency/update-booking": 4000.0,
    "latency/create-lease": 5000.0,
}

#: Features judged for a rule: the first entry whose key is the rule id or a prefix of it wins.
FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("latency/", ("slow",)),
    ("json/content-type", ("json_ct",)),
    ("json/response-schema", ("outcomes", "shape")),
    ("create-booking/echo-slot", ("outcomes", "echo_slot")),
    ("create-booking/echo-user", ("outcomes", "echo_user")),
    ("create-booking/booking-id", ("outcomes", "empty_id")),
    ("create-booking/unique-booking-id", ("outcomes", "distinct_ids", "repeats_earlier")),
    ("create-booking/idempotent-replay", ("outcomes", "distinct_ids", "repeats_earlier")),
    ("create-booking/concurrent-replay", ("outcomes", "distinct_ids")),
    ("create-booking/new-token-not-earlier-booking", ("outcomes", "repeats_earlier")),
    ("create-booking/token-other", ("outcomes", "distinct_ids", "repeats_earlier")),
    ("create-booking/in-flight", ("outcomes", "distinct_ids", "repeats_earlier")),
    ("lease/idempotent-user-reference", ("outcomes", "repeats_earlier")),
    ("lease/", ("outcomes", "lease")),
    ("bal/", ("outcomes", "bal")),
    ("check-availability/", ("outcomes", "check")),
    ("update-booking/", ("outcomes", "booking_fields")),
    ("get-booking-status/", ("outcomes", "booking_status")),
    ("list-bookings/", ("outcomes", "listed")),
    ("", ("outcomes",)),
)


def features_for(rule_id: str) -> tuple[str, ...]:
    """The features that decide whether ``rule_id`` broke again."""
    return next(names for key, names in FEATURES if rule_id == key or rule_id.startswith(key))


def snake(value: Any) -> Any:
    """proto3 JSON allows lowerCamelCase names: compare in snake_case; int64 as string or number alike."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
        return str(int(value)) if float(value) == int(float(value)) else str(value)
    return value


def _obj(value: Any) -> dict[str, Any]:
    """A body as a snake_case dict ({} for text, lists or nothing)."""
    value = snake(value)
    return value if isinstance(value, dict) else {}


def _dict(value: Any, key: str) -> dict[str, Any]:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def outcome(call: dict[str, Any]) -> str:
    """One word for an answer: ``http-409``, ``failure:SLOT_UNAVAILABLE``, ``booking:CONFIRMED``..."""
    if call.get("status") is None:
        return "no-response"
    if call["status"] != 200:
        return f"http-{call['status']}"
    body = snake(call.get("body"))
    if not isinstance(body, dict):
        return "not-json"
    if "booking_failure" in body:
        cause = _dict(body, "booking_failure").get("cause", "CAUSE_UNSPECIFIED")
        extra = "+booking" if body.get("booking") else ("+lease" if body.get("lease") else "")
        return f"failure:{cause}{extra}"
    for key, word in (("booking", "booking"), ("lease", "lease")):
        if isinstance(body.get(key), dict):
            return f"{word}:{body[key].get('status', '')}" if key == "booking" else word
    for key in ("slot_time_availability", "bookings", "booking_status", "count_available"):
        if key in body:
            return key if key != "booking_status" else f"status:{body[key]}"
    return "ok:" + ",".join(sorted(body))


def _ids(call: dict[str, Any]) -> list[str]:
    body = snake(call.get("body"))
    found = [_dict(body, "booking").get("booking_id"), _dict(body, "lease").get("lease_id")]
    return [str(i) for i in found if i]


def _echoes(call: dict[str, Any], field: str) -> bool:
    """The booking echoes the request's ``slot`` or ``user_id`` (of user_information)."""
    got, sent = _dict(snake(call.get("body")), "booking"), snake(call.get("request"))
    if field == "user_id":
        return _dict(got, "user_information").get("user_id") == _dict(sent, "user_information").get("user_id")
    return _dict(got, field) == _dict(sent, field)


def _bal(call: dict[str, Any]) -> list[Any]:
    asked = list(_obj(call.get("request")).get("slot_time") or [])
    entries = _obj(call.get("body")).get("slot_time_availability") or []
    pairs = []
    for e in entries if isinstance(entries, list) else []:
        echoed = _dict(e, "slot_time")
        pairs.append([bool(e.get("available")), asked.index(echoed) if echoed in asked else -1])
    return [len(entries) if isinstance(entries, list) else -1, len(asked), pairs]


def _booking_fields(call: dict[str, Any]) -> list[Any]:
    body, sent = snake(call.get("body")), _dict(snake(call.get("request")), "booking")
    b = _dict(body, "booking")
    slot = _dict(b, "slot")
    return [
        b.get("booking_id") == sent.get("booking_id") if b else None,
        b.get("status"),
        slot.get("start_sec"),
        slot.get("duration_sec"),
        _dict(slot, "resources").get("party_size"),
    ]


def _listed(call: dict[str, Any]) -> list[Any]:
    """[whether other users' bookings are listed, the statuses of the user's own]: other users' bookings on
    a shared server vary from run to run, so only their presence counts."""
    user = str(_dict(snake(call.get("request")), "user_id") or _obj(call.get("request")).get("user_id"))
    rows = [r for r in _obj(call.get("body")).get("bookings") or [] if isinstance(r, dict)]
    own = [r for r in rows if str(_dict(r, "user_information").get("user_id")) == user]
    return [len(own) < len(rows), sorted(str(r.get("status")) for r in own)]


def _shape(value: Any, path: str = "") -> set[str]:
    """The body's layout: each field's path with the kind of its value (``num``, ``str``, ``bool``, ...), and
    the value itself for enums (``...status``, ``...cause``, ``...mode``), so a wrong type or an unknown enum
    value shows while ids and names do not."""
    if isinstance(value, dict):
        return (
            set().union(*(_shape(v, f"{path}.{k}") for k, v in value.items())) if value else {f"{path}:{{}}"}
        )
    if isinstance(value, list):
        return set().union(*(_shape(v, f"{path}[]") for v in value)) if value else {f"{path}:[]"}
    if isinstance(value, bool) or value is None:
        return {f"{path}:{value}"}
    if path.endswith(("status", "cause", "mode")):
        return {f"{path}={value}"}
    numeric = isinstance(value, (int, float)) or bool(re.fullmatch(r"-?\d+(\.\d+)?", str(value)))
    return {f"{path}:{'num' if numeric else 'str'}"}


def _lease(call: dict[str, Any]) -> list[Any]:
    lease, sent = _dict(snake(call.get("body")), "lease"), _dict(snake(call.get("request")), "lease")
    keys = ("slot", "user_reference")
    return (
        [
            bool(lease.get("lease_id")),
            bool(lease.get("lease_expiration_time_sec")),
            [lease.get(k) == sent.get(k) for k in keys],
        ]
        if lease
        else []
    )


def observe(
    rule_id: str, calls: list[dict[str, Any]], earlier_ids: list[str], concurrent: bool
) -> dict[str, Any]:
    """The features of ``rule_id`` for the decisive step's ``calls`` (``earlier_ids``: ids answered by the
    steps before it; ``concurrent``: the calls ran at once, so their order means nothing)."""
    outcomes = [outcome(c) for c in calls]
    ids = [i for c in calls for i in _ids(c)]
    booked = [c for c in calls if outcome(c).startswith("booking:")]
    budget = BUDGETS_MS.get(rule_id, 0.0)
    every: dict[str, Any] = {
        "outcomes": sorted(outcomes) if concurrent else outcomes,
        "slow": any((c.get("elapsed_ms") or 0.0) > budget for c in calls),
        "json_ct": all(
            "application/json" in (c.get("content_type") or "").lower()
            for c in calls
            if c.get("status") == 200
        ),
        "echo_slot": all(_echoes(c, "slot") for c in booked),
        "echo_user": all(_echoes(c, "user_id") for c in booked),
        "empty_id": any(not _dict(snake(c.get("body")), "booking").get("booking_id") for c in booked),
        "distinct_ids": len(set(ids)),
        "repeats_earlier": any(i in earlier_ids for i in ids),
        "bal": [_bal(c) for c in calls],
        "check": [
            [
                _dict(snake(c.get("body")), "slot") == _dict(snake(c.get("request")), "slot"),
                int(_obj(c.get("body")).get("count_available") or 0) > 0,
            ]
            for c in calls
        ],
        "lease": [_lease(c) for c in calls],
        "booking_fields": [_booking_fields(c) for c in calls],
        "booking_status": [_obj(c.get("body")).get("booking_status") for c in calls],
        "listed": [_listed(c) for c in calls],
        "shape": sorted(set().union(*(_shape(c.get("body")) for c in calls))) if calls else [],
    }
    return {name: every[name] for name in features_for(rule_id)}


def reproduces(symptom: dict[str, Any], calls: list[dict[str, Any]], earlier_ids: list[str]) -> bool:
    """True when the replayed decisive step shows the recorded features again."""
    seen = observe(symptom["rule"], calls, earlier_ids, bool(symptom.get("concurrent")))
    return bool(seen == symptom["observed"])


def _short(value: Any) -> str:
    """A feature for people: repeated outcomes counted (``16× booking:CONFIRMED``) instead of listed."""
    if isinstance(value, list) and len(value) > 3 and all(isinstance(v, str) for v in value):
        counts: dict[str, int] = {}
        for v in value:
            counts[v] = counts.get(v, 0) + 1
        return ", ".join(f"{n}× {v}" for v, n in counts.items())
    return str(value)


def describe(symptom: dict[str, Any]) -> str:
    """The symptom in one line: ``step 'one-more' answers with outcomes = ['booking:CONFIRMED']``."""
    shown = "; ".join(f"{k} = {_short(v)}" for k, v in symptom["observed"].items())
    return f"step {symptom['step']!r} answers with {shown}"
