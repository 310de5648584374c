"""``bookcheck run`` / ``demo`` / ``rules``: flags, exit codes 0-3, reports, credentials, baseline."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bookcheck.cli import main
from harness.results import ExitCode, RunResult

from .conftest import PASSWORD, USER, free_port, reference_server  # noqa: TID252


@pytest.fixture
def reference(feed_path: Path) -> Callable[..., Any]:
    """The reference server on real time. A command line has no clock to pin, so ``bookcheck run`` judges
    with real time, and the server must agree with it on "now" (a lease asked for now + 60 s is live). The
    feed starts in 2030, so every slot lies ahead and the slot each scenario gets does not depend on the
    date."""
    return lambda **options: reference_server(feed_path, clock=None, **options)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _base(url: str, feed: Path) -> list[str]:
    return [
        "run",
        "--target",
        url,
        "--feed",
        str(feed),
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--no-color",
        "--leases",
        "--party-size-change",
        "--availability",
        "both",
    ]


def test_run_passes_and_writes_every_report(
    reference: Callable[..., Any], feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {f: tmp_path / f"out.{f}" for f in ("json", "junit", "html")}
    with reference() as server:
        code, out, err = _run(
            _base(server.rest_url, feed_path)
            + [
                "--skip-scenario",
                "lease/expired",
                *[a for f, p in paths.items() for a in ("--report", f"{f}:{p}")],
            ],
            capsys,
        )
    assert code == ExitCode.OK, out + err
    assert PASSWORD not in out + err
    data = json.loads(paths["json"].read_text())
    import jsonschema

    schema = json.loads((Path(__file__).parents[2] / "reports" / "report.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert RunResult.from_dict(data).exit_code == ExitCode.OK
    ET.parse(paths["junit"])
    html = paths["html"].read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "<script src=" not in html


def test_bad_flags_are_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--workers", "0"], capsys)
    assert code == ExitCode.USAGE and "--workers" in err
    code, _, err = _run(["run", "--target", "ftp://x"], capsys)
    assert code == ExitCode.USAGE and "--target" in err
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--report", "pdf:x.pdf"], capsys)
    assert code == ExitCode.USAGE and "--report" in err
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--user", "only-user"], capsys)
    assert code == ExitCode.USAGE and "--password" in err
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--scenario", "create-bookng/*"], capsys)
    assert code == ExitCode.USAGE and "create-bookng/*" in err and "matches no scenario" in err


def test_bad_feed_profile_baseline_and_credentials_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad_feed = tmp_path / "feed.json"
    bad_feed.write_text('{"service_availability": [{"availability": [{"merchant_id": "m"}]}]}')
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--feed", str(bad_feed)], capsys)
    assert code == ExitCode.USAGE and "feed.json" in err and "service_id" in err
    bad_profile = tmp_path / "profile.yaml"
    bad_profile.write_text("availability: sometimes\n")
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--profile", str(bad_profile)], capsys)
    assert code == ExitCode.USAGE and "profile.yaml" in err and "availability" in err
    bad_baseline = tmp_path / "baseline.yaml"
    bad_baseline.write_text("deviations:\n  - rule: no/such-rule\n")
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--baseline", str(bad_baseline)], capsys)
    assert code == ExitCode.USAGE and "no/such-rule" in err
    creds = tmp_path / "cred.txt"
    creds.write_text("no-colon-here\n")
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--credentials-file", str(creds)], capsys)
    assert code == ExitCode.USAGE and "username:password" in err


def test_bad_scenario_file_names_file_and_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text(
        "scenarios:\n  - id: mine/one\n    title: t\n    steps:\n      - id: s\n        call: HealthCheck\n"
        "        expect: [no-such-check]\n"
    )
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--scenario-file", str(f)], capsys)
    assert code == ExitCode.USAGE
    assert "mine.yaml" in err and "$.scenarios[0].steps[0].expect[0]" in err and "no-such-check" in err
    f.write_text("scenarios:\n  - id: Bad Id\n    title: t\n    steps: []\n")
    code, _, err = _run(["run", "--target", "http://127.0.0.1:1", "--scenario-file", str(f)], capsys)
    assert code == ExitCode.USAGE and "mine.yaml" in err and "$.scenarios[0].id" in err


def test_refused_port_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    only_health = ["--scenario", "health/*"]
    code, _, err = _run(["run", "--target", f"http://127.0.0.1:{port}", *only_health], capsys)
    assert code == ExitCode.UNREACHABLE
    assert "cannot reach" in err
    code, _, err = _run(
        ["run", "--target", f"grpc://127.0.0.1:{port}", "--timeout", "1", *only_health], capsys
    )
    assert code == ExitCode.UNREACHABLE


def test_a_run_without_feed_is_refused_unless_no_scenario_needs_slots(
    capsys: pytest.CaptureFixture[str], reference: Callable[..., Any]
) -> None:
    """Skipping every booking flow for want of a feed must not read as a green verdict."""
    with reference() as server:
        creds = ["--user", USER, "--password", PASSWORD, "--no-color"]
        code, out, err = _run(["run", "--target", server.rest_url, *creds], capsys)
        assert code == ExitCode.USAGE
        assert "--feed is required" in err and out == ""
        code, out, _ = _run(
            ["run", "--target", server.rest_url, *creds, "--scenario", "auth/*", "--scenario", "health/*"],
            capsys,
        )
    assert code == ExitCode.OK
    assert "health/ok" in out and "auth/missing-credentials" in out


def test_a_target_that_answers_badly_is_a_deviation_not_unreachable(
    capsys: pytest.CaptureFixture[str], reference: Callable[..., Any], feed_path: Path
) -> None:
    with reference(faults=("error-rate=1:500",)) as server:
        code, out, _ = _run(
            _base(server.rest_url, feed_path)
            + ["--scenario", "health/ok", "--scenario", "create-booking/echo"],
            capsys,
        )
    assert code == ExitCode.DEVIATIONS
    assert "health/ok" in out


def test_credentials_from_file_and_environment(
    reference: Callable[..., Any],
    feed_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cred = tmp_path / "cred.txt"
    cred.write_text(f"{USER}:{PASSWORD}\n")
    with reference() as server:
        code, out, err = _run(
            [
                "run",
                "--target",
                server.rest_url,
                "--credentials-file",
                str(cred),
                "--scenario",
                "auth/*",
                "--scenario",
                "health/ok",
            ],
            capsys,
        )
        assert code == ExitCode.OK, out + err
        monkeypatch.setenv("BOOKCHECK_USER", USER)
        monkeypatch.setenv("BOOKCHECK_PASSWORD", PASSWORD)
        code, out, err = _run(["run", "--target", server.rest_url, "--scenario", "auth/*"], capsys)
        assert code == ExitCode.OK, out + err
        monkeypatch.setenv("BOOKCHECK_PASSWORD", "wrong")
        code, out, err = _run(["run", "--target", server.rest_url, "--scenario", "health/ok", "-q"], capsys)
        assert code == ExitCode.USAGE  # the preflight's setup error (D30), not a cascade of deviations
        assert "refuses the credentials given" in err


def test_baseline_accepts_known_deviations_and_fails_stale_entries(
    reference: Callable[..., Any], feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = tmp_path / "written.yaml"
    with reference(faults=("health-fail",)) as server:
        args = _base(server.rest_url, feed_path) + [
            "--scenario",
            "health/ok",
            "--scenario",
            "create-booking/echo",
        ]
        code, _, _ = _run(args + ["--write-baseline", str(written)], capsys)
        assert code == ExitCode.DEVIATIONS
        assert "health/ok" in written.read_text()
        code, out, _ = _run(args + ["--baseline", str(written)], capsys)
        assert code == ExitCode.OK, out
    with reference() as server:
        # the server is fixed: the baseline entry is stale and fails the run
        args = _base(server.rest_url, feed_path) + [
            "--scenario",
            "health/ok",
            "--report",
            f"json:{tmp_path}/r.json",
        ]
        code, _, _ = _run(args + ["--baseline", str(written)], capsys)
        assert code == ExitCode.DEVIATIONS
        stale = json.loads((tmp_path / "r.json").read_text())["baseline"]["stale"]
        assert stale == ["health/ok health/ok"]


def test_google_test_client_suite_prints_its_summary(
    reference: Callable[..., Any], feed_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with reference() as server:
        code, out, err = _run(
            _base(server.rest_url, feed_path)
            + ["--suite", "google-test-client", "--num-slots", "4", "--availability", "check"],
            capsys,
        )
    assert code == ExitCode.OK, out + err
    assert "HealthCheck Succeeded." in out
    assert "CheckAvailability Errors: 0 out of 4." in out
    assert "CreateBooking Errors: 0 out of 4." in out
    assert "All Tests Pass!" in out


def test_rules_command_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rules"], capsys)
    assert code == 0 and "create-booking/idempotent-replay" in out and "excluded" in out


def test_demo_runs_against_our_own_server(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bookcheck",
            "demo",
            "--no-color",
            "--skip-scenario",
            "lease/expired",
            "--report",
            f"json:{tmp_path}/demo.json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "reference server on http://127.0.0.1:" in proc.stdout
    reports = sorted(p.name for p in tmp_path.glob("demo*.json"))
    assert reports
    for name in reports:
        assert json.loads((tmp_path / name).read_text())["exit_code"] == 0


def test_every_command_maps_errors_the_same_way(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One place (bookcheck/cli.py) turns an error into ``bookcheck COMMAND: message`` and its exit code."""
    missing = tmp_path / "nope.json"
    code, out, err = _run(["validate-feed", str(missing)], capsys)
    assert (code, out, err) == (
        ExitCode.USAGE,
        "",
        f"bookcheck validate-feed: {missing}: no such file or directory\n",
    )
    code, _, err = _run(["generate", "availability"], capsys)
    assert code == ExitCode.USAGE and err.startswith("bookcheck generate: generate availability: --out")

    def interrupted(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("bookcheck.run_command.execute", interrupted)
    code, _, err = _run(["run", "--target", "http://127.0.0.1:9", "--scenario", "health/*"], capsys)
    assert (code, err) == (ExitCode.INTERRUPTED, "bookcheck run: interrupted\n")


def test_sigterm_stops_a_run_with_exit_143(tmp_path: Path) -> None:
    """What a CI cancel sends: the demo stops its server and ends with 143, saying so on one line."""
    import os
    import select
    import signal

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "bookcheck", "demo", "--no-grpc", "--no-color", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        first = proc.stdout.readline() if ready else ""
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert "reference server on" in first, first + err
    assert proc.returncode == ExitCode.TERMINATED, err
    assert err.strip().splitlines()[-1] == "bookcheck demo: terminated", err
