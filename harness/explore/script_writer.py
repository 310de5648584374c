"""The shortest failing history as a self-contained REST reproducer: ``bash`` + ``curl``.

Usage of the written script::

    BOOKCHECK_USER=u BOOKCHECK_PASSWORD=p ./explore-RULE.sh https://partner.example/api

It replays the steps with fresh tokens and user ids on each run (a nonce from the clock and ``$RANDOM``),
on the feed slots of the explored run, capturing booking and lease ids from earlier answers. Every step's
answer is compared with the model's prediction; the first that differs is printed and the script exits 1
(the divergence reproduces). If every step answers as predicted it exits 0. Bookings it made are cancelled
on exit. Credentials are read from the environment, never written into the file.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from harness.explore import ops as o
from harness.explore.driver import ExampleRecord, StepRecord
from harness.explore.reads import UNKNOWN_BOOKING
from harness.explore.scenario_writer import replayed_steps

_PRELUDE = r"""#!/usr/bin/env bash
# bookcheck explore reproducer: {title}
# Usage: BOOKCHECK_USER=... BOOKCHECK_PASSWORD=... {name} BASE_URL
# Exit 1: the target diverges from the model (the bug reproduces); exit 0: every step answered as predicted.
set -u
BASE="${{1:?usage: $0 BASE_URL   (credentials from BOOKCHECK_USER / BOOKCHECK_PASSWORD)}}"
BASE="${{BASE%/}}"
NONCE="$(date +%s)$RANDOM$RANDOM"
AUTH=()
if [ -n "${{BOOKCHECK_USER:-}}" ]; then AUTH=(-u "$BOOKCHECK_USER:${{BOOKCHECK_PASSWORD:-}}"); fi
CREATED=()
BODY=""; CODE=""
call() {{  # call METHOD JSON -> BODY, CODE
  local out
  out="$(curl -sS "${{AUTH[@]}}" -X POST -H 'Content-Type: application/json' --data-binary "$2" \
        -w '\n%{{http_code}} %{{time_total}} %{{content_type}}' "$BASE/v3/$1")" \
    || {{ echo "curl failed for $1"; exit 2; }}
  META="${{out##*$'\n'}}"; BODY="${{out%$'\n'*}}"
  CODE="${{META%% *}}"; META="${{META#* }}"; SECS="${{META%% *}}"; CTYPE="${{META#* }}"
}}
field() {{  # field NAME CAMEL: the first scalar value of NAME (snake_case or lowerCamelCase) in BODY
  printf %s "$BODY" | grep -oE "\"($1|$2)\"[[:space:]]*:[[:space:]]*\"?[^\",}}]*" | head -1 \
    | sed -E 's/.*:[[:space:]]*"?//'
}}
has() {{ printf %s "$BODY" | grep -qE "$1"; }}
failed() {{ has '"(booking_failure|bookingFailure)"'; }}
bid() {{ field booking_id bookingId; }}
is_booking() {{ [ "$CODE" = 200 ] && ! failed && [ -n "$(bid)" ]; }}
refused() {{ {{ [ "$CODE" -ge 400 ] && [ "$CODE" -lt 500 ]; }} || {{ [ "$CODE" = 200 ] && failed; }}; }}
count() {{ local c; c="$(field count_available countAvailable)"; printf %s "${{c:-0}}"; }}
available() {{ printf %s "$BODY" | grep -oE '"available"[[:space:]]*:[[:space:]]*true' | wc -l; }}
only_ids() {{  # only_ids "ID ...": every booking_id in BODY is one of these
  local id
  for id in $(printf %s "$BODY" | grep -oE '"(booking_id|bookingId)"[[:space:]]*:[[:space:]]*"[^"]*"' \
              | sed -E 's/.*"([^"]*)"$/\1/'); do
    case " $1 " in *" $id "*) ;; *) return 1;; esac
  done
}}
diverged() {{
  if is_booking; then CREATED+=("$(bid)"); fi
  echo "step $1 diverges: expected $2"
  echo "  got HTTP $CODE $BODY" | cut -c1-600
  echo "REPRODUCED: {rule}"
  exit 1
}}
cleanup() {{
  for b in "${{CREATED[@]+"${{CREATED[@]}}"}}"; do
    call UpdateBooking "{{\"booking\":{{\"booking_id\":\"$b\",\"status\":\"CANCELED\"}}}}" \
      >/dev/null 2>&1 || true
  done
}}
trap cleanup EXIT
"""


def script_text(ex: ExampleRecord, rule: str, *, name: str) -> str:
    steps = replayed_steps(ex)
    title = f"the shortest history found that breaks {rule} ({len(steps)} steps)"
    lines = [_PRELUDE.format(title=title, name=name, rule=rule)]
    for n, s in enumerate(steps, 1):
        lines.append(f"# step {n}: {s.text}")
        if isinstance(s.op, o.Wait):
            lines += [f"sleep {s.request['seconds']}", ""]
            continue
        lines.append(f"call {s.operation} {_body(s, ex, steps)}")
        lines.extend(_assert(s, n, steps, rule))
        if s.index == ex.failing_step:
            lines.extend(_auto(rule, n))
        lines.append("")
    lines.append(f'echo "not reproduced: all {len(steps)} steps answered as the model predicts"')
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


#: The budgets of spec §1.2 (seconds), for reproducing a latency rule.
_BUDGET_SEC = {
    "latency/batch-availability-lookup": 1.5,
    "latency/create-booking": 4.0,
    "latency/update-booking": 4.0,
    "latency/check-availability": 5.0,
    "latency/create-lease": 5.0,
}


def _auto(rule: str, n: int) -> list[str]:
    """Assertions for the rules every answer is judged by (shape, content type, latency)."""
    fail = f"diverged {n} {shlex.quote(rule)}"
    if rule == "failure/other-fields-unset":
        return [f"if failed && has '\"(booking|lease)\"[[:space:]]*:'; then {fail}; fi"]
    if rule == "failure/cause-specified":
        return [
            f'if failed && {{ has CAUSE_UNSPECIFIED || [ -z "$(field cause cause)" ]; }}; then {fail}; fi'
        ]
    if rule == "json/content-type":
        return [f'case "$CTYPE" in application/json*) ;; *) {fail};; esac']
    if rule in _BUDGET_SEC:
        return [f"awk -v t=\"$SECS\" 'BEGIN {{ exit !(t > {_BUDGET_SEC[rule]}) }}' && {fail}"]
    if rule == "json/response-schema":
        return [
            "# json/response-schema needs bookcheck's JSON Schemas: replay the scenario file with "
            "bookcheck run"
        ]
    return []


def _var(kind: str, key: int) -> str:
    return f"{kind.upper()}_{key}"


def _body(s: StepRecord, ex: ExampleRecord, steps: list[StepRecord]) -> str:
    """The request as a shell word: this run's JSON, with tokens, users and ids spliced in as variables."""
    body = json.loads(json.dumps(s.request))
    subs: dict[str, str] = {}

    def mark(value: str, shell: str) -> str:
        key = f"@@{len(subs)}@@"
        subs[key] = shell
        return key

    _templated(body, s, mark)
    text = json.dumps(body, separators=(",", ":"))
    out, rest = "", text
    while "@@" in rest:
        head, _, tail = rest.partition("@@")
        num, _, rest = tail.partition("@@")
        out += shlex.quote(head) if head else ""
        out += '"' + subs[f"@@{num}@@"] + '"'
    return out + (shlex.quote(rest) if rest else "")


