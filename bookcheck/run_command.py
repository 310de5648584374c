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
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> ExitCode:
    """Validate everything before anything runs (reports, then :func:`prepare`), then run."""
    reports = parse_reports(args.report)
    try:
        config = prepare(run_options(args))
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


__all__ = ["register", "run_command"]
