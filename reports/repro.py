"""Reproducers: one runnable script per broken rule (``--report repro:DIR``) and the replay plan behind it.

A deviation often needs the steps before it: an overbooking shows only after the slot was filled. So a
reproducer replays the *scenario's* recorded calls up to and including the failing step, then judges the
decisive step with the rule's :mod:`reports.symptom`. What changes between runs is made fresh on each run
(idempotency tokens, lease user references, user ids); what a later call needs from an earlier answer
(``booking_id``, ``lease_id``) is captured from that answer; the slots are the same ones, so a server loaded
with the same feed gets the same requests.

:func:`plans` turns a :class:`~harness.results.RunResult` into :class:`Plan` records (one per broken rule,
the occurrence with the fewest calls); :mod:`reports.repro_script` writes a plan as bash + curl (REST) and
``bookcheck replay`` (``bookcheck/replay_command.py``) runs the same plan through the harness's targets, gRPC
included. Exit codes of both: 1 the deviation reproduces, 0 it does not, 2 usage.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from harness.results import GRPC_TO_HTTP, CheckResult, Exchange, Rule, RunResult, ScenarioResult

from . import symptom as symptom_mod

#: Request keys whose string values are made fresh on every replay, and the placeholder letter they get.
FRESH_KEYS = {"idempotency_token": "T", "user_reference": "T", "user_id": "U"}
#: Time fields that name a slot (kept as recorded); other ``*_sec`` values near the run's "now" are shifted.
SLOT_TIME_KEYS = ("start_sec", "duration_sec", "end_sec")
#: Response keys whose values later calls refer to: captured from the replayed answer.
ID_KEYS = ("booking_id", "lease_id")
#: A pause longer than this between two recorded calls (a lease left to expire) is replayed as a sleep.
MIN_WAIT_S = 0.5


@dataclass(frozen=True)
class ReplayCall:
    """One recorded request, ready to send again. ``body`` holds ``@@T1@@``-style placeholders."""

    index: int
    step: str
    operation: str
    method: str
    path: str | None  # REST path below the target's base URL; None over gRPC
    body: Any
    raw: bool  # body is text sent as-is (a malformed-JSON probe)
    auth: str  # "default", "wrong" or "none", as the harness sends it
    group: int  # calls of one group were sent at the same time
    wait_s: float = 0.0  # pause before this call
    captures: tuple[tuple[str, tuple[str | int, ...]], ...] = ()  # (placeholder, path in the answer)


@dataclass(frozen=True)
class Plan:
    rule_id: str
    rule: Rule | None
    check: CheckResult
    occurrences: int
    calls: tuple[ReplayCall, ...]
    fresh: tuple[tuple[str, str], ...]  # (placeholder, "token" | "user")
    decisive: tuple[int, ...]  # indexes of the calls of the failing step
    symptom: dict[str, Any] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return self.rule_id.replace("/", "__") + ".sh"


def scenario_exchanges(scenario: ScenarioResult, check: CheckResult) -> tuple[Exchange, ...]:
    """Every exchange of the scenario when the run recorded them, else the deviation's own evidence."""
    recorded: tuple[Exchange, ...] = getattr(scenario, "exchanges", ())
    return recorded or check.exchanges


def as_call(ex: Exchange, request_body: Any = None) -> dict[str, Any]:
    """A symptom *call* (see :mod:`reports.symptom`) from a recorded exchange."""
    resp = ex.response
    status = resp.status if resp is not None else None
    if status is not None and ex.transport == "grpc":
        status = GRPC_TO_HTTP.get(status, 500)
    headers = {k.lower(): v for k, v in (resp.headers if resp else {}).items()}
    return {
        "status": status,
        "content_type": headers.get("content-type", ""),
        "body": resp.body if resp else None,
        "request": ex.request.body if request_body is None else request_body,
        "elapsed_ms": ex.elapsed_ms,
    }


