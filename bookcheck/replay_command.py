"""``bookcheck replay``: replay one broken rule of a saved run against a target, through the harness.

    bookcheck replay out/bookcheck.json --rule create-booking/full-slot-unavailable --target URL

The same plan as the rule's bash reproducer (``--report repro:DIR``, :mod:`reports.repro`): the scenario's
calls up to and including the failing step, with fresh tokens and user ids, ids captured from earlier
answers and the same slots; then the decisive step is judged with the rule's symptom. Unlike the script it
works over any transport the harness speaks, gRPC included, and takes the credential options of ``run``.

Exit codes (as the script): 1 the deviation reproduces, 0 it does not, 2 usage, 3 target unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from bookcheck import __version__
from bookcheck.options import add_target_options
from harness.errors import ExitCode, UsageError
from harness.prepare import RunOptions, prepare
from harness.target_base import Reply, Target
from harness.targets import make_target
from reports import symptom as symptom_mod
from reports.command import load
from reports.repro import Plan, ReplayCall, as_call, body_text, fill, fresh_values, plans


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay one broken rule of a saved JSON report against a target",
        description="Replay the steps that broke RULE in a saved run (--report json:PATH of 'bookcheck run') "
        "against TARGET, with fresh tokens and user ids and the same slots, and judge the failing step. "
        "Exit codes: 1 the deviation reproduces, 0 it does not, 2 usage error, 3 target unreachable. "
        "Set BOOKCHECK_NOW (epoch seconds) only for a target whose clock is not the real one.",
    )
    p.add_argument("json_report", metavar="REPORT.json", help="a JSON report written by 'bookcheck run'")
    p.add_argument(
        "--rule", required=True, metavar="ID", help="the broken rule to replay, e.g. lease/holds-spot"
    )
    add_target_options(p)
    p.set_defaults(func=replay_command)


def replay_command(args: argparse.Namespace) -> ExitCode:
    try:
        result = load(args.json_report)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    found = {p.rule_id: p for p in plans(result)}
    if args.rule not in found:
        broken = ", ".join(sorted(found)) or "none"
        raise UsageError(f"--rule {args.rule!r} did not break in {args.json_report} (broken: {broken})")
    config = prepare(_options(args))
    plan = found[args.rule]
    if not config.target.url.startswith("http") and any(c.raw for c in plan.calls):
        raise UsageError(f"{args.rule}: the scenario sends raw (non-JSON) bodies, which only REST can carry")
    now = float(os.environ.get("BOOKCHECK_NOW") or time.time())
    return asyncio.run(_replay(plan, make_target(config.target), now))


def _options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        target=args.target,
        user=args.user,
        password=args.password,
        credentials_file=args.credentials_file,
        ca_file=args.ca_file,
        insecure=args.insecure,
        timeout=args.timeout,
        trailing_slash=args.trailing_slash,
        needs_scenarios=False,
        tool_version=__version__,
    )


async def _replay(plan: Plan, target: Target, now: float) -> ExitCode:
    """Send the plan's calls group by group, judge the decisive step, cancel what was booked."""
    values = fresh_values(plan.fresh, now)
    start = time.monotonic()
    replies: dict[int, Reply] = {}
    try:
        await target.preflight()
        for group in _groups(plan.calls):
            if group[0].wait_s:
                await asyncio.sleep(group[0].wait_s + 1)  # times are whole seconds on both sides
            values.update(_times(plan, now + time.monotonic() - start))
            answered = await asyncio.gather(*(_send(target, c, values) for c in group))
            for call, reply in zip(group, answered, strict=True):
                replies[call.index] = reply
                for name, path in call.captures:
                    values[name] = _capture(reply, path)
        verdict = _judge(plan, replies)
        await _cleanup(target, plan, replies)
    finally:
        await target.close()
    return verdict


def _times(plan: Plan, now: float) -> dict[str, str]:
    """Times the requests computed from "now" (a lease's expiry), as of ``now``."""
    return fresh_values(tuple(f for f in plan.fresh if f[1].startswith("now")), now)


def _groups(calls: tuple[ReplayCall, ...]) -> list[list[ReplayCall]]:
    out: dict[int, list[ReplayCall]] = {}
    for c in calls:
        out.setdefault(c.group, []).append(c)
    return list(out.values())


async def _send(target: Target, call: ReplayCall, values: dict[str, str]) -> Reply:
    text = body_text(call)
    filled = fill(text, values) if text is not None else None
    path = call.path if target.transport == "rest" else None
    if call.raw and filled is not None:
        return await target.call(call.operation, None, auth=call.auth, raw=filled.encode(), path=path)
    body = json.loads(filled) if filled is not None else None
    return await target.call(call.operation, body, auth=call.auth, path=path)


def _capture(reply: Reply, path: tuple[str | int, ...]) -> str:
    response = reply.exchange.response
    value: Any = symptom_mod.snake(response.body if response is not None else None)
    for key in path:
        if isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            value = value.get(str(key)) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def _judge(plan: Plan, replies: dict[int, Reply]) -> ExitCode:
    calls = [as_call(replies[i].exchange) for i in plan.decisive]
    earlier = [
        i
        for c in plan.calls
        if c.index not in plan.decisive
        for i in _ids(as_call(replies[c.index].exchange))
    ]
    seen = symptom_mod.observe(plan.rule_id, calls, earlier, bool(plan.symptom.get("concurrent")))
    if seen == plan.symptom["observed"]:
        print(f"REPRODUCED {plan.rule_id}: {symptom_mod.describe(plan.symptom)}")
        return ExitCode.DEVIATIONS
    print(
        f"not reproduced: {plan.rule_id} holds now. The broken server answered: "
        f"{symptom_mod.describe(plan.symptom)}"
    )
    print(f"  this one answered: {symptom_mod.describe(dict(plan.symptom, observed=seen))}")
    return ExitCode.OK


def _ids(call: dict[str, Any]) -> list[str]:
    body = symptom_mod.snake(call["body"])
    booking = body.get("booking") if isinstance(body, dict) else None
    lease = body.get("lease") if isinstance(body, dict) else None
    found = [(booking or {}).get("booking_id"), (lease or {}).get("lease_id")]
    return [str(i) for i in found if i]


async def _cleanup(target: Target, plan: Plan, replies: dict[int, Reply]) -> None:
    """Cancel the bookings the replay made, so it can run again on the same server."""
    for c in plan.calls:
        if c.operation != "CreateBooking":
            continue
        ids = _ids(as_call(replies[c.index].exchange))
        booking_id = ids[0] if ids else None
        if booking_id:
            body = {"booking": {"booking_id": booking_id, "status": "CANCELED"}}
            await target.call("UpdateBooking", body)
    sys.stdout.flush()
