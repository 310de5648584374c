"""``bookcheck load`` end to end: real Locust masters and workers against the reference server on loopback.

Each run is bounded by --duration (6-10 s) and a few hundred requests per second at most. The four fault
profiles of the issue share one server and one run (see test_fault_profiles for why each finding can only
come from its own fault).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from loadhelpers import ROOT, load_argv, python_m_bookcheck, served

from bookcheck.cli import main
from booking_protocol.feed import FeedSlot
from loadtest.report import schema
from loadtest.thresholds import MILESTONES, THRESHOLDS
from loadtest.verdict import windows
from mock_server.server import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def report_of(tmp: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((tmp / "load.json").read_text())
    jsonschema.validate(doc, schema())
    return doc


def spots_given_back(server: RunningServer, feed: list[FeedSlot]) -> list[str]:
    """Slots whose open spots differ from the feed's: empty when every booking of the run was cancelled."""
    want = {s.key: s.spots_open for s in feed}
    out = []
    for slot in server.app.service.inventory:
        key = (
            slot.merchant_id,
            slot.service_id,
            slot.start_sec,
            slot.duration_sec,
            slot.staff_id,
            slot.room_id,
            slot.party_size,
        )
        if want.get(key, slot.spots_open) != slot.spots_open:
            out.append(f"{key}: {slot.spots_open} open, feed {want[key]}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ready_run_with_two_local_workers(
    feed_path: Path, feed_slots: list[FeedSlot], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with served(feed_path) as server:
        code = main(
            load_argv(
                server.rest_url,
                feed_path,
                tmp_path,
                "--duration",
                "10",
                "--workers",
                "2",
                "--users",
                "8",
                "--rps",
                "40",
            )
        )
        out = capfd.readouterr().out  # the master's progress lines come from its own process
        assert spots_given_back(server, feed_slots) == []
    report = report_of(tmp_path)
    assert (code, report["verdict"], report["exit_code"]) == (0, "READY", 0), report["reasons"]
    assert "req/s" in out and "READY" in out  # progress lines and the verdict
    assert report["audit"]["deviations"] == []
    made, cleaned = report["audit"]["bookings_made"], report["cleanup"]
    assert made > 20 and cleaned["failed"] == []
    assert cleaned["cancelled"] + cleaned["cancelled_during_run"] == made
    assert len(report["workers"]) == 2 and all(w["requests"] > 0 for w in report["workers"])
    methods = {r["method"] for r in report["methods"] if r["requests"]}
    assert {"BatchAvailabilityLookup", "CreateBooking", "UpdateBooking"} <= methods
    assert all(m["met"] is not None for m in report["milestones"]), report["milestones"]
    # JUnit: one test case per threshold (error rate and latency of every method with a threshold), all passed
    cases = ET.parse(tmp_path / "load.xml").getroot().iter("testcase")
    names = {c.get("name") for c in cases}
    for m in methods & set(THRESHOLDS):
        assert {f"{m}/error-rate", f"{m}/latency-p95"} <= names
    assert {f"milestone/{m.kind}" for m in MILESTONES} <= names
    html = (tmp_path / "load.html").read_text()
    assert html.count("<svg") == 3 and "<script" not in html and "src=" not in html and "<link" not in html


def run_concurrently(*argvs: list[str]) -> list[int]:
    """Several ``bookcheck load`` commands at once (each its own process), bounded in time."""
    procs = [
        subprocess.Popen([*python_m_bookcheck(), *a], cwd=ROOT, stdout=subprocess.DEVNULL) for a in argvs
    ]
    try:
        return [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_fault_profiles(feed_path: Path, tmp_path: Path) -> None:
    """The four faults of the issue, two per server, two runs at once. Each finding has one cause:

    - server A, latency on BatchAvailabilityLookup and 10 % HTTP 503 on CreateBooking. Only the latency
      fault slows BAL; only error-rate answers 503, which the report counts apart from business failures.
      The mix books without rushes, at a fixed arrival rate, so a few hundred CreateBookings are sent
      although every slot click takes 2 s.
    - server B, race-overbook and replay-new-booking. Rushes send concurrent CreateBookings for the last
      spots, which only race-overbook lets past capacity. Resent tokens become second bookings only
      through replay-new-booking: with --same-user-rebook allow (an allowed server choice) the replayed
      request books, where the default would refuse it as a same-user duplicate.
    """
    mix_a, mix_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    mix_a.write_text(
        "name: a\nactions: {page_load: 20, book: 80}\npage_load_slot_times: [4, 8]\nresend_share: 0\n"
    )
    mix_b.write_text("name: b\nactions: {page_load: 10, book: 40, rush: 10}\nresend_share: 0.5\n")
    tmp_a, tmp_b = tmp_path / "a", tmp_path / "b"
    tmp_a.mkdir()
    tmp_b.mkdir()
    slow = ("latency=fixed:2s@BatchAvailabilityLookup", "error-rate=0.1@CreateBooking")
    racy = ("race-overbook", "replay-new-booking")
    with served(feed_path, *slow) as a, served(feed_path, *racy, same_user_rebook="allow") as b:
        common = ("--duration", "6", "--workers", "1")
        codes = run_concurrently(
            load_argv(
                a.rest_url, feed_path, tmp_a, *common, "--users", "20", "--rps", "150", "--mix", str(mix_a)
            ),
            load_argv(b.rest_url, feed_path, tmp_b, *common, "--users", "10", "--mix", str(mix_b)),
        )
    report_a, report_b = report_of(tmp_a), report_of(tmp_b)
    assert codes == [1, 1]
    assert (report_a["verdict"], report_b["verdict"]) == ("NOT READY", "NOT READY")
    reasons = "\n".join(report_a["reasons"])
    assert "BatchAvailabilityLookup latency p95" in reasons
    assert "CreateBooking error rate" in reasons
    create = next(r for r in report_a["methods"] if r["method"] == "CreateBooking")
    assert create["http_errors"] / create["requests"] >= 0.05 and create["business_failures"] == 0, create
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for d in report_b["audit"]["deviations"]:
        by_rule.setdefault(d["rule_id"], []).append(d)
    overbooked = by_rule["create-booking/concurrent-last-spots"]
    assert all(len(d["evidence"]["bookings"]) > d["evidence"]["capacity"] for d in overbooked)
    duplicates = by_rule["create-booking/idempotent-capacity"]
    assert any("duplicate booking" in d["message"] for d in duplicates)
    assert report_a["cleanup"]["failed"] == [] and report_b["cleanup"]["failed"] == []


def test_master_and_two_workers_as_separate_commands(feed_path: Path, tmp_path: Path) -> None:
    port = str(free_port())
    with served(feed_path) as server:
        argv = load_argv(
            server.rest_url,
            feed_path,
            tmp_path,
            "--master",
            "--expect-workers",
            "2",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--duration",
            "5",
            "--users",
            "6",
            "--rps",
            "30",
            "--expect-workers-timeout",
            "60",
        )
        master = subprocess.Popen([*python_m_bookcheck(), *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        workers = [
            subprocess.Popen(
                [
                    *python_m_bookcheck(),
                    "load",
                    "--worker",
                    "--master-host",
                    "127.0.0.1",
                    "--master-port",
                    port,
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            out, _ = master.communicate(timeout=120)
            worker_codes = [w.wait(timeout=30) for w in workers]
        finally:
            procs: list[subprocess.Popen[Any]] = [master, *workers]
            for p in procs:
                if p.poll() is None:
                    p.kill()
    report = report_of(tmp_path)
    assert (master.returncode, worker_codes) == (0, [0, 0]), out
    assert report["verdict"] == "READY" and report["config"]["workers"] == 2
    assert len(report["workers"]) == 2 and all(w["requests"] > 0 for w in report["workers"])
    assert sum(w["requests"] for w in report["workers"]) == sum(r["requests"] for r in report["methods"])


def test_interrupt_still_audits_and_cleans_up(
    feed_path: Path, feed_slots: list[FeedSlot], tmp_path: Path
) -> None:
    with served(feed_path) as server:
        argv = load_argv(
            server.rest_url, feed_path, tmp_path, "--duration", "60", "--users", "4", "--rps", "30"
        )
        proc = subprocess.Popen([*python_m_bookcheck(), *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        seen = threading.Event()

        def watch() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "req/s" in line:
                    seen.set()

        threading.Thread(target=watch, daemon=True).start()
        try:
            assert seen.wait(60), "no progress line"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        assert spots_given_back(server, feed_slots) == []
    report = report_of(tmp_path)
    assert report["interrupted"] and report["exit_code"] == 130
    assert report["audit"]["bookings_made"] > 0 and report["cleanup"]["failed"] == []


# -------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "https://booking.example.com", "--feed", "F"], "--i-own-this-target"),
        (["--worker"], "--master-host"),
        (["--target", "http://127.0.0.1:9", "--feed", "F", "--mix", "nope.yaml"], "--mix nope.yaml"),
        (["--target", "http://127.0.0.1:9"], "--feed is required"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    feed_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["load", *[str(feed_path) if a == "F" else a for a in extra]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_bad_mix_names_the_key(feed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mix = tmp_path / "m.yaml"
    mix.write_text("actions: {page_load: 1, teleport: 2}\n")
    assert main(["load", "--target", "http://127.0.0.1:9", "--feed", str(feed_path), "--mix", str(mix)]) == 2
    assert "unknown action 'teleport'" in capsys.readouterr().err


def test_unreachable_target_exits_3(feed_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    assert (
        main(["load", "--target", f"http://127.0.0.1:{port}", "--feed", str(feed_path), "--timeout", "2"])
        == 3
    )


# -------------------------------------------------------------------------------------------- milestones


def test_slot_click_windows_need_every_answer_without_error() -> None:
    slot_click = next(m for m in MILESTONES if m.kind == "slot_click")
    clean = windows(["ok"] * 40, slot_click)
    assert (clean["windows"], clean["windows_met"], clean["met"]) == (21, 21, True)
    one_error = windows(["ok"] * 19 + ["error"] + ["ok"] * 19, slot_click)
    assert one_error["windows_met"] == 0 and one_error["met"] is False  # every window holds the error
    one_failure = windows(["ok"] * 20 + ["failure"] + ["ok"] * 19, slot_click)
    assert one_failure["met"] is True  # 95 % without failures: one in 20 is allowed
    assert windows(["ok"] * 5, slot_click)["met"] is None  # fewer than one window: not judged