def plans(result: RunResult) -> list[Plan]:
    """One plan per rule with a deviation (not baselined), most severe and most frequent first."""
    by_rule: dict[str, list[tuple[ScenarioResult, CheckResult]]] = {}
    for s in result.scenarios:
        for c in s.checks:
            if c.is_deviation and not c.baselined:
                by_rule.setdefault(c.rule_id, []).append((s, c))
    rules = {r.id: r for r in result.rules}
    out = []
    for rule_id, seen in by_rule.items():
        built = [p for s, c in seen if (p := build_plan(s, c, result.target, rules.get(rule_id), len(seen)))]
        if built:
            out.append(min(built, key=lambda p: len(p.calls)))
    return sorted(out, key=lambda p: (p.check.status.value != "FAIL", -p.occurrences, p.rule_id))


def build_plan(
    scenario: ScenarioResult, check: CheckResult, base: str, rule: Rule | None = None, occurrences: int = 1
) -> Plan | None:
    """The replay of ``scenario`` up to and including ``check``'s step; None when nothing was recorded."""
    exchanges = list(scenario_exchanges(scenario, check))
    last = max((i for i, e in enumerate(exchanges) if e.step == check.step), default=-1)
    if last < 0:
        return None
    exchanges = exchanges[: last + 1]
    names = _Placeholders()
    calls: list[ReplayCall] = []
    groups = _groups(exchanges)
    for i, ex in enumerate(exchanges):
        names.sent_at = ex.sent_at
        body = names.template(ex.request.body)
        calls.append(
            ReplayCall(
                index=i,
                step=ex.step,
                operation=ex.operation,
                method=ex.request.method or "POST",
                path=_path(ex, base),
                body=body,
                raw=isinstance(ex.request.body, str),
                auth=_auth(ex),
                group=groups[i][0],
                wait_s=groups[i][1],
            )
        )
        names.learn_ids(i, ex)
    calls = [_with_captures(c, names.captures.get(c.index, ())) for c in calls]
    decisive = tuple(i for i, e in enumerate(exchanges) if e.step == check.step)
    concurrent = len({groups[i][0] for i in decisive}) < len(decisive)
    earlier = [v for i, e in enumerate(exchanges) if i not in decisive for v in _id_values(e)]
    observed = symptom_mod.observe(
        check.rule_id, [as_call(exchanges[i]) for i in decisive], earlier, concurrent
    )
    symptom = {"rule": check.rule_id, "step": check.step, "concurrent": concurrent, "observed": observed}
    return Plan(check.rule_id, rule, check, occurrences, tuple(calls), tuple(names.fresh), decisive, symptom)


class _Placeholders:
    """Names the values that must change between replays, and the ids later calls take from answers."""

    def __init__(self) -> None:
        self.sent_at: float | None = None  # when the call being templated was sent (run clock)
        self.fresh: list[tuple[str, str]] = []
        self._fresh_by_value: dict[tuple[str, str], str] = {}
        self._ids: dict[str, str] = {}  # recorded id value -> placeholder
        self._pending: dict[str, tuple[int, tuple[str | int, ...]]] = {}
        self.captures: dict[int, list[tuple[str, tuple[str | int, ...]]]] = {}

    def template(self, body: Any, key: str = "") -> Any:
        if isinstance(body, dict):
            return {k: self.template(v, k) for k, v in body.items()}
        if isinstance(body, list):
            return [self.template(v, key) for v in body]
        if isinstance(body, str) and body in self._ids:
            return f"@@{self._ids[body]}@@"
        if isinstance(body, str) and body in self._pending:
            index, path = self._pending.pop(body)
            name = self._ids[body] = f"B{len(self._ids) + 1}"
            self.captures.setdefault(index, []).append((name, path))
            return f"@@{name}@@"
        if (
            key.endswith("_sec")
            and key not in SLOT_TIME_KEYS
            and self.sent_at is not None
            and _near(body, self.sent_at)
        ):
            # "${now+60}" was resolved just before the call was sent, from the whole seconds of the clock
            name = f"N{len(self.fresh) + 1}"
            offset = int(float(body) - math.floor(self.sent_at))
            self.fresh.append((name, f"now{offset:+d}"))
            return f"@@{name}@@"
        if isinstance(body, (str, int)) and key in FRESH_KEYS and str(body):
            kind = FRESH_KEYS[key]
            if (kind, str(body)) not in self._fresh_by_value:
                name = f"{kind}{len(self.fresh) + 1}"
                self._fresh_by_value[(kind, str(body))] = name
                self.fresh.append((name, "token" if kind == "T" else "user"))
            return f"@@{self._fresh_by_value[(kind, str(body))]}@@"
        return body

    def learn_ids(self, index: int, ex: Exchange) -> None:
        for path, value in _walk_ids(symptom_mod.snake(ex.response.body) if ex.response else None, ()):
            if value not in self._ids and value not in self._pending:
                self._pending[value] = (index, path)


