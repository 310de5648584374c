"""``bookcheck load``: Google-like traffic on Locust, over local or remote workers, with a readiness verdict
and the correctness audit. Flags only: the run itself is :func:`loadtest.orchestrate.execute`; target,
credentials, feed and profile come through :func:`harness.prepare.prepare` like every other command.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bookcheck import __version__
from bookcheck.options import (
    add_inventory_options,
    add_profile_options,
    add_target_options,
    positive,
    seconds,
)
from booking_protocol.errors import ExitCode, UsageError
from harness.prepare import PROFILE_FIELDS, RunOptions, prepare

REPORT_FORMATS = ("json", "junit", "html")

DESCRIPTION = """\
Drive Google-like traffic at a booking server with Locust (spawning, pacing, statistics, master/worker
distribution), judge it against Google's published thresholds and "Booking Server Ready" milestones, then
audit what the load did (no overbooked slot, one booking per resent token, bookings still known, availability
agreeing with booking) and cancel every booking it made. See docs/load.md.

exit codes: 0 READY; 1 NOT READY (a threshold, milestone or audit check failed); 2 usage error;
3 target unreachable or workers missing; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). An interrupted
run still audits and cleans up what it made."""

EPILOG = """\
examples:
  bookcheck load --target http://127.0.0.1:8080 --feed feed/ --user u --password p --duration 60 --workers 2
  bookcheck load --target https://partner.example/api --feed avail.json --i-own-this-target --rps 50
  # workers on several machines (each worker needs only the master's address):
  bookcheck load --master --expect-workers 2 --target ... --feed ...   # on machine A
  bookcheck load --worker --master-host A                             # on machines B and C"""


def _rate(text: str) -> float:
    value: float = seconds(text)
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "load",
        help="Google-like load on Locust, with a readiness verdict and a correctness audit",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(p)
    p.set_defaults(func=load_command)
    add_inventory_options(p)
    add_profile_options(p)
    _relax_target(p)
    load = p.add_argument_group("load (Locust)")
    load.add_argument(
        "--users", type=positive, default=10, metavar="N", help="simulated Google users (default 10)"
    )
    load.add_argument(
        "--spawn-rate", type=_rate, default=10.0, metavar="R", help="users started per second (default 10)"
    )
    load.add_argument(
        "--duration",
        type=seconds,
        default=60.0,
        metavar="SEC",
        help="how long the load runs; the run always stops by itself (default 60)",
    )
    load.add_argument(
        "--rps",
        type=_rate,
        metavar="R",
        help="target arrival rate in requests per second, kept "
        "when the server slows (open model); default: users go back to back",
    )
    load.add_argument(
        "--mix",
        default="google",
        metavar="google|FILE.yaml",
        help="the traffic mix (default: google, an assumption: scenarios/load/google.yaml)",
    )
    load.add_argument(
        "--workers",
        type=positive,
        default=1,
        metavar="N",
        help="local Locust worker processes under one master (default 1)",
    )
    load.add_argument("--seed", type=int, default=0, help="seed of slot and action choice (default 0)")
    load.add_argument("--nonce", help="pin the per-run nonce in tokens and user ids (default: random)")
    load.add_argument("--web", action="store_true", help="also serve Locust's own web UI on --web-port")
    load.add_argument("--web-port", type=positive, default=8089, metavar="P", help="(default 8089)")
    dist = p.add_argument_group("workers on several machines (Locust's flag names)")
    dist.add_argument(
        "--master", action="store_true", help="run only the master; workers join from elsewhere"
    )
    dist.add_argument(
        "--master-bind-host", default="0.0.0.0", metavar="H", help="with --master (default all)"
    )
    dist.add_argument("--master-bind-port", type=positive, default=5557, metavar="P", help="(default 5557)")
    dist.add_argument(
        "--expect-workers",
        type=positive,
        default=1,
        metavar="N",
        help="with --master: workers to wait for before starting (default 1)",
    )
    dist.add_argument(
        "--expect-workers-timeout",
        type=seconds,
        default=120.0,
        metavar="SEC",
        help="give up (exit 3) when they have not all joined by then (default 120)",
    )
    dist.add_argument("--worker", action="store_true", help="run one worker; needs only --master-host")
    dist.add_argument("--master-host", metavar="H", help="with --worker: the master's address")
    dist.add_argument("--master-port", type=positive, default=5557, metavar="P", help="(default 5557)")
    out = p.add_argument_group("safety and results")
    out.add_argument(
        "--i-own-this-target",
        action="store_true",
        help="required for a target that is not on "
        "this machine (loopback): load can take a server down, so point it only at servers you own",
    )
    out.add_argument("--keep-bookings", action="store_true", help="do not cancel what the run made")
    out.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help="json:PATH, junit:PATH or html:PATH (repeatable)",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def _relax_target(p: argparse.ArgumentParser) -> None:
    """--target is required, except for --worker (a worker takes everything from its master); --num-slots
    belongs to run's google-test-client suite and is hidden here."""
    for action in p._actions:
        if action.dest == "target":
            action.required = False
        if action.dest == "num_slots":
            action.help = argparse.SUPPRESS  # a flag of run's google-test-client suite, unused by load


