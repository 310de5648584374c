"""Reproducers run: for fault profiles of the self-test registry, every script written by
``--report repro:DIR`` exits 1 against a fresh server with that fault and 0 against a clean server, and
``bookcheck replay`` agrees through the harness (REST and gRPC).

Servers run in-process on ephemeral ports (the self-test room's ``faultrun.serve``); the scripts run as real
``bash`` processes with ``curl`` and ``python3``. ``BOOKCHECK_NOW`` hands them the servers' pinned clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "selftest"))

import argparse  # noqa: E402

from faultrun import PASSWORD, USER, run_harness, serve  # noqa: E402
from timebase import pinned_clock  # noqa: E402

from bookcheck import replay_command  # noqa: E402
from harness.errors import BookcheckError  # noqa: E402
from harness.results import RunResult  # noqa: E402
from reports import json_report  # noqa: E402
from reports.repro import plans
from reports.repro_script import write_all  # noqa: E402

#: (fault profile, the scenarios its run needs): small runs keep the test fast; together they cover
#: multi-step fills, concurrent steps, captured booking and lease ids, raw bodies, other credentials, BAL,
#: ListBookings and GetBookingStatus.
PROFILES = [
    (
        "overbook",
        (
            "create-booking/fill-to-capacity",
            "create-booking/concurrent-last-spots",
            "lease/holds-last-spot",
        ),
    ),
    ("health-fail", ("health/ok",)),
    ("malformed-500", ("bad-request/malformed-and-wrong-types",)),
    ("content-type-text", ("create-booking/echo",)),
    ("no-auth", ("auth/missing-credentials", "auth/wrong-credentials")),
    ("replay-new-booking", ("create-booking/idempotent-replay", "create-booking/concurrent-replay")),
    ("dedupe-returns-earlier", ("create-booking/new-token-same-user",)),
    ("recancel-error", ("update-booking/cancel-twice",)),
    ("lease-not-holding", ("lease/holds-last-spot",)),
    ("bal-full-available", ("bal/full-then-freed",)),
    ("list-leaks-users", ("list-bookings/contents-isolation",)),
    ("status-stale-cancel", ("get-booking-status/lifecycle",)),
    ("unknown-booking-500", ("update-booking/unknown-booking", "get-booking-status/unknown")),
]


def _script(path: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        BOOKCHECK_USER=USER,
        BOOKCHECK_PASSWORD=PASSWORD,
        BOOKCHECK_NOW=str(int(pinned_clock()())),
        BOOKCHECK_TIMEOUT="10",
    )
    return subprocess.run(["bash", str(path), url], env=env, capture_output=True, text=True, timeout=60)


def cli_main(argv: list[str]) -> int:
    """``bookcheck replay ARGV`` as ``bookcheck/cli.py`` runs a command (errors become exit codes)."""
    parser = argparse.ArgumentParser(prog="bookcheck")
    replay_command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BookcheckError as exc:
        print(f"bookcheck replay: {exc}", file=sys.stderr)
        return int(exc.exit_code)


def _fault_run(fault: str, only: tuple[str, ...]) -> RunResult:
    with serve([fault]) as served:
        return run_harness(served.rest_url, only=only, workers=4)


@pytest.mark.parametrize(("fault", "only"), PROFILES, ids=[p[0] for p in PROFILES])
def test_every_reproducer_exits_1_on_the_fault_and_0_on_a_clean_server(
    fault: str, only: tuple[str, ...], tmp_path: Path
) -> None:
    result = _fault_run(fault, only)
    written = write_all(result, str(tmp_path))
    assert written, f"{fault}: no reproducer written"
    assert sorted(written) == sorted(p.file_name for p in plans(result))
    for name in written:
        with serve([fault]) as broken:
            on_fault = _script(tmp_path / name, broken.rest_url)
        with serve() as clean:
            on_clean = _script(tmp_path / name, clean.rest_url)
        assert on_fault.returncode == 1, f"{fault} {name}: {on_fault.stdout}{on_fault.stderr}"
        assert "REPRODUCED" in on_fault.stdout
        assert on_clean.returncode == 0, f"{fault} {name}: {on_clean.stdout}{on_clean.stderr}"


def test_a_reproducer_never_holds_the_credentials_and_runs_twice_on_one_server(tmp_path: Path) -> None:
    result = _fault_run("overbook", ("create-booking/fill-to-capacity",))
    [name] = write_all(result, str(tmp_path / "repro"))
    text = (tmp_path / "repro" / name).read_text()
    assert PASSWORD not in text and USER not in text
    with serve(["overbook"]) as broken:
        first, second = (
            _script(tmp_path / "repro" / name, broken.rest_url),
            _script(tmp_path / "repro" / name, broken.rest_url),
        )
    assert (first.returncode, second.returncode) == (1, 1), first.stdout + second.stdout


def test_a_reproducer_refuses_to_run_without_url_or_credentials(tmp_path: Path) -> None:
    result = _fault_run("health-fail", ("health/ok",))
    [name] = write_all(result, str(tmp_path))
    no_url = subprocess.run(["bash", str(tmp_path / name)], capture_output=True, text=True, timeout=30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKCHECK_")}
    no_creds = subprocess.run(
        ["bash", str(tmp_path / name), "http://127.0.0.1:9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (no_url.returncode, no_creds.returncode) == (2, 2)
    assert "usage" in no_url.stderr and "BOOKCHECK_USER" in no_creds.stderr


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_bookcheck_replay_agrees_with_the_script(
    transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(["overbook"], grpc=transport == "grpc") as served:
        url = served.rest_url if transport == "rest" else served.grpc_url
        assert url is not None
        result = run_harness(url, only=("create-booking/fill-to-capacity",))
    report = tmp_path / "run.json"
    report.write_text(json_report.render(result))
    monkeypatch.setenv("BOOKCHECK_NOW", str(int(pinned_clock()())))
    argv = [
        "replay",
        str(report),
        "--rule",
        "create-booking/full-slot-unavailable",
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--target",
    ]
    for faults, expected in ((["overbook"], 1), ([], 0)):
        with serve(faults, grpc=transport == "grpc") as served:
            target = served.rest_url if transport == "rest" else served.grpc_url
            assert target is not None
            assert cli_main([*argv, target]) == expected, capsys.readouterr().out
    assert cli_main([*argv[:2], "--rule", "no/such-rule", "--target", "http://127.0.0.1:9"]) == 2
