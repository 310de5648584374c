"""Everything ``bookcheck run`` prints or writes besides the console progress, as run listeners.

Each class here is a :class:`harness.results.RunListener` that acts when the run finishes. The CLI builds
the list (console or quiet summary, the 401 hint, report files, Google's summary, the baseline writer) and
hands it to the runner, so adding an output never touches the code that runs scenarios, and every output
reads the verdict from the result records (:meth:`~harness.results.RunResult.failing_checks`,
:meth:`~harness.results.RunResult.fails_run`) instead of deciding it again.

Like every module of ``reports``, these see result records only: the baseline writer is handed the
function that formats a baseline file, rather than importing the harness's baseline module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from harness.results import RunResult, ScenarioResult

from . import google_summary, write_report
from .overview import quiet_lines

#: gRPC's UNAUTHENTICATED status code; HTTP's is 401.
_GRPC_UNAUTHENTICATED = 16


class FinishedListener:
    """A listener that only cares about the finished run (the progress callbacks do nothing)."""

    def run_started(self, *, target: str, transport: str, suite: str, total: int) -> None:
        """Nothing to do before the run: these outputs summarise it."""

    def scenario_finished(self, result: ScenarioResult) -> None:
        """Nothing to do per scenario: these outputs summarise the run."""

    def run_finished(self, result: RunResult) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


class QuietSummary(FinishedListener):
    """``-q``: no progress; one line per broken rule with its count, one per scenario that could not be
    judged and per stale baseline entry, and the verdict in plain words (:func:`overview.quiet_lines`).

    What counts is the run's own verdict rule (``fails_run``): baselined deviations are marked and do not
    fail the run, warnings fail it only with ``--fail-on warning``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def run_finished(self, result: RunResult) -> None:
        for line in quiet_lines(result):
            print(line, file=self._stream)


class GoogleSummaryPrinter(FinishedListener):
    """Google's test-client closing summary (``--suite google-test-client``), for side-by-side comparison."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def run_finished(self, result: RunResult) -> None:
        self._stream.write(google_summary.render(result))
        self._stream.flush()


class ReportFiles(FinishedListener):
    """``--report FORMAT:PATH`` (repeatable): each report written atomically, then named on ``stream``."""

    def __init__(self, reports: Sequence[tuple[str, str]], stream: TextIO) -> None:
        self._reports = tuple(reports)
        self._stream = stream

    def run_finished(self, result: RunResult) -> None:
        for fmt, path in self._reports:
            write_report(fmt, path, result)
            print(f"wrote {fmt} report: {path}", file=self._stream)


class BaselineWriter(FinishedListener):
    """``--write-baseline FILE``: this run's deviations as a baseline file, so the next run accepts them.

    ``dump`` turns ``(rule id, scenario id)`` pairs into the file's text (the harness owns that format)."""

    def __init__(self, path: str, dump: Callable[[list[tuple[str, str]]], str], stream: TextIO) -> None:
        self._path = path
        self._dump = dump
        self._stream = stream

    def run_finished(self, result: RunResult) -> None:
        pairs = [(c.rule_id, c.scenario_id) for c in result.deviations()]
        Path(self._path).write_text(self._dump(pairs), encoding="utf-8")
        print(f"wrote baseline: {self._path} ({len(set(pairs))} entries)", file=self._stream)


class UnauthorizedHint(FinishedListener):
    """When a run without credentials saw 401 (or gRPC UNAUTHENTICATED) in its evidence, say how to give
    them: a partner's first run against a protected server otherwise reads as a wall of deviations."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def run_finished(self, result: RunResult) -> None:
        if saw_unauthorized(result):
            print(
                "bookcheck: hint: the target answered 401 Unauthorized; give its credentials with "
                "--user/--password, --credentials-file or BOOKCHECK_USER/BOOKCHECK_PASSWORD",
                file=self._stream,
            )


def saw_unauthorized(result: RunResult) -> bool:
    """True when the evidence of a deviation holds a 401 (REST) or UNAUTHENTICATED (gRPC) response."""
    return any(
        e.response is not None and e.response.status in (401, _GRPC_UNAUTHENTICATED)
        for c in result.deviations()
        for e in c.exchanges
    )


__all__ = [
    "BaselineWriter",
    "FinishedListener",
    "GoogleSummaryPrinter",
    "QuietSummary",
    "ReportFiles",
    "UnauthorizedHint",
    "quiet_lines",
    "saw_unauthorized",
]
