"""``bookcheck report``: re-render, check or gate on a saved JSON report, without running anything again.

    bookcheck report out/bookcheck.json                       # console summary of a saved run
    bookcheck report out/bookcheck.json --report html:r.html  # an HTML page from a CI artifact
    bookcheck report out/bookcheck.json --google-summary      # Google's test-client summary

The JSON report is validated against the published schema first (a clear one-line error otherwise). The exit
code is the saved run's, so a pipeline can gate on an artifact produced elsewhere; 2 (USAGE) when the file
cannot be read or is not a bookcheck report.

Offered to ``bookcheck/cli.py`` through ``register(subparsers)`` like every other room's commands.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from harness.results import ExitCode, RunResult

from . import google_summary, json_report, parse_report_option, write_report
from .console import ConsoleReporter


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="re-render or check a saved JSON report",
        description="Re-render a JSON report (--report json:PATH of 'bookcheck run') as console text, JUnit, "
        "HTML or Google's test-client summary. Exits with the saved run's exit code.",
    )
    parser.add_argument("json_report", metavar="REPORT.json", help="a JSON report written by 'bookcheck run'")
    parser.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help="also write FORMAT (json, junit, html; repro: a directory of scripts) to PATH; repeatable",
    )
    parser.add_argument("--google-summary", action="store_true", help="print Google's test-client summary")
    parser.add_argument("--quiet", action="store_true", help="no console summary")
    parser.add_argument("--verbose", action="store_true", help="full bodies and every exchange")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    parser.set_defaults(func=run)


def load(path: str) -> RunResult:
    """Read and validate a JSON report; ValueError with a one-line message naming the problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    try:
        json_report.validate(doc)
    except json_report.ReportSchemaError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return RunResult.from_dict(doc)


def run(args: argparse.Namespace) -> int:
    try:
        targets = [parse_report_option(value) for value in args.report]
        result = load(args.json_report)
    except ValueError as exc:
        print(f"bookcheck report: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    for fmt, path in targets:
        try:
            write_report(fmt, path, result)
        except OSError as exc:
            print(f"bookcheck report: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return int(ExitCode.USAGE)
    if not args.quiet:
        auto = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        color = args.color == "always" or (args.color == "auto" and auto)
        sys.stdout.write(
            ConsoleReporter(sys.stdout, color=color, verbose=args.verbose).render_summary(result)
        )
    if args.google_summary:
        sys.stdout.write("\n" + google_summary.render(result))
    return int(result.exit_code)