def _near(value: Any, t0: float) -> bool:
    """An epoch time within a week of the scenario's start: a time the request computed from "now"."""
    try:
        return abs(float(value) - t0) < 7 * 86400
    except (TypeError, ValueError):
        return False


def body_text(call: ReplayCall) -> str | None:
    """The request body as sent, placeholders included (numbers that were numbers stay unquoted)."""
    if call.body is None:
        return None
    if call.raw:
        return str(call.body)
    text = json.dumps(call.body, ensure_ascii=False, separators=(",", ":"))
    return re.sub(r'"(@@N\d+@@)"', r"\1", text) if "@@N" in text else text


def fresh_values(fresh: tuple[tuple[str, str], ...], now: float) -> dict[str, str]:
    """This run's values of the placeholders (what the bash script computes the same way). Times
    (``now+60``) are relative to ``now``: call again right before each call with the time of that call."""
    run = f"{int(now)}{random.randrange(100000):05d}"
    out: dict[str, str] = {}
    for name, kind in fresh:
        if kind == "token":
            out[name] = f"bookcheck-repro-{run}-{name}"
        elif kind == "user":
            out[name] = f"{run}{name[1:]}"
        else:
            out[name] = str(math.floor(now) + int(kind[3:]))
    return out


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    return text


def _walk_ids(body: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(body, dict):
        for k, v in body.items():
            if k in ID_KEYS and isinstance(v, str) and v:
                found.append(((*path, k), v))
            else:
                found += _walk_ids(v, (*path, k))
    elif isinstance(body, list):
        for i, v in enumerate(body):
            found += _walk_ids(v, (*path, i))
    return found


def _id_values(ex: Exchange) -> list[str]:
    return [v for _p, v in _walk_ids(symptom_mod.snake(ex.response.body) if ex.response else None, ())]


def _with_captures(call: ReplayCall, captures: Any) -> ReplayCall:
    from dataclasses import replace

    return replace(call, captures=tuple(captures)) if captures else call


def _groups(exchanges: list[Exchange]) -> list[tuple[int, float]]:
    """(group, pause before) per call. Calls of one step whose recorded times overlap ran concurrently
    and form a group; a long gap before a call (a lease left to expire) becomes a pause."""
    out: list[tuple[int, float]] = []
    group, group_end, prev_step = -1, None, None
    for ex in exchanges:
        sent: float | None = getattr(ex, "sent_at", None)
        start = sent * 1000 if sent is not None else None
        if start is not None and group_end is not None and ex.step == prev_step and start < group_end:
            out.append((group, 0.0))
            group_end = max(group_end, start + ex.elapsed_ms)
        else:
            wait = (start - group_end) / 1000 if start is not None and group_end is not None else 0.0
            group += 1
            out.append((group, round(wait, 1) if wait > MIN_WAIT_S else 0.0))
            group_end = start + ex.elapsed_ms if start is not None else None
        prev_step = ex.step
    return out


def _path(ex: Exchange, base: str) -> str | None:
    if ex.transport == "grpc":
        return None
    url = ex.request.url or ""
    if base and url.startswith(base.rstrip("/")):
        return url[len(base.rstrip("/")) :] or "/"
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def _auth(ex: Exchange) -> str:
    value = next((v for k, v in ex.request.headers.items() if k.lower() == "authorization"), None)
    if value is None:
        return "none"
    return "wrong" if "wrong" in value else "default"


def symptom_json(plan: Plan) -> str:
    return json.dumps(plan.symptom, sort_keys=True, separators=(",", ":"))