def _templated(body: Any, s: StepRecord, mark: Any) -> None:
    op = s.op
    if isinstance(op, (o.Book, o.BookOnLease)):
        body["idempotency_token"] = mark("", f"bookcheck-explore-$NONCE-t{op.token}")
        _user(body["user_information"], op.user, mark)
        if isinstance(op, o.BookOnLease):
            body["lease_ref"]["lease_id"] = mark("", f"${_var('lease', s.refs['lease'])}")
    elif isinstance(op, o.Lease):
        body["lease"]["user_reference"] = mark("", f"bookcheck-explore-$NONCE-l{op.ref}")
        if op.short:  # as explored: a lease that a later wait outlasts, on the script's clock
            body["lease"]["lease_expiration_time_sec"] = mark("", f"$(( $(date +%s) + {o.SHORT_LEASE_SEC} ))")
        else:  # the server's longest hold, whatever its clock
            body["lease"].pop("lease_expiration_time_sec", None)
    elif isinstance(op, o.ListUser):
        body["user_id"] = mark("", f"bookcheck-explore-$NONCE-u{op.user}")
    elif isinstance(op, o.Status):
        body["booking_id"] = mark(
            "", f"{UNKNOWN_BOOKING}-$NONCE" if op.booking < 0 else f"${_var('booking', s.refs['booking'])}"
        )
    elif isinstance(op, o.Cancel) and op.booking < 0:
        body["booking"]["booking_id"] = mark("", f"{UNKNOWN_BOOKING}-$NONCE")
    elif isinstance(op, (o.Cancel, o.Reschedule, o.PartySize)):
        body["booking"]["booking_id"] = mark("", f"${_var('booking', s.refs['booking'])}")
        if "user_information" in body["booking"]:
            _user(body["booking"]["user_information"], s.refs.get("user", 0), mark)


def _start_of(s: StepRecord) -> str:
    """The start_sec a reschedule asked for (short or whole-booking form)."""
    slot = s.request["booking"].get("slot", {}) if isinstance(s.request, dict) else {}
    return str(slot.get("start_sec", ""))


def _user(u: dict[str, Any], i: int, mark: Any) -> None:
    u["user_id"] = mark("", f"bookcheck-explore-$NONCE-u{i}")
    u["email"] = mark("", f"bookcheck+$NONCE-u{i}@example.com")


