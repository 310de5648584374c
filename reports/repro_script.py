"""The bash + curl text of a reproducer (see :mod:`reports.repro` for what is replayed and why).

The script needs only bash, curl and python3 (standard library): python3 runs the source of
:mod:`reports.symptom`, embedded verbatim, to capture ids from answers and to judge the decisive step, so
the script and ``bookcheck replay`` decide alike. Credentials come from ``BOOKCHECK_USER`` and
``BOOKCHECK_PASSWORD`` and reach curl through a pipe (``-K <(...)``): never in the script, on disk or in the
process list.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from harness.results import RunResult

from . import symptom as symptom_mod
from .repro import Plan, ReplayCall, body_text, plans

BODY_END = "__BOOKCHECK_BODY__"
PY_END = "__BOOKCHECK_PY__"

#: The command-line driver appended to the embedded symptom module: capture, judge, bookings.
DRIVER = r"""

import json as _json
import sys as _sys


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _decode(text):
    try:
        return _json.loads(text)
    except ValueError:
        return text or None


def _load(work, n):
    meta = _read(f"{work}/{n}.meta").split()
    status = int(meta[0]) if meta and meta[0].isdigit() and int(meta[0]) > 0 else None
    ctype = ""
    for line in _read(f"{work}/{n}.head").splitlines():
        if line.lower().startswith("content-type:"):
            ctype = line.split(":", 1)[1].strip()
    return {"status": status, "content_type": ctype, "body": _decode(_read(f"{work}/{n}.body")),
            "request": _decode(_read(f"{work}/{n}.req")),
            "elapsed_ms": float(meta[1]) * 1000 if len(meta) > 1 else 0.0}


def _indexes(text):
    return [int(x) for x in text.split(",") if x]


def _ids_of(call):
    body = snake(call["body"])
    found = [_dict(body, "booking").get("booking_id"), _dict(body, "lease").get("lease_id")]
    return [str(i) for i in found if i]


def _capture(work, n, path):
    value = snake(_load(work, n)["body"])
    for key in path:
        if isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            value = None
    print(_json.dumps(value)[1:-1] if isinstance(value, str) else "")
    return 0


def _judge(work, sym, decisive, earlier):
    calls = [_load(work, n) for n in decisive]
    if all(_load(work, n)["status"] is None for n in earlier + decisive):
        print("no answer from the target: check the URL (exit 2)", file=_sys.stderr)
        return 2
    ids = [i for n in earlier for i in _ids_of(_load(work, n))]
    seen = observe(sym["rule"], calls, ids, bool(sym.get("concurrent")))
    if seen == sym["observed"]:
        print(f"REPRODUCED {sym['rule']}: {describe(sym)}")
        return 1
    print(f"not reproduced: {sym['rule']} holds now. The broken server answered: {describe(sym)}")
    print(f"  this one answered: {describe(dict(sym, observed=seen))}")
    return 0


def _bookings(work, created):
    for n in created:
        for booking_id in _ids_of(_load(work, n))[:1]:
            print(_json.dumps({"booking": {"booking_id": booking_id, "status": "CANCELED"}}))
    return 0


def _main(argv):
    cmd, work = argv[1], argv[2]
    if cmd == "capture":
        return _capture(work, argv[3], argv[4:])
    if cmd == "judge":
        return _judge(work, _json.loads(argv[3]), _indexes(argv[4]), _indexes(argv[5]))
    return _bookings(work, _indexes(argv[3]))


_sys.exit(_main(_sys.argv))
"""

HEAD = r"""set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: BOOKCHECK_USER=... BOOKCHECK_PASSWORD=... $0 BASE_URL   (e.g. https://booking.example.com)" >&2
  exit 2
fi
BASE=${1%/}
if [ -z "${BOOKCHECK_USER:-}" ] || [ -z "${BOOKCHECK_PASSWORD+set}" ]; then
  echo "$0: export BOOKCHECK_USER and BOOKCHECK_PASSWORD first" >&2
  exit 2
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 2; }
done
TIMEOUT=${BOOKCHECK_TIMEOUT:-30}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# the target's clock minus ours: 0, unless BOOKCHECK_NOW gives the "now" of a server on a fake clock
CLOCK_OFFSET=$(( ${BOOKCHECK_NOW:-$(date +%s)} - $(date +%s) ))
RUN="$(date +%s)$(printf %05d "$RANDOM")"   # fresh tokens and user ids on every run
declare -A V=()

