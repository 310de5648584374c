"""The flags of ``bookcheck run`` and ``bookcheck demo``, and their translation to
:class:`harness.prepare.RunOptions`.

Flags are only parsed here, never judged: whether a credential pair is whole, a profile file valid, a pattern
matching or a feed needed is decided by :func:`harness.prepare.prepare`, the function the pytest plugin and
every later command call too. What stays here is what only a command line has: argparse types that reject
a malformed number at once, and ``--report FORMAT:PATH``.
"""

from __future__ import annotations

import argparse
from typing import Any

from bookcheck import __version__
from harness.prepare import PROFILE_FIELDS, SUITES, RunOptions
from reports import FORMATS

#: The exit codes of ``run`` and ``demo`` for their ``--help`` (README, "Exit codes").
EXIT_CODES_HELP = (
    "Exit codes: 0 nothing fails the run, 1 deviations (or a stale baseline entry), 2 usage error, "
    "3 target unreachable, 4 inconclusive, 130 interrupted, 143 terminated."
)


def _number(kind: type[int] | type[float], what: str, minimum: float, strict: bool) -> Any:
    """An argparse type: ``kind`` at least ``minimum`` (above it when ``strict``), else a one-line error."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum or (strict and value == minimum):
            bound = "positive" if strict else f"at least {minimum:g}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {bound}")
        return value

    return parse


positive = _number(int, "an integer", 1, strict=False)
non_negative = _number(int, "an integer", 0, strict=False)
seconds = _number(float, "a number of seconds", 0, strict=True)


def add_target_options(p: argparse.ArgumentParser) -> None:
    """Where the target is and how to talk to it (``run`` only: ``demo`` starts its own)."""
    t = p.add_argument_group("target")
    t.add_argument(
        "--target",
        required=True,
        metavar="URL",
        help="https://host/base (REST; requests go to URL/v3/<Method>) or grpc://host:port, grpcs://host:port",
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
        type=seconds,
        default=10.0,
        metavar="SEC",
        help="per-call timeout in seconds (default 10)",
    )
    t.add_argument(
        "--trailing-slash", action="store_true", help="send /v3/Method/ instead of /v3/Method (D2)"
    )


def add_inventory_options(p: argparse.ArgumentParser) -> None:
    """Which slots of the partner's feed the run may book."""
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
        type=non_negative,
        default=600,
        metavar="SEC",
        help="use only slots starting at least SEC seconds from now (default 600); raise it above your "
        "cancellation cutoff",
    )
    inv.add_argument(
        "--num-slots",
        type=positive,
        default=10,
        metavar="N",
        help="slots tested by the google-test-client suite (default 10)",
    )


def add_profile_options(p: argparse.ArgumentParser) -> None:
    """What the target claims to implement; an unclaimed capability is skipped, never failed."""
    prof = p.add_argument_group("target profile (unclaimed capabilities are skipped, never failed)")
    prof.add_argument("--profile", metavar="FILE", help="a YAML target profile (flags below override it)")
    prof.add_argument(
        "--availability",
        choices=("bal", "check", "both"),
        help="availability method: BatchAvailabilityLookup (bal, default), CheckAvailability (check, legacy) "
        "or both",
    )
    claims = (
        ("leases", "implements CreateLease (default: no)"),
        ("get-booking-status", "implements GetBookingStatus (default: yes)"),
        ("list-bookings", "implements ListBookings (default: yes)"),
        ("party-size-change", "accepts UpdateBooking of party_size (default: no)"),
    )
    for flag, claim in claims:
        prof.add_argument(
            f"--{flag}", action=argparse.BooleanOptionalAction, default=None, help=f"the target {claim}"
        )


def add_selection_options(p: argparse.ArgumentParser) -> None:
    """Which scenarios run, and how."""
    sel = p.add_argument_group("what to run")
    sel.add_argument(
        "--suite",
        choices=SUITES,
        default="default",
        help="default (every scenario), google-test-client (Google's flow and summary), smoke, all",
    )
    for flag, help_text in (
        ("--scenario", "run only scenarios whose id matches (fnmatch; repeatable)"),
        ("--skip-scenario", "leave out scenarios whose id matches (fnmatch; repeatable)"),
    ):
        sel.add_argument(flag, action="append", default=[], metavar="PATTERN", help=help_text)
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
        type=positive,
        default=4,
        metavar="N",
        help="scenarios run in parallel (default 4; verdicts are the same as with 1)",
    )
    sel.add_argument(
        "--keep-bookings",
        action="store_true",
        help="do not cancel what the run created (default: cancel everything at the end)",
    )
    sel.add_argument(
        "--ledger",
        metavar="PATH",
        help="append what the run creates to PATH as it happens, for 'bookcheck cleanup PATH' after a "
        "killed run (default: a file in the temporary directory, removed when everything was cleaned up)",
    )


def add_result_options(p: argparse.ArgumentParser) -> None:
    """What the run writes, and what fails it."""
    out = p.add_argument_group("results")
    out.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help=f"write a report, FORMAT one of {', '.join(FORMATS)} (repeatable)",
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


def add_run_options(p: argparse.ArgumentParser, *, with_target: bool = True) -> None:
    """Every flag of ``run``; ``demo`` (``with_target=False``) brings its own server, feed and profile."""
    if with_target:
        add_target_options(p)
        add_inventory_options(p)
        add_profile_options(p)
    add_selection_options(p)
    add_result_options(p)


def run_options(args: argparse.Namespace, **overrides: Any) -> RunOptions:
    """The parsed flags as plain :class:`RunOptions`; ``overrides`` set what a command decides itself
    (``demo``: its server's URL and credentials). Flags a command does not have keep RunOptions' defaults."""

    def flag(name: str, default: Any = None) -> Any:
        return getattr(args, name, default)

    values: dict[str, Any] = {
        "target": flag("target"),
        "user": flag("user"),
        "password": flag("password"),
        "credentials_file": flag("credentials_file"),
        "ca_file": flag("ca_file"),
        "insecure": flag("insecure", False),
        "timeout": flag("timeout", 10.0),
        "trailing_slash": flag("trailing_slash", False),
        "feed": flag("feed"),
        "merchant": flag("merchant"),
        "service": flag("service"),
        "min_lead_sec": flag("min_lead", 600),
        "num_slots": flag("num_slots", 10),
        "profile": flag("profile"),
        "profile_overrides": tuple((k, flag(k)) for k in PROFILE_FIELDS if flag(k) is not None),
        "suite": args.suite,
        "only": tuple(args.scenario),
        "exclude": tuple(args.skip_scenario),
        "scenario_files": tuple(args.scenario_file),
        "seed": args.seed,
        "nonce": args.nonce,
        "workers": args.workers,
        "keep_bookings": args.keep_bookings,
        "fail_on": args.fail_on,
        "baseline": args.baseline,
        "tool_version": __version__,
        "quiet": flag("quiet", False),
    }
    values.update(overrides)
    return RunOptions(**values)
