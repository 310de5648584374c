"""``bookcheck run`` and the pytest plugin are two doors to one run preparation and one verdict rule.

For each input the CLI refuses, ``pytest --bookcheck-…`` (in a subprocess, as a partner's CI starts it)
refuses it too, with the very same one-line message, once, and neither passes. Against a server with two
faults, both doors fail the same scenarios, and a baseline of those deviations makes both pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bookcheck.cli import main
from harness.errors import ExitCode
from harness.results import RunResult

from .conftest import PASSWORD, USER, reference_server  # noqa: TID252

#: A port nothing listens on: every refusal below happens before any connection is tried.
NOWHERE = "http://127.0.0.1:9"


def _clean_env(**extra: str) -> dict[str, str]:
    """No credentials from the test's environment; no plugin but ours (``-p``), which also starts fast."""
    env = {k: v for k, v in os.environ.items() if k not in ("BOOKCHECK_USER", "BOOKCHECK_PASSWORD")}
    env.update(extra, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return env


def _pytest(
    tmp_path: Path, flags: list[str], env: dict[str, str], *own: str
) -> subprocess.CompletedProcess[str]:
    """pytest with the plugin in an empty directory: ``--x`` flags of ``bookcheck run`` as ``--bookcheck-x``,
    then pytest's ``own`` options."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    plugin_flags = [f"--bookcheck-{f[2:]}" if f.startswith("--") else f for f in flags]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "harness.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            str(tmp_path / "pytest.ini"),
            *plugin_flags,
            *own,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def _cli(flags: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``bookcheck run FLAGS`` in-process: its exit code and the message after ``bookcheck run: ``."""
    code = main(["run", *flags])
    lines = capsys.readouterr().err.strip().splitlines()
    prefix = "bookcheck run: "
    # one line, and at most one "hint:" line under it (the preflight's setup errors, §11 D30)
    assert lines and lines[0].startswith(prefix), lines
    assert len(lines) <= 2 and all(line.startswith("  hint: ") for line in lines[1:]), lines
    return code, lines[0][len(prefix) :]


def _bad_inputs(tmp_path: Path, feed: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    profile = tmp_path / "profile.yaml"
    profile.write_text("availability: sometimes\n")
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text("deviations:\n  - rule: no/such-rule\n")
    with_feed = ["--target", NOWHERE, "--feed", str(feed)]
    return {
        "feedless run that needs slots": (["--target", NOWHERE], {}),
        "pattern matching nothing": ([*with_feed, "--scenario", "create-bookng/*"], {}),
        "bad target scheme": (["--target", "ftp://example.com", "--feed", str(feed)], {}),
        "half credentials": ([*with_feed, "--user", "only-user"], {}),
        "half credentials in the environment": (with_feed, {"BOOKCHECK_USER": "only-user"}),
        "bad profile file": ([*with_feed, "--profile", str(profile)], {}),
        "bad baseline file": ([*with_feed, "--baseline", str(baseline)], {}),
    }


CASES = [
    "feedless run that needs slots",
    "pattern matching nothing",
    "bad target scheme",
    "half credentials",
    "half credentials in the environment",
    "bad profile file",
    "bad baseline file",
]


@pytest.mark.parametrize("case", CASES)
def test_the_plugin_refuses_what_the_cli_refuses_with_the_same_message(
    case: str,
    tmp_path: Path,
    feed_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flags, env = _bad_inputs(tmp_path, feed_path)[case]
    monkeypatch.delenv("BOOKCHECK_USER", raising=False)
    monkeypatch.delenv("BOOKCHECK_PASSWORD", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, message = _cli(flags, capsys)
    assert code == ExitCode.USAGE, message

    proc = _pytest(tmp_path, flags, _clean_env(**env))
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert f"ERROR: {message}" in proc.stderr, output
    assert output.count(message) == 1, output  # once, not once per item
    assert "Traceback" not in output and "passed" not in output, output


def test_an_unreachable_target_is_said_once_by_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 3 for the CLI; for pytest one failed item naming the target, and the session stops there."""
    monkeypatch.delenv("BOOKCHECK_USER", raising=False)
    monkeypatch.delenv("BOOKCHECK_PASSWORD", raising=False)
    flags = ["--target", NOWHERE, "--scenario", "health/*", "--scenario", "auth/*"]
    code, message = _cli(flags, capsys)
    assert code == ExitCode.UNREACHABLE and message.startswith(f"cannot reach {NOWHERE}"), message
    proc = _pytest(tmp_path, flags, _clean_env())
    stopped = (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)  # the session stops at the first
    assert proc.returncode in stopped, proc.stdout[-3000:]
    assert "1 failed" in proc.stdout and "passed" not in proc.stdout and "Traceback" not in proc.stdout
    assert f"cannot reach {NOWHERE}" in proc.stdout


# ------------------------------------------------------------------------------------------------------
# the same verdicts
# ------------------------------------------------------------------------------------------------------

#: Independent faults, each breaking one rule (mock_server/faults/registry.py): two MUSTs, one SHOULD (a
#: warning, which fails neither door without --fail-on warning).
FAULTS = ("health-fail", "bal-truncate", "bal-reverse-order")
SCENARIOS = ["--scenario", "health/*", "--scenario", "bal/*", "--scenario", "auth/*"]


def _failed_items(junit: Path) -> set[str]:
    cases = ET.parse(junit).getroot().iter("testcase")
    return {str(c.get("name")) for c in cases if c.find("failure") is not None or c.find("error") is not None}


def test_cli_and_plugin_fail_the_same_scenarios_and_accept_the_same_baseline(
    tmp_path: Path, feed_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOOKCHECK_USER", raising=False)
    monkeypatch.delenv("BOOKCHECK_PASSWORD", raising=False)
    report, baseline, junit = tmp_path / "run.json", tmp_path / "known.yaml", tmp_path / "junit.xml"
    # real time on both sides: a command line has no clock to pin (the feed lies years ahead)
    with reference_server(feed_path, clock=None, faults=FAULTS) as server:
        flags = [
            "--target",
            server.rest_url,
            "--feed",
            str(feed_path),
            "--user",
            USER,
            "--password",
            PASSWORD,
        ]
        flags += [*SCENARIOS, "--seed", "3"]
        code = main(["run", *flags, "-q", "--report", f"json:{report}", "--write-baseline", str(baseline)])
        capsys.readouterr()
        proc = _pytest(tmp_path, flags, _clean_env(), "--junitxml", str(junit))
        result = RunResult.from_dict(json.loads(report.read_text()))
        failing = {s.scenario_id for s in result.scenarios if s.fails_run(result.fail_on)}
        warned = {c.scenario_id for c in result.deviations() if c.rule_id == "bal/request-order"}
        assert code == ExitCode.DEVIATIONS and {"health/ok"} < failing, failing
        assert warned - failing, warned  # scenarios with only a warning pass through both doors
        assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert _failed_items(junit) == failing

        # the deviations written as a baseline are accepted by both doors
        code = main(["run", *flags, "-q", "--baseline", str(baseline)])
        capsys.readouterr()
        proc = _pytest(
            tmp_path, [*flags, "--baseline", str(baseline)], _clean_env(), "--junitxml", str(junit)
        )
    assert code == ExitCode.OK
    assert proc.returncode == pytest.ExitCode.OK, proc.stdout[-3000:]
    assert _failed_items(junit) == set()