creds() {  # curl config on a pipe: the credentials never reach a file or the process list
  local u=${BOOKCHECK_USER//\\/\\\\} p=${BOOKCHECK_PASSWORD//\\/\\\\}
  u=${u//\"/\\\"}; p=${p//\"/\\\"}
  printf 'user = "%s:%s"\n' "$u" "$p"
}
fill() {  # replace @@NAME@@ placeholders with this run's values
  local s=$1 k
  for k in "${!V[@]}"; do s=${s//"@@$k@@"/"${V[$k]}"}; done
  printf '%s' "$s"
}
call() {  # call N METHOD PATH AUTH [BODY]: answer in $W/N.body, headers in N.head, "status seconds" in N.meta
  local n=$1 method=$2 path=$3 auth=$4
  local args=(-sS --max-time "$TIMEOUT" -o "$W/$n.body" -D "$W/$n.head" -w '%{http_code} %{time_total}'
              -X "$method" -H 'User-Agent: bookcheck-repro')
  if [ $# -ge 5 ]; then
    fill "$5" > "$W/$n.req"
    args+=(-H 'Content-Type: application/json' --data-binary "@$W/$n.req")
  fi
  case $auth in
    default) curl "${args[@]}" -K <(creds) "$BASE$path" > "$W/$n.meta" 2> "$W/$n.err" ;;
    wrong) curl "${args[@]}" -u 'bookcheck-wrong-user:bookcheck-wrong-password' "$BASE$path" \
             > "$W/$n.meta" 2> "$W/$n.err" ;;
    *) curl "${args[@]}" "$BASE$path" > "$W/$n.meta" 2> "$W/$n.err" ;;
  esac
  return 0
}
"""


def script(plan: Plan, tool_version: str) -> str:
    """The whole reproducer of ``plan``."""
    check, rule = plan.check, plan.rule
    level = rule.level if rule else check.severity.value
    lines = [
        "#!/usr/bin/env bash",
        f"# bookcheck reproducer (bookcheck {tool_version}) of rule {plan.rule_id} ({level}, {check.spec})",
    ]
    if rule is not None:
        lines.append(f"#   {rule.text}")
    lines += [
        f"# Seen in scenario {check.scenario_id}, step {check.step}: {check.message}"
        + (f" ({plan.occurrences} occurrences in the run)" if plan.occurrences > 1 else ""),
        f"# Symptom when broken: {symptom_mod.describe(plan.symptom)}"[:400],
        "#",
        "# Usage:  export BOOKCHECK_USER=... BOOKCHECK_PASSWORD=...;  bash THIS_FILE BASE_URL",
        f"# Replays {len(plan.calls)} call(s) of the scenario up to and including that step, with fresh",
        "# idempotency tokens and user ids on every run and the same slots (load the server with the same",
        "# feed), then judges the step. Exit 1: the deviation reproduces; 0: it does not; 2: usage or no",
        "# answer. Keep it as a regression test. Needs bash, curl and python3; cancels the bookings it made.",
        HEAD,
        "PY=$(cat <<'" + PY_END + "'",
        Path(symptom_mod.__file__).read_text(encoding="utf-8").rstrip() + DRIVER.rstrip(),
        PY_END,
        ")",
    ]
    lines += [_fresh(name, kind) for name, kind in plan.fresh if not kind.startswith("now")]
    lines += _calls(plan.calls, {name: kind for name, kind in plan.fresh if kind.startswith("now")})
    decisive = ",".join(map(str, plan.decisive))
    earlier = ",".join(str(c.index) for c in plan.calls if c.index not in plan.decisive)
    created = ",".join(str(c.index) for c in plan.calls if c.operation == "CreateBooking")
    cancel = next((c.path for c in plan.calls if c.operation == "UpdateBooking"), "/v3/UpdateBooking")
    lines += [
        "",
        f'python3 -c "$PY" judge "$W" {shlex.quote(json.dumps(plan.symptom, sort_keys=True))} '
        f"'{decisive}' '{earlier}'",
        "verdict=$?",
        "i=0",
        "while IFS= read -r body; do  # cleanup: cancel what the replay booked",
        f'  i=$((i + 1)); call "cleanup$i" POST {shlex.quote(cancel or "/v3/UpdateBooking")} default "$body"',
        f'done < <(python3 -c "$PY" bookings "$W" \'{created}\')',
        "exit $verdict",
    ]
    return "\n".join(lines) + "\n"


def _calls(calls: tuple[ReplayCall, ...], times: dict[str, str]) -> list[str]:
    """The calls, in recorded order; a group of concurrent calls runs in the background, then ``wait``."""
    out: list[str] = []
    by_group: dict[int, list[ReplayCall]] = {}
    for c in calls:
        by_group.setdefault(c.group, []).append(c)
    for members in by_group.values():
        first = members[0]
        out.append("")
        out.append(
            f"# step {first.step}: {first.operation}"
            + (f" x{len(members)}, concurrent" if len(members) > 1 else "")
        )
        if first.wait_s:  # one second more: times are whole seconds on both sides
            out.append(f"sleep {first.wait_s + 1:g}")
        for c in members:
            out += _one_call(c, times, background=len(members) > 1)
        if len(members) > 1:
            out.append("wait")
        for c in members:
            for name, path in c.captures:
                keys = " ".join(shlex.quote(str(k)) for k in path)
                out.append(f'V[{name}]=$(python3 -c "$PY" capture "$W" {c.index} {keys})')
    return out


def _one_call(c: ReplayCall, times: dict[str, str], *, background: bool) -> list[str]:
    path = shlex.quote(c.path or f"/v3/{c.operation}")
    tail = " &" if background else ""
    if c.body is None:
        return [f"call {c.index} {c.method} {path} {c.auth}{tail}"]
    text = body_text(c) or ""
    if BODY_END in text:
        raise ValueError("a request body contains the here-document delimiter")
    return [
        *(_fresh(name, kind) for name, kind in times.items() if f"@@{name}@@" in text),
        f"B{c.index}=$(cat <<'{BODY_END}'",
        text,
        BODY_END,
        ")",
        f'call {c.index} {c.method} {path} {c.auth} "$B{c.index}"{tail}',
    ]


def _fresh(name: str, kind: str) -> str:
    """The bash line giving placeholder ``name`` this run's value (as :func:`reports.repro.fresh_values`)."""
    if kind == "token":
        return f'V[{name}]="bookcheck-repro-$RUN-{name}"'
    if kind == "user":
        return f'V[{name}]="${{RUN}}{name[1:]}"'
    return (
        f"V[{name}]=$(($(date +%s) + CLOCK_OFFSET + {int(kind[3:])}))  # computed from now, as of this call"
    )


def write_all(result: RunResult, directory: str) -> list[str]:
    """Write one executable ``.sh`` per broken rule of a REST run into ``directory`` (plus README.txt);
    return the file names. A gRPC run gets only the README, pointing at ``bookcheck replay``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for plan in plans(result) if result.transport == "rest" else []:
        path = out / plan.file_name
        path.write_text(script(plan, result.tool_version), encoding="utf-8")
        os.chmod(path, 0o755)
        written.append(plan.file_name)
    (out / "README.txt").write_text(_readme(result, written), encoding="utf-8")
    return written


def _readme(result: RunResult, written: list[str]) -> str:
    lines = [
        f"bookcheck reproducers of the run against {result.target} ({result.started_at})",
        "",
        "Each script replays one scenario up to the step where a rule broke, and judges that step.",
        "  export BOOKCHECK_USER=... BOOKCHECK_PASSWORD=...",
        "  ./RULE.sh https://your-server/base      # exit 1: still broken, 0: fixed, 2: usage",
        "Any transport (gRPC included): bookcheck replay REPORT.json --rule RULE --target URL",
        "",
    ]
    lines += [f"  {name}" for name in written] or ["  (no REST reproducer: nothing broken, or a gRPC run)"]
    return "\n".join(lines) + "\n"
