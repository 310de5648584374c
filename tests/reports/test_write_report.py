"""write_report: every format, parent directories, atomic replacement, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import reports
from harness.results import RunResult


@pytest.mark.parametrize("fmt", reports.TEXT_FORMATS)
def test_each_format_writes_a_file(fmt: str, troubled_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / f"report.{fmt}"
    reports.write_report(fmt, str(path), troubled_run)
    assert path.read_text(encoding="utf-8") == reports.render_report(fmt, troubled_run)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_formats_are_the_contract() -> None:
    assert reports.FORMATS == ("json", "junit", "html", "repro")
    assert reports.TEXT_FORMATS == ("json", "junit", "html")


def test_repro_writes_a_directory_of_scripts(troubled_run: RunResult, tmp_path: Path) -> None:
    reports.write_report("repro", str(tmp_path / "repro"), troubled_run)
    scripts = sorted(p.name for p in (tmp_path / "repro").iterdir())
    assert "README.txt" in scripts and any(name.endswith(".sh") for name in scripts)


def test_replaces_an_existing_report(passing_run: RunResult, troubled_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    reports.write_report("json", str(path), troubled_run)
    reports.write_report("json", str(path), passing_run)
    assert '"exit_code": 0' in path.read_text(encoding="utf-8")


def test_unknown_format_is_a_value_error_and_writes_nothing(passing_run: RunResult, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown report format 'pdf': expected one of json, junit, html"):
        reports.write_report("pdf", str(tmp_path / "x" / "r.pdf"), passing_run)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_report(passing_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("previous", encoding="utf-8")
    broken = RunResult.from_dict({**passing_run.to_dict(), "exit_code": 0})
    object.__setattr__(broken, "exit_code", 99)  # not an ExitCode: rendering fails before anything is written
    with pytest.raises(ValueError):
        reports.write_report("json", str(path), broken)
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("json:out/r.json", ("json", "out/r.json")),
        ("html:C:/r.html", ("html", "C:/r.html")),
        ("junit:r.xml", ("junit", "r.xml")),
    ],
)
def test_parse_report_option(value: str, expected: tuple[str, str]) -> None:
    assert reports.parse_report_option(value) == expected


@pytest.mark.parametrize("value", ["json", "json:", "pdf:r.pdf", ":r.json"])
def test_parse_report_option_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="^--report "):
        reports.parse_report_option(value)


def test_an_interrupted_rename_leaves_no_temporary_file(
    passing_run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.html"
    path.write_text("previous", encoding="utf-8")

    def refuse(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        reports.write_report("html", str(path), passing_run)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert path.read_text(encoding="utf-8") == "previous"


def test_a_report_reread_with_null_timings_still_renders_everywhere(troubled_run: RunResult) -> None:
    """A broken timer gives NaN; the JSON stores null; every writer must still render the re-read result."""
    import dataclasses
    import io
    import json

    from reports import json_report
    from reports.console import ConsoleReporter

    nan = float("nan")
    scenarios = tuple(
        dataclasses.replace(
            s,
            duration_ms=nan,
            checks=tuple(
                dataclasses.replace(
                    c,
                    elapsed_ms=nan,
                    exchanges=tuple(dataclasses.replace(x, elapsed_ms=nan) for x in c.exchanges),
                )
                for c in s.checks
            ),
        )
        for s in troubled_run.scenarios
    )
    methods = tuple(dataclasses.replace(m, p50_ms=nan, max_ms=nan) for m in troubled_run.methods)
    broken = dataclasses.replace(troubled_run, scenarios=scenarios, methods=methods, duration_ms=nan)
    doc = json.loads(json_report.render(broken))
    json_report.validate(doc)
    reread = RunResult.from_dict(doc)
    for fmt in reports.TEXT_FORMATS:
        assert reports.render_report(fmt, reread)
    out = ConsoleReporter(io.StringIO(), color=False, verbose=True).render_summary(reread)
    assert "CreateBooking over rest, - [lease/hold-last-spot · book-other-user]" in out
