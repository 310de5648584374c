"""``bookcheck run``: the conformance run against any booking server.

The command turns its flags into :class:`harness.prepare.RunOptions`, lets :func:`harness.prepare.prepare`
validate them (every refusal, with the same one-line message the pytest plugin gives), builds the outputs
(:mod:`bookcheck.outputs`) and runs. Errors are raised, never printed here: ``bookcheck/cli.py`` maps every
:class:`~harness.errors.BookcheckError` to ``bookcheck run: message`` and its exit code.
"""

from __future__ import annotations

import argparse
from typing import Any

from bookcheck.options import EXIT_CODES_HELP, add_run_options, run_options
from bookcheck.outputs import execute, parse_reports, unreachable_before_run
from harness.errors import ExitCode, TargetUnreachable
from harness.prepare import prepare


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the conformance suite against a booking server",
        description="Drive the booking flows of the Booking Server API v3 against TARGET and report every "
        "deviation from the spec, with evidence. " + EXIT_CODES_HELP,
    )
    add_run_options(p)
    add_payment_options(p)
    p.set_defaults(func=run_command)


def add_payment_options(p: argparse.ArgumentParser) -> None:
    """Payments (D48): off unless allowed, and never with invented tokens."""
    pay = p.add_argument_group(
        "payments (without --allow-payments and a token source, payment scenarios are skipped, never failed)"
    )
    pay.add_argument(
        "--allow-payments",
        action="store_true",
        help="run the payment scenarios: they charge, refund and buy packs on the target's TEST gateway",
    )
    pay.add_argument(
        "--payment-fixtures",
        metavar="FILE",
        help="YAML mapping each outcome (approved, declined, insufficient_funds, processing_error, "
        "requires_3ds1, rejected_network) to a test-mode token of your gateway; '{nonce}' in a token is "
        "replaced by a fresh value per use ('bookcheck generate' writes one for the reference server)",
    )
    pay.add_argument(
        "--payment-token-command",
        metavar="CMD",
        help="a command that prints one fresh approving test token per run (e.g. from your gateway's test "
        "API); the other outcomes come from --payment-fixtures",
    )


def payment_values(args: argparse.Namespace) -> dict[str, Any]:
    """The payment flags as :class:`~harness.prepare.RunOptions` fields."""
    return {
        "allow_payments": bool(getattr(args, "allow_payments", False)),
        "payment_fixtures": getattr(args, "payment_fixtures", None),
        "payment_token_command": getattr(args, "payment_token_command", None),
    }


def run_command(args: argparse.Namespace) -> ExitCode:
    """Validate everything before anything runs (reports, then :func:`prepare`), then run."""
    reports = parse_reports(args.report)
    try:
        config = prepare(run_options(args, **payment_values(args)))
    except TargetUnreachable as exc:  # found before a big feed was read: still write the reports
        return unreachable_before_run(args, reports, exc)
    return execute(config, args, reports)


def __getattr__(name: str) -> Any:
    """``DEMO_PROFILE`` lives in :mod:`bookcheck.demo_command`; ``bench/harness_suite.py`` still imports it
    from here. Resolved on first use, so that ``run`` itself does not depend on ``demo``."""
    if name == "DEMO_PROFILE":
        from bookcheck.demo_command import DEMO_PROFILE

        return DEMO_PROFILE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["add_payment_options", "payment_values", "register", "run_command"]