def parse_reports(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for v in values:
        fmt, sep, path = v.partition(":")
        if not sep or not path or fmt not in REPORT_FORMATS:
            raise UsageError(
                f"--report {v!r}: expected FORMAT:PATH with FORMAT one of {', '.join(REPORT_FORMATS)}"
            )
        out.append((fmt, path))
    return out


def load_command(args: argparse.Namespace) -> int:
    from loadtest import orchestrate
    from loadtest.mix import load_mix

    if args.worker:
        if not args.master_host:
            raise UsageError("--worker needs --master-host (the machine running 'bookcheck load --master')")
        return orchestrate.run_worker(args.master_host, args.master_port)
    if args.master_host:
        raise UsageError("--master-host is for --worker; the master binds with --master-bind-host/-port")
    if not args.target:
        raise UsageError("--target is required (https://host/base, http://host:port or grpc://host:port)")
    if not args.feed:
        raise UsageError("--feed is required: load books slots taken from your availability feed")
    if not orchestrate.is_loopback(args.target) and not args.i_own_this_target:
        raise UsageError(
            f"--target {args.target} is not on this machine: add --i-own-this-target to confirm "
            "you own it (load can take it down)"
        )
    reports = parse_reports(args.report)
    mix = load_mix(args.mix)
    options = RunOptions(
        target=args.target,
        user=args.user,
        password=args.password,
        credentials_file=args.credentials_file,
        ca_file=args.ca_file,
        insecure=args.insecure,
        timeout=args.timeout,
        trailing_slash=args.trailing_slash,
        feed=args.feed,
        merchant=args.merchant,
        service=args.service,
        min_lead_sec=args.min_lead,
        profile=args.profile,
        profile_overrides=tuple(
            (k, getattr(args, k)) for k in PROFILE_FIELDS if getattr(args, k, None) is not None
        ),
        seed=args.seed,
        nonce=args.nonce,
        keep_bookings=args.keep_bookings,
        tool_version=__version__,
        needs_scenarios=False,
    )
    config = prepare(options)
    plan_values = {
        "mix": mix.as_dict(),
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "duration": args.duration,
        "rps": args.rps,
        "workers": args.expect_workers if args.master else args.workers,
        "master_bind_host": args.master_bind_host if args.master else "127.0.0.1",
        "master_bind_port": args.master_bind_port if args.master else 0,
        "expect_workers_timeout": args.expect_workers_timeout if args.master else 60.0,
        "web": args.web,
        "web_port": args.web_port,
        "quiet": args.quiet,
    }
    local = 0 if args.master else args.workers
    code = orchestrate.execute(plan_values, config, local_workers=local, reports=reports, stream=sys.stdout)
    return int(ExitCode(code))
