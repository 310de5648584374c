"""``bookcheck run`` (the conformance run against any booking server) and ``bookcheck demo`` (the quick start:
our reference server, the full suite, the report).

This module is the composition root of the harness: it parses flags, builds a
:class:`harness.runner.RunConfig`, wires the report writers of ``reports/`` and maps every usage problem to a
one-line error and exit code 2. The run itself is :func:`harness.runner.run`. Only this module (and tests) may
import both ``harness`` and ``mock_server``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from booking_protocol.feed import FeedError, FeedSlot, load_availability_feed
from harness.baseline import BaselineError, dump_baseline, load_baseline
from harness.catalogue import CatalogueError, load_rules
from harness.profile import ProfileError, TargetProfile, load_profile
from harness.results import ExitCode, RunListener, RunResult, Status
from harness.runner import RunConfig, run, select_scenarios
from harness.scenario import ScenarioFileError
from harness.targets import Credentials, TargetOptions, TargetUnreachable

SUITES = ("default", "google-test-client", "smoke", "all")
FORMATS = ("json", "junit", "html")


class UsageError(Exception):
    """Bad flags or input files: one line, exit code 2."""


# ------------------------------------------------------------------------------------------------------
# flags
# ------------------------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return n


def _non_negative_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return n


def _seconds(text: str) -> float:
    try:
        n = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return n


def add_run_options(p: argparse.ArgumentParser, *, with_target: bool = True) -> None:
    if with_target:
        t = p.add_argument_group("target")
        t.add_argument(
            "--target",
            required=True,
            metavar="URL",
            help="https://host/base (REST; requests go to URL/v3/<Method>) or grpc://host:port, "
            "grpcs://host:port",
        )
        t.add_argument("--ca-file", metavar="PEM", help="CA bundle to verify the target's TLS certificate")
        t.add_argument("--insecure", action="store_true", help="do not verify the target's TLS certificate")
        t.add_argument("--user", help="HTTP Basic user (or BOOKCHECK_USER)")
        t.add_argument("--password", help="HTTP Basic password (or BOOKCHECK_PASSWORD)")
        t.add_argument(
            "--credentials-file",
            metavar="FILE",
            help="one line 'username:password' (the format of Google's test client)",
        )
        t.add_argument(
            "--timeout",
            type=_seconds,
            default=10.0,
            metavar="SEC",
            help="per-call timeout in seconds (default 10)",
        )
        t.add_argument(
            "--trailing-slash", action="store_true", help="send /v3/Method/ instead of /v3/Method (D2)"
        )
        inv = p.add_argument_group("inventory")
        inv.add_argument(
            "--feed",
            metavar="PATH",
            help="the partner's availability feed (Google's JSON layout), "
            "or a directory holding availability.json",
        )
        inv.add_argument("--merchant", help="use only slots of this merchant_id")
        inv.add_argument("--service", help="use only slots of this service_id")
        inv.add_argument(
            "--min-lead",
            type=_non_negative_int,
            default=600,
            metavar="SEC",
            help="use only slots starting at least SEC seconds from now (default 600); raise it above your "
            "cancellation cutoff",
        )
        inv.add_argument(
            "--num-slots",
            type=_positive,
            default=10,
            metavar="N",
            help="slots tested by the google-test-client suite (default 10)",
        )
        prof = p.add_argument_group("target profile (unclaimed capabilities are skipped, never failed)")
        prof.add_argument("--profile", metavar="FILE", help="a YAML target profile (flags below override it)")
        prof.add_argument(
            "--availability",
            choices=("bal", "check", "both"),
            help="availability method: BatchAvailabilityLookup (bal, default), CheckAvailability "
            "(check, legacy) or both",
        )
        prof.add_argument(
            "--leases",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="the target implements CreateLease (default: no)",
        )
        prof.add_argument(
            "--get-booking-status",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="the target implements GetBookingStatus (default: yes)",
        )
        prof.add_argument(
            "--list-bookings",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="the target implements ListBookings (default: yes)",
        )
        prof.add_argument(
            "--party-size-change",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="the target accepts UpdateBooking of party_size (default: no)",
        )
    sel = p.add_argument_group("what to run")
    sel.add_argument(
        "--suite",
        choices=SUITES,
        default="default",
        help="default (every scenario), google-test-client (Google's flow and summary), smoke, all",
    )
    sel.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run only scenarios whose id matches (fnmatch; repeatable)",
    )
    sel.add_argument(
        "--skip-scenario",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out scenarios whose id matches (fnmatch; repeatable)",
    )
    sel.add_argument(
        "--scenario-file",
        action="append",
        default=[],
        metavar="FILE",
        help="an extra scenario file (repeatable)",
    )
    sel.add_argument("--seed", type=int, default=0, help="seed of slot choice and ids (default 0)")
    sel.add_argument("--nonce", help="pin the per-run nonce in tokens and user ids (default: random)")
    sel.add_argument(
        "--workers",
        type=_positive,
        default=4,
        metavar="N",
        help="scenarios run in parallel (default 4; verdicts are the same as with 1)",
    )
    sel.add_argument(
        "--keep-bookings",
        action="store_true",
        help="do not cancel what the run created (default: cancel everything at the end)",
    )
    out = p.add_argument_group("results")
    out.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help="write a report: json:PATH, junit:PATH, html:PATH (repeatable)",
    )
    out.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="error (default): MUST deviations fail the run; warning: SHOULD deviations too",
    )
    out.add_argument(
        "--baseline",
        metavar="FILE",
        help="known deviations: they do not fail the run; an entry that no longer occurs fails it as stale",
    )
    out.add_argument(
        "--write-baseline", metavar="FILE", help="write this run's deviations as a baseline file"
    )
    out.add_argument("--no-color", action="store_true", help="plain console output")
    out.add_argument("-v", "--verbose", action="store_true", help="show every check, not only deviations")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the conformance suite against a booking server",
        description="Drive the booking flows of the Booking Server API v3 against TARGET and report every "
        "deviation from the spec, with evidence. Exit codes: 0 no error-level deviation, "
        "1 deviations, 2 usage error, 3 target unreachable.",
    )
    add_run_options(p)
    p.set_defaults(func=run_command)
    d = subparsers.add_parser(
        "demo",
        help="start the reference server and run the full suite against it (quick start)",
        description="Start bookcheck's reference server on a free local port (REST, and gRPC when available) "
        "with a generated feed, run the full suite against it, print the report and stop it.",
    )
    add_run_options(d, with_target=False)
    d.add_argument("--no-grpc", action="store_true", help="test over REST only")
    d.set_defaults(func=demo_command)
    r = subparsers.add_parser("rules", help="list the rule catalogue (scenarios/rules.yaml)")
    r.add_argument("--excluded", action="store_true", help="only the rules that cannot be observed")
    r.set_defaults(func=rules_command)


# ------------------------------------------------------------------------------------------------------
# building the config
# ------------------------------------------------------------------------------------------------------


def read_credentials(args: argparse.Namespace, env: dict[str, str] | None = None) -> Credentials | None:
    """--user/--password, then --credentials-file, then BOOKCHECK_USER/BOOKCHECK_PASSWORD."""
    env = dict(os.environ) if env is None else env
    user, password = getattr(args, "user", None), getattr(args, "password", None)
    if user is not None or password is not None:
        if user is None or password is None:
            raise UsageError("--user and --password go together")
        return Credentials(user, password)
    path = getattr(args, "credentials_file", None)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--credentials-file {path}: cannot read: {exc.strerror or exc}") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if len(lines) != 1 or ":" not in lines[0]:
            raise UsageError(f"--credentials-file {path}: expected one line 'username:password'")
        u, _, pw = lines[0].partition(":")
        return Credentials(u, pw)
    if env.get("BOOKCHECK_USER") is not None or env.get("BOOKCHECK_PASSWORD") is not None:
        if env.get("BOOKCHECK_USER") is None or env.get("BOOKCHECK_PASSWORD") is None:
            raise UsageError("set both BOOKCHECK_USER and BOOKCHECK_PASSWORD")
        return Credentials(env["BOOKCHECK_USER"], env["BOOKCHECK_PASSWORD"])
    return None


def build_profile(args: argparse.Namespace, base: TargetProfile | None = None) -> TargetProfile:
    from dataclasses import replace

    profile = base or TargetProfile()
    if getattr(args, "profile", None):
        profile = load_profile(args.profile)
    changes: dict[str, Any] = {}
    for key in ("availability", "leases", "get_booking_status", "list_bookings", "party_size_change"):
        value = getattr(args, key, None)
        if value is not None:
            changes[key] = value
    return replace(profile, **changes)


def parse_reports(values: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for v in values:
        fmt, sep, path = v.partition(":")
        if not sep or not path or fmt not in FORMATS:
            raise UsageError(f"--report {v!r}: expected FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}")
        out.append((fmt, path))
    return out


def load_feed(path: str | None) -> list[FeedSlot] | None:
    if not path:
        return None
    try:
        return load_availability_feed(path)
    except FeedError as exc:
        raise UsageError(f"--feed: {exc}") from None


def build_config(
    args: argparse.Namespace,
    *,
    target: str,
    credentials: Credentials | None,
    feed: list[FeedSlot] | None,
    profile: TargetProfile,
) -> RunConfig:
    from bookcheck import __version__

    scheme = target.split("://", 1)[0].lower() if "://" in target else ""
    if scheme not in ("http", "https", "grpc", "grpcs"):
        raise UsageError(
            f"--target {target!r}: expected https://host/base, http://host:port, grpc://host:port "
            "or grpcs://host:port"
        )
    transport = "grpc" if scheme.startswith("grpc") else "rest"
    if transport not in profile.transports and getattr(args, "profile", None):
        raise UsageError(
            f"--target {target!r} is {transport}, but the profile says the target serves "
            f"{', '.join(profile.transports)}"
        )
    for f in getattr(args, "scenario_file", []):
        if not Path(f).is_file():
            raise UsageError(f"--scenario-file {f}: no such file")
    baseline = load_baseline(args.baseline) if getattr(args, "baseline", None) else None
    return RunConfig(
        target=TargetOptions(
            url=target,
            credentials=credentials,
            timeout=getattr(args, "timeout", 10.0),
            ca_file=getattr(args, "ca_file", None),
            insecure=getattr(args, "insecure", False),
            trailing_slash=getattr(args, "trailing_slash", False),
        ),
        feed=feed,
        profile=profile,
        suite=args.suite,
        seed=args.seed,
        workers=args.workers,
        nonce=args.nonce,
        keep_bookings=args.keep_bookings,
        fail_on=args.fail_on,
        baseline=baseline,
        only=tuple(args.scenario),
        exclude=tuple(args.skip_scenario),
        scenario_files=tuple(args.scenario_file),
        num_slots=getattr(args, "num_slots", 10),
        merchant=getattr(args, "merchant", None),
        min_lead_sec=getattr(args, "min_lead", 600),
        service=getattr(args, "service", None),
        tool_version=__version__,
    )


# ------------------------------------------------------------------------------------------------------
# output
# ------------------------------------------------------------------------------------------------------


class PlainReporter:
    """Fallback console output when ``reports`` is not importable."""

    def __init__(self, stream: TextIO, *, verbose: bool) -> None:
        self.stream, self.verbose = stream, verbose

    def run_started(self, *, target: str, transport: str, suite: str, total: int) -> None:
        print(f"bookcheck: {suite} suite, {total} scenarios against {target} ({transport})", file=self.stream)

    def scenario_finished(self, result: Any) -> None:
        print(
            f"  {result.status.value:5} {result.scenario_id}"
            + (f"  ({result.reason})" if result.reason else ""),
            file=self.stream,
        )

    def run_finished(self, result: RunResult) -> None:
        for c in result.deviations():
            print(
                f"{c.status.value} {c.rule_id} [{c.spec}] {c.scenario_id}/{c.step}: {c.message}; expected "
                f"{c.expected}, got {c.actual}",
                file=self.stream,
            )
        print(f"exit {int(result.exit_code)}: {len(result.deviations())} deviation(s)", file=self.stream)


def make_console(args: argparse.Namespace, stream: TextIO) -> RunListener:
    try:
        from reports.console import ConsoleReporter
    except ImportError:
        return PlainReporter(stream, verbose=args.verbose)
    color = not args.no_color and stream.isatty() and "NO_COLOR" not in os.environ
    return ConsoleReporter(stream, color=color, verbose=args.verbose)


def google_summary(result: RunResult) -> str:
    try:
        from reports.google_summary import render
    except ImportError:
        return ""
    return str(render(result))


def write_outputs(
    result: RunResult, reports: list[tuple[str, str]], args: argparse.Namespace, stream: TextIO
) -> None:
    if reports:
        from reports import write_report

        for fmt, path in reports:
            write_report(fmt, path, result)
            print(f"wrote {fmt} report: {path}", file=stream)
    if result.suite == "google-test-client":
        text = google_summary(result)
        if text:
            print(text, file=stream)
    if getattr(args, "write_baseline", None):
        pairs = [(c.rule_id, c.scenario_id) for c in result.deviations()]
        Path(args.write_baseline).write_text(dump_baseline(pairs), encoding="utf-8")
        print(f"wrote baseline: {args.write_baseline} ({len(set(pairs))} entries)", file=stream)


def _saw_401(result: RunResult) -> bool:
    return any(
        e.response is not None and e.response.status in (401, 16)
        for c in result.deviations()
        for e in c.exchanges
    )


def print_quiet_summary(result: RunResult, stream: TextIO) -> None:
    """``-q``: no progress, one line per deviation and per scenario that could not be judged, one verdict."""
    for c in result.deviations():
        mark = " (baselined)" if c.baselined else ""
        print(
            f"{c.status.value} {c.rule_id} [{c.spec}] {c.scenario_id} step {c.step}: {c.message}; "
            f"expected {c.expected}; got {c.actual}{mark}",
            file=stream,
        )
    for s in result.scenarios:
        if s.status == Status.ERROR:
            print(f"ERROR {s.scenario_id}: {s.reason}", file=stream)
    for key in result.baseline.stale:
        print(f"STALE baseline entry no longer occurs: {key}", file=stream)
    errors = sum(1 for c in result.deviations() if c.status == Status.FAIL and not c.baselined)
    print(
        f"bookcheck: {len(result.scenarios)} scenarios, {errors} error-level deviation(s), "
        f"exit {int(result.exit_code)}",
        file=stream,
    )


def execute(
    config: RunConfig, args: argparse.Namespace, reports: list[tuple[str, str]], stream: TextIO | None = None
) -> tuple[int, RunResult | None]:
    stream = stream or sys.stdout
    listeners: list[RunListener] = [] if args.quiet else [make_console(args, stream)]
    try:
        result = run(config, listeners)
    except TargetUnreachable as exc:
        print(f"bookcheck: {exc}", file=sys.stderr)
        return int(ExitCode.UNREACHABLE), None
    if args.quiet:
        print_quiet_summary(result, stream)
    if config.target.credentials is None and _saw_401(result):
        print(
            "bookcheck: hint: the target answered 401 Unauthorized; give its credentials with "
            "--user/--password, --credentials-file or BOOKCHECK_USER/BOOKCHECK_PASSWORD",
            file=sys.stderr,
        )
    write_outputs(result, reports, args, stream)
    return int(result.exit_code), result


def check_feed_given(config: RunConfig) -> None:
    """Refuse a run that would skip most of its flows for want of a feed. Without --feed every scenario
    that books a slot is skipped, and a run of health and auth checks alone must not read as a green
    conformance verdict; a partner who wants only those selects them explicitly."""
    if config.feed:
        return
    _, selected = select_scenarios(config)
    needing = [s.id for s in selected if s.slots]
    if needing:
        raise UsageError(
            f"--feed is required: {len(needing)} of the {len(selected)} selected scenarios book slots taken "
            "from your availability feed (Google's JSON layout). Give --feed PATH, or select only scenarios "
            "that need no slots, e.g. --scenario 'auth/*' --scenario 'health/*'"
        )


def check_scenario_patterns(config: RunConfig) -> None:
    """Load the scenario files (ScenarioFileError names file and path) and refuse a --scenario or
    --skip-scenario pattern that matches no scenario: a typo must not silently run nothing."""
    import fnmatch

    from harness.scenario import load_scenarios

    ids = [s.id for s in load_scenarios(config.scenario_files)]
    for flag, patterns in (("--scenario", config.only), ("--skip-scenario", config.exclude)):
        for p in patterns:
            if not any(fnmatch.fnmatchcase(i, p) for i in ids):
                raise UsageError(
                    f"{flag} {p!r} matches no scenario (bookcheck run --help; ids look like "
                    f"'create-booking/echo')"
                )


def run_command(args: argparse.Namespace) -> int:
    try:
        reports = parse_reports(args.report)
        credentials = read_credentials(args)
        profile = build_profile(args)
        feed = load_feed(args.feed)
        config = build_config(args, target=args.target, credentials=credentials, feed=feed, profile=profile)
        # a bad scenario file or pattern, or a missing feed, is a usage error before anything runs
        check_scenario_patterns(config)
        check_feed_given(config)
    except (UsageError, ProfileError, BaselineError, ScenarioFileError, CatalogueError) as exc:
        print(f"bookcheck run: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    code, _ = execute(config, args, reports)
    return code


def rules_command(args: argparse.Namespace) -> int:
    rules = load_rules()
    shown = [r for r in rules if r.excluded] if args.excluded else list(rules)
    for r in shown:
        extra = f"  (excluded: {r.excluded})" if r.excluded else ""
        print(f"{r.id:48} {r.level:10} {r.spec:24} {r.text}{extra}")
    excluded = sum(1 for r in rules if r.excluded)
    print(f"{len(rules)} rules, {excluded} excluded, {len(rules) - excluded} observable")
    return 0


# ------------------------------------------------------------------------------------------------------
# demo
# ------------------------------------------------------------------------------------------------------

DEMO_PROFILE = TargetProfile(
    transports=("rest", "grpc"),
    availability="both",
    leases=True,
    get_booking_status=True,
    list_bookings=True,
    party_size_change=True,
)


def demo_command(args: argparse.Namespace) -> int:
    """Our reference server, a generated feed, the full suite over REST (and gRPC), the report."""
    try:
        reports = parse_reports(args.report)
        profile = build_profile(args, DEMO_PROFILE)
        check_scenario_patterns(
            build_config(args, target="http://127.0.0.1", credentials=None, feed=None, profile=profile)
        )
    except (UsageError, ProfileError, BaselineError, ScenarioFileError, CatalogueError) as exc:
        print(f"bookcheck demo: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    try:
        from mock_server.datagen import generate_availability_feed
        from mock_server.server import ServerConfig, serve_in_thread
    except ImportError as exc:
        print(f"bookcheck demo: the reference server is not available ({exc})", file=sys.stderr)
        return int(ExitCode.USAGE)
    import json

    user, password = "bookcheck-demo", secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="bookcheck-demo-") as tmp:
        feed_path = Path(tmp) / "availability.json"
        feed_path.write_text(json.dumps(generate_availability_feed(seed=args.seed)), encoding="utf-8")
        feed = load_availability_feed(feed_path)
        server_kwargs: dict[str, Any] = dict(port=0, feed=str(feed_path), user=user, password=password)
        want_grpc = not args.no_grpc and "grpc_port" in ServerConfig.__dataclass_fields__
        if want_grpc:
            server_kwargs["grpc_port"] = 0
        try:
            server_cm = serve_in_thread(ServerConfig(**server_kwargs))
            server = server_cm.__enter__()
        except Exception as exc:  # grpc side not ready yet: fall back to REST only
            if not want_grpc:
                print(f"bookcheck demo: cannot start the reference server: {exc}", file=sys.stderr)
                return int(ExitCode.USAGE)
            server_kwargs.pop("grpc_port")
            server_cm = serve_in_thread(ServerConfig(**server_kwargs))
            server = server_cm.__enter__()
        try:
            targets = [server.rest_url] + [
                u for u in getattr(server, "extra_urls", []) if u.startswith("grpc") and not args.no_grpc
            ]
            print(f"bookcheck demo: reference server on {' and '.join(targets)}, feed of {len(feed)} slots")
            codes = []
            for i, url in enumerate(targets):
                transport = "grpc" if url.startswith("grpc") else "rest"
                per_reports = [
                    (fmt, _suffixed(path, transport) if len(targets) > 1 else path) for fmt, path in reports
                ]
                config = build_config(
                    args, target=url, credentials=Credentials(user, password), feed=feed, profile=profile
                )
                code, _ = execute(config, args, per_reports)
                codes.append(code)
                if i + 1 < len(targets):
                    print()
            return max(codes) if codes else 0
        finally:
            server_cm.__exit__(None, None, None)


def _suffixed(path: str, transport: str) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}-{transport}{p.suffix}"))
