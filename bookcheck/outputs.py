"""What a run prints and writes: the listeners ``run`` and ``demo`` hand to the runner, and the run itself
with its ledger file and Ctrl-C handling.

Every output is a :class:`harness.results.RunListener` from ``reports`` (the console, or the quiet summary;
the 401 hint; report files; Google's summary; the baseline writer). This module only chooses them from the
flags and keeps their order, which is the order a user reads: summary, hint, files written, Google's lines.
Report paths are checked before anything runs, and every report is written whatever the run's outcome
(setup error, unreachable, inconclusive, interrupted), so CI always has a file to show.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from harness.baseline import dump_baseline
from harness.catalogue import load_rules
from harness.config import RunConfig
from harness.errors import ExitCode, TargetUnreachable, UsageError
from harness.evidence import redact_url
from harness.interrupts import CLEANUP_BUDGET_SEC, Interrupts
from harness.journal import read_ledger
from harness.prepare import target_transport
from harness.results import RunListener, RunResult
from harness.runner import run
from reports import parse_report_option
from reports.console import ConsoleReporter
from reports.listeners import (
    BaselineWriter,
    GoogleSummaryPrinter,
    QuietSummary,
    ReportFiles,
    UnauthorizedHint,
)


def parse_reports(values: list[str]) -> list[tuple[str, str]]:
    """``--report FORMAT:PATH`` values, each checked before the run starts: a malformed value or a path that
    cannot be written is a usage error now, not a traceback after the whole run."""
    try:
        reports = [parse_report_option(v) for v in values]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for fmt, path in reports:
        _check_writable(fmt, Path(path))
    return reports


def _check_writable(fmt: str, path: Path) -> None:
    """The report's directory exists (or can be made) and takes files; an existing file must be writable."""
    target = path if fmt == "repro" else path.parent
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if path.is_dir() and fmt != "repro":
        raise UsageError(f"--report {fmt}:{path}: is a directory")
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"--report {fmt}:{path}: cannot write there ({existing} is not a writable directory)"
        )
    if path.exists() and path.is_file() and not os.access(path, os.W_OK):
        raise UsageError(f"--report {fmt}:{path}: the file is not writable")


def console(args: argparse.Namespace, stream: TextIO) -> RunListener:
    """Live progress and the closing summary; colour only on a terminal, and never with ``NO_COLOR``."""
    color = not args.no_color and stream.isatty() and "NO_COLOR" not in os.environ
    return ConsoleReporter(stream, color=color, verbose=args.verbose)


def listeners(
    config: RunConfig,
    args: argparse.Namespace,
    reports: list[tuple[str, str]],
    stream: TextIO,
    errors: TextIO,
) -> list[RunListener]:
    """The outputs of one run, in the order they print."""
    chosen: list[RunListener] = [QuietSummary(stream) if args.quiet else console(args, stream)]
    if config.target.credentials is None:
        chosen.append(UnauthorizedHint(errors))
    if reports:
        chosen.append(ReportFiles(reports, stream))
    if config.suite == "google-test-client":
        chosen.append(GoogleSummaryPrinter(stream))
    if getattr(args, "write_baseline", None):
        chosen.append(BaselineWriter(args.write_baseline, dump_baseline, stream))
    return chosen


def execute(
    config: RunConfig,
    args: argparse.Namespace,
    reports: list[tuple[str, str]],
    stream: TextIO | None = None,
) -> ExitCode:
    """Run ``config`` with the outputs the flags ask for and return the run's exit code. The run writes a
    ledger of what it creates; SIGINT/SIGTERM stop it cleanly (cleanup, reports marked INTERRUPTED)."""
    out, err = stream or sys.stdout, sys.stderr
    chosen_ledger = getattr(args, "ledger", None)
    ledger = chosen_ledger or _default_ledger()
    config = replace(config, ledger=ledger)
    interrupts = Interrupts(on_signal=lambda name, n: _on_signal(name, n, ledger, err))
    result = run(config, listeners(config, args, reports, out, err), interrupts=interrupts)
    _say_outcome(result, err, args)
    if not chosen_ledger:
        _forget_ledger_if_clean(ledger)
    return ExitCode(result.exit_code)


def _default_ledger() -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return str(Path(tempfile.gettempdir()) / f"bookcheck-ledger-{stamp}-{os.getpid()}.jsonl")


def _on_signal(name: str, count: int, ledger: str, err: TextIO) -> None:
    if count == 1:
        print(
            f"\nbookcheck: {name}: stopping; cancelling what the run created (at most "
            f"{CLEANUP_BUDGET_SEC:.0f} s; press Ctrl-C again to abort the cleanup)",
            file=err,
            flush=True,
        )
    else:
        print(f"bookcheck: {name} again: cleanup aborted; see below what is left", file=err, flush=True)


def _say_outcome(result: RunResult, err: TextIO, args: argparse.Namespace) -> None:
    """The one line (plus hint) of a run that could not be judged, and what a cleanup left behind."""
    if result.outcome in ("setup-error", "unreachable") and result.reason:
        print(f"bookcheck {getattr(args, 'command', 'run')}: {result.reason}", file=err)
    left = [c for c in result.created if not c.cleaned_up]
    if left and result.ledger and not getattr(args, "keep_bookings", False):
        print(
            f"bookcheck: {len(left)} booking(s)/lease(s) left on the target; finish with: "
            f"bookcheck cleanup {result.ledger} --target {result.target}",
            file=err,
        )


def _forget_ledger_if_clean(path: str) -> None:
    """A default ledger whose every resource was cleaned up is removed (no litter in the temp directory)."""
    p = Path(path)
    if not p.exists():
        return
    try:
        done = not read_ledger(p).pending
    except UsageError:
        return
    if done:
        p.unlink(missing_ok=True)


def unreachable_before_run(
    args: argparse.Namespace, reports: list[tuple[str, str]], exc: TargetUnreachable
) -> ExitCode:
    """The target could not be reached before a big feed was read (``prepare``): the requested reports are
    still written, with the run's one verdict, so CI shows a failing test instead of "no test report"."""
    result = RunResult(
        target=redact_url(str(args.target)),
        transport=target_transport(str(args.target)),
        suite=args.suite,
        seed=args.seed,
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        duration_ms=0.0,
        scenarios=(),
        rules=load_rules(),
        exit_code=ExitCode.UNREACHABLE,
        outcome="unreachable",
        reason=str(exc),
    )
    if reports:
        ReportFiles(reports, sys.stdout).run_finished(result)
    raise exc
