"""Report writers of bookcheck: console, JSON, JUnit XML, HTML, reproducer scripts and Google's summary.

Writers consume :mod:`harness.results` records only (never the runner or the targets), so a report can be
written from a live run or re-rendered from a saved JSON report (``RunResult.from_dict``).

``bookcheck run --report FORMAT:PATH`` (repeatable) goes through :func:`write_report` (``repro:DIR`` writes
a directory of scripts, one per broken rule: :mod:`reports.repro_script`); the console
progress and summary are :class:`reports.console.ConsoleReporter`, a ``RunListener``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.results import RunResult

from . import html_report, json_report, junit, repro_script

#: Formats rendered as one text file each (:func:`render_report`).
TEXT_FORMATS: tuple[str, ...] = ("json", "junit", "html")
#: Every ``--report`` format: the text formats and ``repro`` (a directory of reproducer scripts).
FORMATS: tuple[str, ...] = (*TEXT_FORMATS, "repro")

_RENDERERS: dict[str, Callable[[RunResult], str]] = {
    "json": json_report.render,
    "junit": junit.render,
    "html": html_report.render,
}


def render_report(fmt: str, result: RunResult) -> str:
    """The report text of format ``fmt``; ValueError names the known formats when ``fmt`` is not one."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown report format {fmt!r}: expected one of {', '.join(TEXT_FORMATS)} "
            "(repro writes a directory)"
        ) from None
    return renderer(result)


def write_report(fmt: str, path: str, result: RunResult) -> None:
    """Write the ``fmt`` report of ``result`` to ``path``: parent directories created, and written to a
    temporary file in the same directory then renamed over ``path``, so a reader (a CI artifact upload, a
    browser refresh) never sees half a report and a failed write leaves any previous report intact."""
    if fmt == "repro":
        repro_script.write_all(result, path)
        return
    text = render_report(fmt, result)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_report_option(value: str) -> tuple[str, str]:
    """Split a ``--report FORMAT:PATH`` value; ValueError with a one-line message when it is malformed."""
    fmt, sep, path = value.partition(":")
    if not sep or not path:
        raise ValueError(f"--report {value!r}: expected FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}")
    if fmt not in FORMATS:
        raise ValueError(f"--report {value!r}: unknown format {fmt!r}, expected one of {', '.join(FORMATS)}")
    return fmt, path


def _umask() -> int:
    """The process umask (reading it needs setting it; restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


__all__ = ["FORMATS", "TEXT_FORMATS", "parse_report_option", "render_report", "write_report"]
