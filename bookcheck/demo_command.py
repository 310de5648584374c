"""``bookcheck demo``: the quick start. Our reference server on a free local port (REST, and gRPC), a
generated feed with money (prices, prepayment, deposits, packs, offers, an online service and the payment
test tokens), the full suite over each transport, payments included, the report, and the server stopped.

The demo is a ``run`` whose target, credentials, feed and profile the command chooses itself; its options
go through :func:`harness.prepare.prepare` like every other run, and a bad flag is refused before the
server starts.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from bookcheck.options import EXIT_CODES_HELP, add_run_options, run_options
from bookcheck.outputs import execute, parse_reports
from booking_protocol.commercefeed import PAYMENT_FIXTURES_FILE
from booking_protocol.feed import load_availability_feed
from harness.errors import ExitCode, UsageError
from harness.prepare import RunOptions, check_scenario_patterns, prepare
from harness.profile import TargetProfile
from mock_server.datagen.writer import write_feeds
from mock_server.server import RunningServer, ServerConfig, ServerStartError, serve_in_thread

#: Our server implements everything, so the demo claims every capability and tests every flow.
DEMO_PROFILE = TargetProfile(
    transports=("rest", "grpc"),
    availability="both",
    leases=True,
    get_booking_status=True,
    list_bookings=True,
    party_size_change=True,
)
#: as many merchants as the default generated feed (two of each vertical: every payment kind is there)
DEMO_MERCHANTS = 6
#: Stands in for the server's URL while the flags are checked, before the server exists.
_PLACEHOLDER_TARGET = "http://127.0.0.1"


def register(subparsers: Any) -> None:
    d = subparsers.add_parser(
        "demo",
        help="start the reference server and run the full suite against it (quick start)",
        description="Start bookcheck's reference server on a free local port (REST, and gRPC when available) "
        "with a generated feed, run the full suite against it, print the report and stop it. "
        + EXIT_CODES_HELP,
    )
    add_run_options(d, with_target=False)
    d.add_argument("--no-grpc", action="store_true", help="test over REST only")
    d.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> ExitCode:
    """One run per transport of our server; the worst exit code of them."""
    reports = parse_reports(args.report)
    user, password = "bookcheck-demo", secrets.token_urlsafe(12)
    options = run_options(args, user=user, password=password)
    check_options(options)
    with tempfile.TemporaryDirectory(prefix="bookcheck-demo-") as tmp:
        write_feeds(tmp, seed=args.seed, merchants=DEMO_MERCHANTS)
        feed_path = Path(tmp) / "availability.json"
        feed = load_availability_feed(feed_path)
        # the server takes payments with its simulated processor, so the payment scenarios run on its tokens
        fixtures = str(Path(tmp) / PAYMENT_FIXTURES_FILE)
        options = replace(options, feed=str(feed_path), allow_payments=True, payment_fixtures=fixtures)
        with reference_server(str(feed_path), user, password, grpc=not args.no_grpc) as server:
            targets = [server.rest_url] + [u for u in server.extra_urls if u.startswith("grpc")]
            print(f"bookcheck demo: reference server on {' and '.join(targets)}, feed of {len(feed)} slots")
            codes = []
            for i, url in enumerate(targets):
                transport = "grpc" if url.startswith("grpc") else "rest"
                per_target = [(fmt, _suffixed(p, transport) if len(targets) > 1 else p) for fmt, p in reports]
                config = prepare(replace(options, target=url), base_profile=DEMO_PROFILE, feed_slots=feed)
                codes.append(execute(config, args, per_target))
                if i + 1 < len(targets):
                    print()
    return max(codes, default=ExitCode.OK)


def check_options(options: RunOptions) -> None:
    """Refuse bad flags (profile, baseline, scenario files and patterns) before starting anything. The feed
    is the demo's own, so the feed-need check has nothing to refuse and runs with the real feed later."""
    draft = replace(options, target=_PLACEHOLDER_TARGET, needs_scenarios=False)
    check_scenario_patterns(prepare(draft, base_profile=DEMO_PROFILE))


@contextlib.contextmanager
def reference_server(feed: str, user: str, password: str, *, grpc: bool) -> Iterator[RunningServer]:
    """Our server on free ports; REST only when ``grpc`` is off or the gRPC side cannot start."""
    config = ServerConfig(port=0, feed=feed, user=user, password=password, grpc_port=0 if grpc else None)
    try:
        with serve_in_thread(config) as server:
            yield server
            return
    except ServerStartError as exc:
        if not grpc:
            raise UsageError(f"cannot start the reference server: {exc}") from None
    with serve_in_thread(replace(config, grpc_port=None)) as server:
        yield server


def _suffixed(path: str, transport: str) -> str:
    """``out/r.json`` -> ``out/r-rest.json``: one report per transport when the demo tests two."""
    p = Path(path)
    return str(p.with_name(f"{p.stem}-{transport}{p.suffix}"))
