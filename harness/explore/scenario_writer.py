"""The shortest failing history as a scenario file that ``bookcheck run --scenario-file`` replays.

Slots become slot requirements of the same shape (exact open spots, the same confirmation mode, ``like``
relations for the reschedule and party-size targets and the other service), so the runner allocates fresh
slots of the feed that behave like the explored ones; users, tokens and ids become templates. Each step
gets the checks that state the model's prediction with the scenario vocabulary (``booking-created``,
``business-failure``, ``bal-available``, ...); the failing step's check names the broken rule.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from harness.catalogue import rules_by_id
from harness.checks import REGISTRY
from harness.explore import ops as o
from harness.explore.driver import ExampleRecord, StepRecord
from harness.explore.expect import Expect
from harness.explore.reads import UNKNOWN_BOOKING

ASYNC = "CONFIRMATION_MODE_ASYNCHRONOUS"
DIFFER = {o.ROLE_A2: "start", o.ROLE_B: "service", o.ROLE_P: "party_size"}


def scenario_id(rule: str) -> str:
    return "explore/" + re.sub(r"[^a-z0-9]+", "-", rule.lower()).strip("-")


def replayed_steps(ex: ExampleRecord) -> list[StepRecord]:
    """The executed steps up to and including the failing one (skipped operations are left out)."""
    out = []
    for s in ex.steps:
        if s.skipped is None:
            out.append(s)
        if s.index == ex.failing_step:
            break
    return out


def scenario_document(ex: ExampleRecord, rule: str, *, seed: int) -> dict[str, Any]:
    replayed = replayed_steps(ex)
    steps = [s for s in replayed if not isinstance(s.op, o.Wait)]
    waits = (
        "; its waits for lease expiry cannot be written in a scenario file: the script replays them"
        if len(steps) < len(replayed)
        else ""
    )
    ids = {s.index: f"s{n}" for n, s in enumerate(steps, 1)}
    used = _roles(steps)
    slots: dict[str, Any] = {}
    for role in sorted(used, key=lambda r: (r != o.ROLE_A, r)):
        s = ex.slots[role]
        spec: dict[str, Any] = {
            "spots": [s.spots_open, s.spots_open],
            "mode": "async" if s.confirmation_mode == ASYNC else "sync",
        }
        if role != o.ROLE_A:
            spec.update(like="a", differ=DIFFER[role])
        slots[o.ROLE_NAMES[role]] = spec
    r = rules_by_id()[rule]
    return {
        "scenarios": [
            {
                "id": scenario_id(rule),
                "title": f"explore: the shortest history found that breaks {rule} "
                f"(seed {seed}, {len(steps)} steps{waits})",
                "spec": [r.spec],
                "requires": sorted(_requires(steps)),
                "slots": slots,
                "steps": [_step(s, ids, s.index == ex.failing_step, rule) for s in steps],
            }
        ]
    }


def scenario_yaml(ex: ExampleRecord, rule: str, *, seed: int) -> str:
    doc = scenario_document(ex, rule, seed=seed)
    head = (
        f"# bookcheck explore: the shortest failing history for {rule}.\n"
        f"# Replay: bookcheck run --target URL --feed FEED --scenario-file THIS_FILE "
        f"--scenario '{scenario_id(rule)}'\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, width=110)


def _roles(steps: list[StepRecord]) -> set[int]:
    roles = {o.ROLE_A}
    for s in steps:
        roles |= {r for r in o.roles_used([s.op]) if r in DIFFER}
        if "role" in s.refs and s.refs["role"] in DIFFER:
            roles.add(s.refs["role"])
    return roles


def _requires(steps: list[StepRecord]) -> set[str]:
    need = set()
    for s in steps:
        op = s.op
        if isinstance(op, (o.Lease, o.BookOnLease)):
            need.add("leases")
        elif isinstance(op, o.PartySize):
            need.add("party_size_change")
        elif isinstance(op, o.Status):
            need.add("get_booking_status")
        elif isinstance(op, o.ListUser):
            need.add("list_bookings")
        elif isinstance(op, o.Bal):
            need.add("bal")
        elif isinstance(op, o.Count):
            need.add("check_availability")
    return need


def _slot(role: int, kind: str = "slot") -> str:
    if role == o.ROLE_UNKNOWN:
        return f"${{unknown_{kind}.a}}"
    return f"${{{kind}.{o.ROLE_NAMES[role]}}}"


def _booking_ref(step_id: str) -> str:
    return f"${{steps.{step_id}.response.booking.booking_id}}"


def _request(s: StepRecord, ids: dict[int, str]) -> Any:
    """The step's request with templates in place of this run's slots, users, tokens and ids."""
    op, req = s.op, s.request
    if isinstance(op, o.Book):
        return {
            "slot": _slot(op.slot),
            "user_information": f"${{user.u{op.user}}}",
            "idempotency_token": f"${{token.t{op.token}}}",
        }
    if isinstance(op, o.BookOnLease):
        lease_step = ids.get(s.refs.get("lease", -1), "s1")
        return {
            "slot": _slot(s.refs.get("role", o.ROLE_A)),
            "lease_ref": {"lease_id": f"${{steps.{lease_step}.response.lease.lease_id}}"},
            "user_information": f"${{user.u{op.user}}}",
            "idempotency_token": f"${{token.t{op.token}}}",
        }
    if isinstance(op, o.Lease):
        return {
            "lease": {
                "slot": _slot(op.slot),
                "user_reference": f"${{token.l{op.ref}}}",
                "lease_expiration_time_sec": f"${{now+{o.SHORT_LEASE_SEC if op.short else 300}}}",
            }
        }
    if isinstance(op, o.Bal):
        return {
            "merchant_id": "${slot.a.merchant_id}",
            "slot_time": [_slot(r, "slot_time") for r in op.slots],
        }
    if isinstance(op, o.Count):
        return {"slot": _slot(op.slot)}
    if isinstance(op, o.ListUser):
        return {"user_id": f"${{user.u{op.user}.user_id}}"}
    if isinstance(op, o.Status):
        if op.booking < 0:
            return {"booking_id": f"{UNKNOWN_BOOKING}-${{token.unknown}}"}
        return {"booking_id": _booking_ref(ids.get(s.refs.get("booking", -1), "s1"))}
    if isinstance(op, o.Cancel) and op.booking < 0:
        return {"booking": {"booking_id": f"{UNKNOWN_BOOKING}-${{token.unknown}}", "status": "CANCELED"}}
    booking = dict(req["booking"])
    booking["booking_id"] = _booking_ref(ids.get(s.refs.get("booking", -1), "s1"))
    target = s.refs.get("role")
    if isinstance(op, (o.Cancel, o.Reschedule, o.PartySize)) and op.whole and target is not None:
        booking["slot"] = _slot(target)  # D27: the whole booking, on the replay's own slots
        booking["user_information"] = f"${{user.u{s.refs.get('user', 0)}}}"
    elif isinstance(op, o.Reschedule) and target is not None:
        booking["slot"] = f"${{new_time.{o.ROLE_NAMES[target]}}}"
    elif isinstance(op, o.PartySize) and target is not None:
        booking["slot"] = {"resources": {"party_size": f"${{slot.{o.ROLE_NAMES[target]}.party_size}}"}}
    return {"booking": booking}


def _step(s: StepRecord, ids: dict[int, str], failing: bool, rule: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ids[s.index], "call": s.operation, "request": _request(s, ids)}
    checks = _checks(s.expect, ids, failing, rule) if s.expect is not None else []
    if checks:
        out["expect"] = checks
    return out


def _with_rule(name: str, args: dict[str, Any], rule: str) -> dict[str, Any]:
    reg = REGISTRY.get(name)
    if reg is not None and (reg.generic_rule or rule in reg.rules):
        args["rule"] = rule
    return {name: args}


def _checks(e: Expect, ids: dict[int, str], failing: bool, broken: str) -> list[Any]:
    a = e.args
    ref = ids.get(a.get("step", -1), "s1")
    rule = broken if failing else a.get("rule", broken)
    k = e.kind
    if k == "booking":
        return [
            _with_rule("booking-created", {"slot": o.ROLE_NAMES[a["role"]], "user": f"u{a['user']}"}, rule)
        ]
    if k == "same-booking" and a.get("rule", "").startswith("create-booking/replay-after-"):
        # D26: the token's booking in its current or original state (a cancelled booking comes back CANCELED)
        return [{"token-replayed": {"step": ref, "update": ids.get(a["update"], ref), "rule": rule}}]
    if k == "same-booking" or (k == "d24" and failing):
        return [_with_rule("same-booking-as", {"step": ref}, rule)]
    if k == "failure":
        return [{"business-failure": {"rule": rule, "causes": list(a["causes"])}}]
    if k == "refusal":
        return [{"no-booking": {"rule": rule, "any_refusal": True}}]
    if k == "http":
        return [{"status-in": {"rule": rule, "codes": list(a["codes"])}}]
    if k == "not-earlier":
        return [{"not-earlier-booking": {"step": ref}}]
    if k in ("cancelled", "recancel"):
        return [{k: {"step": ref}}]
    if k == "rescheduled":
        return [{"rescheduled": {"step": ref, "slot": o.ROLE_NAMES[a["role"]]}}]
    if k == "party":
        size = f"${{slot.{o.ROLE_NAMES[a['role']]}.party_size}}"  # the replay's own slot, not this run's
        return [{"party-size-changed": {"step": ref, "party_size": size}}]
    if k == "status":
        return [_with_rule("booking-status", {"step": ref, "status": list(a["statuses"])}, rule)]
    if k == "list":
        return [
            {
                "list-bookings": {
                    "user": f"u{a['user']}",
                    "active": [ids[i] for i in a["active"] if i in ids],
                    "others": [ids[i] for i in a["others"] if i in ids],
                    "cancelled": [ids[i] for i in a["cancelled"] if i in ids],
                }
            }
        ]
    if k == "list-unknown":
        return ["list-unknown-user"]
    if k == "bal":
        rules = list(a["rules"])
        return [
            "bal-shape",
            {
                "bal-available": {
                    "expect": list(a["available"]),
                    "rule": broken if failing and broken in rules else rules[0],
                }
            },
        ]
    if k == "count" and a["role"] != o.ROLE_UNKNOWN:
        return [{"check-availability": {"slot": o.ROLE_NAMES[a["role"]], "open": bool(a["open"])}}]
    if k == "lease":
        return [{"lease-created": {"slot": o.ROLE_NAMES[a["role"]], "now": "${now}"}}]
    if k == "same-lease":
        return [{"same-lease-as": {"step": ref}}]
    return []
