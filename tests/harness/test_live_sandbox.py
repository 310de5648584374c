"""Verdicts a partner can trust on a live sandbox (spec §11 D28-D30): no false green, no false red, no litter.

Real servers on 127.0.0.1: the reference server (in-process, real time, like a partner's sandbox) and
``bookcheck run`` as a child process where signals are involved.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bookcheck.cli import main
from booking_protocol.feed import FeedSlot, load_availability_feed
from harness.results import ExitCode
from mock_server.datagen import generate_availability_feed

from .conftest import PASSWORD, USER, free_port, reference_server  # noqa: TID252

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(feed_path: Path) -> Callable[..., Any]:
    """The reference server on real time, as a partner's sandbox runs."""
    return lambda **options: reference_server(feed_path, clock=None, **options)


def _args(url: str, feed: Path, *extra: str) -> list[str]:
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
        *extra,
    ]


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    out = capsys.readouterr()
    return code, (out.out + out.err).splitlines()


def _write_feed(path: Path, slots: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"service_availability": [{"availability": slots}]}), encoding="utf-8")
    return path


def _raw_slots(feed_path: Path) -> list[dict[str, Any]]:
    doc = json.loads(feed_path.read_text())
    return [a for sa in doc["service_availability"] for a in sa["availability"]]


# ------------------------------------------------------------------------------------------------------
# no false green: a run that could not judge is INCONCLUSIVE (exit 4) or a usage error (exit 2)
# ------------------------------------------------------------------------------------------------------


