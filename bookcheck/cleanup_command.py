"""``bookcheck cleanup LEDGER --target URL``: cancel what a killed run left on the target.

Every ``run`` writes a ledger file of the bookings and leases it creates (``--ledger PATH``, default under the
system's temporary directory; the run names it). A run that ends normally, or on one Ctrl-C, cleans up after
itself; one that was killed outright leaves the ledger behind, and this command finishes the job. It is
idempotent: a second call finds nothing left to do, and a booking someone already cancelled counts as done.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from booking_protocol.errors import ExitCode
from harness.checks import booking_id, is_booking
from harness.journal import Journal, read_ledger
from harness.ledger import CreatedItem, CreatedRegistry, cleanup
from harness.prepare import RunOptions, prepare
from harness.results import CreatedResource
from harness.targets import make_target


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cleanup",
        help="cancel the bookings and leases a killed run left behind (from its ledger file)",
        description="Read the ledger file of an earlier 'bookcheck run' and cancel every booking (and "
        "release every live lease) it created that its own cleanup did not reach. Safe to repeat. "
        "Exit 0 when nothing is left, 1 when something could not be cleaned up (listed), 2 on a bad ledger "
        "or flags, 3 when the target cannot be reached.",
    )
    p.add_argument("ledger", metavar="LEDGER", help="the ledger file the run named (--ledger of 'run')")
    p.add_argument("--target", metavar="URL", help="the target of that run (default: the one in the ledger)")
    p.add_argument("--user", help="HTTP Basic user (or BOOKCHECK_USER)")
    p.add_argument("--password", help="HTTP Basic password (or BOOKCHECK_PASSWORD)")
    p.add_argument("--credentials-file", metavar="FILE", help="one line 'username:password'")
    p.add_argument("--ca-file", metavar="PEM", help="CA bundle to verify the target's TLS certificate")
    p.add_argument("--insecure", action="store_true", help="do not verify the target's TLS certificate")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SEC", help="per-call timeout (default 10)")
    p.set_defaults(func=cleanup_command)


def cleanup_command(args: argparse.Namespace) -> int:
    ledger = read_ledger(args.ledger)
    target_url = args.target or ledger.target
    options = RunOptions(
        target=target_url,
        user=args.user,
        password=args.password,
        credentials_file=args.credentials_file,
        ca_file=args.ca_file,
        insecure=args.insecure,
        timeout=args.timeout,
        needs_scenarios=False,
    )
    config = prepare(options)
    if not ledger.pending and not ledger.in_flight:
        print(f"bookcheck cleanup: nothing left to clean up ({ledger.created} resources in {args.ledger})")
        return int(ExitCode.OK)
    flying = f", and {len(ledger.in_flight)} booking request(s) in flight" if ledger.in_flight else ""
    print(
        f"bookcheck cleanup: {len(ledger.pending)} of {ledger.created} resources left on {target_url}{flying}"
    )
    registry = CreatedRegistry()
    for e in ledger.pending:
        registry.items[(e.kind, e.id)] = CreatedItem(
            e.kind, e.id, e.scenario_id, slot=e.slot, expires=e.expires
        )
    resources = asyncio.run(_clean(config, registry, ledger.in_flight, args.ledger))
    return _print_outcome(resources)


async def _clean(
    config: Any, registry: CreatedRegistry, in_flight: tuple[dict[str, Any], ...], ledger_path: str
) -> tuple[CreatedResource, ...]:
    target = make_target(config.target)
    journal = Journal(ledger_path, target=target.url)
    try:
        await target.preflight()
        for request in in_flight:  # its token returns the booking if the killed run's request made one
            reply = await target.call("CreateBooking", request)
            if is_booking(reply):
                bid = booking_id(reply)
                registry.items[("booking", bid)] = CreatedItem("booking", bid, "(in flight when killed)")
            journal.resolved(str(request["idempotency_token"]))
        resources = await cleanup(target, registry, False, "cleanup", config.clock)
    finally:
        await target.close()
    for r in resources:
        if r.cleaned_up:
            journal.cleaned(r.kind, r.id, r.note)
    journal.close()
    return resources


def _print_outcome(resources: tuple[CreatedResource, ...]) -> int:
    left = [r for r in resources if not r.cleaned_up]
    done = len(resources) - len(left)
    print(f"bookcheck cleanup: {done} cleaned up, {len(left)} left")
    for r in left:
        print(f"  {r.kind} {r.id} ({r.scenario_id}): {r.note or 'not cleaned up'}", file=sys.stderr)
    return int(ExitCode.DEVIATIONS if left else ExitCode.OK)


__all__ = ["register"]