def _assert(s: StepRecord, n: int, steps: list[StepRecord], rule: str) -> list[str]:
    e = s.expect
    if e is None:
        return []
    a = e.args
    kind = e.kind
    want = shlex.quote(e.text or kind)
    ref = f"${_var('booking', a['step'])}" if "step" in a else ""
    fail = f"diverged {n} {want}"
    capture = [
        f'{_var("booking", s.index)}="$(bid)"',
        f'CREATED+=("${_var("booking", s.index)}")',
    ]
    if kind == "booking":
        slot = s.request.get("slot", {}) if isinstance(s.request, dict) else {}
        status = (
            "PENDING_MERCHANT_CONFIRMATION"
            if slot.get("confirmation_mode") == "CONFIRMATION_MODE_ASYNCHRONOUS"
            else "CONFIRMED"
        )
        return [
            f"is_booking || {fail}",
            f'for b in "${{CREATED[@]+"${{CREATED[@]}}"}}"; do [ "$b" != "$(bid)" ] || '
            f"diverged {n} 'a booking_id not given before'; done",
            f"has '\"{status}\"' || diverged {n} 'status {status}'",
            f"has \"bookcheck-explore-$NONCE-u{a['user']}\" || diverged {n} 'the user echoed'",
            f"has '\"?{slot.get('start_sec', '')}\"?' || diverged {n} 'the slot echoed'",
        ] + capture
    if kind == "same-booking":
        return [f'is_booking && [ "$(bid)" = "{ref}" ] || {fail}']
    if kind == "d24":
        return [
            f'if is_booking; then [ "$(bid)" = "{ref}" ] || {fail}; fi',
            'if is_booking; then CREATED+=("$(bid)"); fi',
        ]
    if kind == "failure":
        causes = "|".join(a["causes"])
        return [
            f'[ "$CODE" = 200 ] && failed && has \'"({causes})"\' && ! is_booking || {fail}',
            'if is_booking; then CREATED+=("$(bid)"); fi',
        ]
    if kind == "refusal":
        return [
            f"refused || {fail}",
            'if is_booking; then CREATED+=("$(bid)"); fi',
        ]
    if kind == "http":
        codes = " ".join(str(c) for c in a["codes"])
        return [f'case " {codes} " in *" $CODE "*) ;; *) {fail};; esac']
    if kind == "not-earlier":
        return [
            f'if is_booking; then [ "$(bid)" != "{ref}" ] || {fail}; CREATED+=("$(bid)");'
            f' else [ "$CODE" = 200 ] && failed || {fail}; fi'
        ]
    if kind == "cancelled":
        return [f'is_booking && [ "$(bid)" = "{ref}" ] && has \'"CANCELED"\' || {fail}']
    if kind == "recancel":
        return [f'{{ [ "$CODE" = 200 ] && has \'"(BOOKING_ALREADY_CANCELLED|CANCELED)"\'; }} || {fail}']
    if kind == "rescheduled":
        start = _start_of(s)
        return [f'is_booking && [ "$(bid)" = "{ref}" ] && has \'"?{start}"?\' || {fail}']
    if kind == "party":
        size = a["party_size"]
        pattern = f'"party_?[sS]ize"[[:space:]]*:[[:space:]]*"?{size}'
        return [f'is_booking && [ "$(bid)" = "{ref}" ] && has \'{pattern}\' || {fail}']
    if kind == "status":
        statuses = "|".join(a["statuses"])
        return [f'[ "$CODE" = 200 ] && has \'"({statuses})"\' || {fail}']
    if kind == "list":
        ids = [f"${_var('booking', i)}" for i in a["active"]]
        mine = " ".join(f"${_var('booking', i)}" for i in a["active"] + a["cancelled"])
        checks = " && ".join(f'has "{i}"' for i in ids) or "true"
        return [f'[ "$CODE" = 200 ] && {checks} || {fail}', f'only_ids "{mine}" || {fail}']
    if kind == "list-unknown":
        return [f'[ "$CODE" = 404 ] || {{ [ "$CODE" = 200 ] && [ -z "$(bid)" ]; }} || {fail}']
    if kind == "bal":
        count = sum(1 for x in a["available"] if x)
        return [f'[ "$CODE" = 200 ] && [ "$(available)" -eq {count} ] || {fail}']
    if kind == "count":
        test = "-gt 0" if a["open"] else "-eq 0"
        return [f'[ "$CODE" = 200 ] && [ "$(count)" {test} ] || {fail}']
    if kind == "lease":
        return [
            f'[ "$CODE" = 200 ] && ! failed && [ -n "$(field lease_id leaseId)" ] || {fail}',
            f'{_var("lease", s.index)}="$(field lease_id leaseId)"',
        ]
    if kind == "same-lease":
        return [
            f'[ "$CODE" = 200 ] && [ "$(field lease_id leaseId)" = "${_var("lease", a["step"])}" ] || {fail}'
        ]
    return []