def test_a_feed_whose_slots_are_all_past_is_inconclusive(
    sandbox: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    past = _write_feed(
        tmp_path / "past.json",
        _raw_slots_from(generate_availability_feed(seed=7, merchants=3, days=3, start=_days_ago(10))),
    )
    with sandbox() as server:
        code, lines = _main(_args(server.rest_url, past, "--report", f"junit:{tmp_path}/j.xml"), capsys)
    assert code == ExitCode.INCONCLUSIVE, lines
    assert any("past" in line and "INCONCLUSIVE" in line.upper() for line in lines), lines
    cases = ET.parse(tmp_path / "j.xml").getroot().iter("testcase")
    assert any(c.find("error") is not None or c.find("failure") is not None for c in cases)


def test_a_feed_whose_slots_are_all_full_is_inconclusive(
    sandbox: Callable[..., Any], feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = _write_feed(tmp_path / "full.json", [dict(a, spots_open=0) for a in _raw_slots(feed_path)])
    with sandbox() as server:
        code, lines = _main(_args(server.rest_url, full), capsys)
    assert code == ExitCode.INCONCLUSIVE, lines
    assert any("full" in line for line in lines), lines


def test_a_merchant_typo_is_one_usage_error(
    sandbox: Callable[..., Any], feed_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sandbox() as server:
        code, lines = _main(_args(server.rest_url, feed_path, "--merchant", "salon-0OO1"), capsys)
    assert code == ExitCode.USAGE
    assert len(lines) == 1 and "--merchant 'salon-0OO1' matches no slot of the feed" in lines[0]


# ------------------------------------------------------------------------------------------------------
# no cascade: a target that cannot be judged is one setup error with a hint
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("wrong-password", "refuses the credentials"),
        ("wrong-base-path", "404 on /v3/HealthCheck"),
        ("another-merchant", "open slots of the feed"),
    ],
)
def test_a_setup_mistake_is_one_error_with_a_hint(
    case: str,
    expect: str,
    sandbox: Callable[..., Any],
    feed_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feed = feed_path
    with sandbox() as server:
        argv = _args(server.rest_url, feed, "--report", f"junit:{tmp_path}/j.xml")
        if case == "wrong-password":
            argv[argv.index("--password") + 1] = "not-the-password"
        elif case == "wrong-base-path":
            argv[argv.index("--target") + 1] = server.rest_url + "/booking"
        else:
            foreign = [dict(a, merchant_id="elsewhere-" + a["merchant_id"]) for a in _raw_slots(feed_path)]
            argv[argv.index("--feed") + 1] = str(_write_feed(tmp_path / "foreign.json", foreign))
        code, lines = _main(argv, capsys)
    assert code == ExitCode.USAGE, lines
    assert len(lines) <= 10, lines
    assert any(expect in line for line in lines) and any("hint:" in line for line in lines), lines
    assert (tmp_path / "j.xml").exists()


def test_a_plain_web_server_is_one_setup_error(
    feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python3 -m http.server`` where the booking server should be: one error with a hint, exit 2."""
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port)
        code, lines = _main(_args(f"http://127.0.0.1:{port}", feed_path), capsys)
    finally:
        web.terminate()
        web.wait(timeout=10)
    assert code == ExitCode.USAGE, lines
    assert len(lines) <= 10 and any("does not look like a booking server" in line for line in lines), lines
    assert any("hint:" in line for line in lines), lines


def _wait_listening(port: int, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_an_unreachable_target_still_writes_a_failing_junit_file(
    feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, lines = _main(_args(url, feed_path, "--report", f"junit:{tmp_path}/j.xml"), capsys)
    assert code == ExitCode.UNREACHABLE, lines
    assert len(lines) <= 10, lines
    root = ET.parse(tmp_path / "j.xml").getroot()
    bad = [c for c in root.iter("testcase") if c.find("error") is not None or c.find("failure") is not None]
    assert bad and "cannot reach" in ET.tostring(bad[0], encoding="unicode")


def test_an_unwritable_report_path_is_refused_before_the_run(
    feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    url = f"http://127.0.0.1:{free_port()}"  # never reached: the flag is refused first
    code, lines = _main(_args(url, feed_path, "--report", f"html:{blocker}/report.html"), capsys)
    assert code == ExitCode.USAGE and len(lines) == 1 and "cannot write there" in lines[0], lines


# ------------------------------------------------------------------------------------------------------
# no false red: other people's bookings on slots the feed still lists as open
# ------------------------------------------------------------------------------------------------------


def _book_out(url: str, slots: list[FeedSlot], tag: str) -> int:
    """Another client takes every spot of ``slots``."""
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    made = 0
    for i, s in enumerate(slots):
        for k in range(s.spots_open):
            slot: dict[str, Any] = {
                "merchant_id": s.merchant_id,
                "service_id": s.service_id,
                "start_sec": s.start_sec,
                "duration_sec": s.duration_sec,
            }
            res = {k2: v for k2, v in (("staff_id", s.staff_id), ("room_id", s.room_id)) if v}
            if s.party_size:
                res["party_size"] = s.party_size
            if res:
                slot["resources"] = res
            body = {
                "slot": slot,
                "user_information": {"user_id": f"{tag}-{i}-{k}"},
                "idempotency_token": f"{tag}-{i}-{k}",
            }
            req = urllib.request.Request(
                url + "/v3/CreateBooking",
                json.dumps(body).encode(),
                {"Content-Type": "application/json", "Authorization": auth},
            )
            made += "booking" in json.load(urllib.request.urlopen(req, timeout=10))
    return made


def test_other_peoples_bookings_give_a_data_warning_not_a_deviation(
    sandbox: Callable[..., Any], feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slots = [s for s in load_availability_feed(feed_path) if s.spots_open > 0]
    with sandbox() as server:
        booked = _book_out(server.rest_url, slots[::3][:150], "someone-else")
        assert booked > 100
        code, lines = _main(_args(server.rest_url, feed_path, "--report", f"json:{tmp_path}/r.json"), capsys)
    assert code == ExitCode.OK, "\n".join(lines)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["data_warnings"] and "stale feed" in report["data_warnings"][0]
    assert not [c for s in report["scenarios"] for c in s["checks"] if c["status"] in ("FAIL", "WARN")]


# ------------------------------------------------------------------------------------------------------
# no litter: SIGINT, SIGTERM and kill -9 leave the sandbox as the feed describes it
# ------------------------------------------------------------------------------------------------------


def _spawn_run(url: str, feed: Path, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = [sys.executable, "-m", "bookcheck", *_args(url, feed, "--workers", "2", "-q", *extra)]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )


def _wait_for_bookings(url: str, ledger: Path, at_least: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ledger.exists() and ledger.read_text().count('"created"') >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run created fewer than {at_least} resources in {timeout} s")


def _availability_matches_feed(url: str, slots: list[FeedSlot]) -> list[str]:
    """Every slot the feed lists as open is available again (BatchAvailabilityLookup), per merchant."""
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    wrong = []
    by_merchant: dict[str, list[FeedSlot]] = {}
    for s in slots:
        by_merchant.setdefault(s.merchant_id, []).append(s)
    for merchant, mine in by_merchant.items():
        for i in range(0, len(mine), 100):
            chunk = mine[i : i + 100]
            body = {
                "merchant_id": merchant,
                "slot_time": [
                    {"service_id": s.service_id, "start_sec": s.start_sec, "duration_sec": s.duration_sec}
                    | ({"resource_ids": _res(s)} if _res(s) else {})
                    for s in chunk
                ],
            }
            req = urllib.request.Request(
                url + "/v3/BatchAvailabilityLookup",
                json.dumps(body).encode(),
                {"Content-Type": "application/json", "Authorization": auth},
            )
            answer = json.load(urllib.request.urlopen(req, timeout=10))["slot_time_availability"]
            wrong += [f"{s.key}" for s, a in zip(chunk, answer, strict=True) if not a.get("available")]
    return wrong


def _res(s: FeedSlot) -> dict[str, Any]:
    res: dict[str, Any] = {k: v for k, v in (("staff_id", s.staff_id), ("room_id", s.room_id)) if v}
    if s.party_size:
        res["party_size"] = s.party_size
    return res


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_cleans_up_and_writes_its_reports(
    sig: signal.Signals, code: int, sandbox: Callable[..., Any], feed_path: Path, tmp_path: Path
) -> None:
    open_slots = [s for s in load_availability_feed(feed_path) if s.spots_open > 0]
    ledger = tmp_path / "ledger.jsonl"
    with sandbox(faults=("latency=fixed:0.05s",)) as server:
        proc = _spawn_run(
            server.rest_url,
            feed_path,
            tmp_path,
            "--ledger",
            str(ledger),
            "--report",
            f"json:{tmp_path}/r.json",
            "--report",
            f"junit:{tmp_path}/r.xml",
        )
        _wait_for_bookings(server.rest_url, ledger, at_least=4)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == code, err
        assert _availability_matches_feed(server.rest_url, open_slots) == []
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outcome"] == "interrupted" and report["exit_code"] == code
    assert "INTERRUPTED" in (tmp_path / "r.xml").read_text().upper()


def test_cleanup_empties_what_a_killed_run_left(
    sandbox: Callable[..., Any], feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_slots = [s for s in load_availability_feed(feed_path) if s.spots_open > 0]
    ledger = tmp_path / "ledger.jsonl"
    with sandbox(faults=("latency=fixed:0.05s",)) as server:
        proc = _spawn_run(server.rest_url, feed_path, tmp_path, "--ledger", str(ledger))
        _wait_for_bookings(server.rest_url, ledger, at_least=6)
        proc.kill()
        proc.communicate(timeout=30)
        assert _availability_matches_feed(server.rest_url, open_slots) != []  # it left bookings behind
        argv = ["cleanup", str(ledger), "--user", USER, "--password", PASSWORD]
        code, lines = _main(argv, capsys)
        assert code == ExitCode.OK, lines
        assert _availability_matches_feed(server.rest_url, open_slots) == []
        code, lines = _main(argv, capsys)  # idempotent
        assert code == ExitCode.OK and "nothing left" in lines[-1], lines


# ------------------------------------------------------------------------------------------------------


def _days_ago(n: int) -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)


def _raw_slots_from(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for sa in doc["service_availability"] for a in sa["availability"]]
