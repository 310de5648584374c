"""``bookcheck report``: a saved JSON report re-rendered, validated, and its exit code given back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from junitparser import JUnitXml

from harness.results import RunResult
from reports import command, write_report


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bookcheck")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *argv])
    return int(args.func(args))


@pytest.fixture
def saved(troubled_run: RunResult, tmp_path: Path) -> Path:
    path = tmp_path / "run.json"
    write_report("json", str(path), troubled_run)
    return path


def test_rerenders_and_returns_the_saved_exit_code(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html, xml = tmp_path / "r.html", tmp_path / "j.xml"
    code = _main([str(saved), "--report", f"html:{html}", "--report", f"junit:{xml}", "--google-summary"])
    assert code == 1
    out = capsys.readouterr().out
    assert "Broken rules (" in out and out.rstrip().endswith("2 scenario(s) in error.")
    assert "\x1b[" not in out  # captured stdout is not a terminal
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert JUnitXml.fromfile(str(xml)).failures == 2


def test_quiet_passing_report(
    passing_run: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ok.json"
    write_report("json", str(path), passing_run)
    assert _main([str(path), "--quiet"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        (json.dumps({"schema_version": "1.0"}), "not a valid bookcheck report: (root): "),
    ],
)
def test_bad_input_is_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert _main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bookcheck report: ") and message in err and err.count("\n") == 1


def test_bad_report_option_is_a_usage_error(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main([str(saved), "--report", "pdf:x.pdf"]) == 2
    assert "unknown format 'pdf'" in capsys.readouterr().err
