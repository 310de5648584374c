"""``bookcheck explore`` as a partner runs it: usage errors (exit 2) before anything is sent, an unreachable
target (exit 3), a divergence with its reproducers and reports (exit 1), nothing found (exit 0)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from explorehelp import PASSWORD, USER, serve
from timebase import FEED_START

from bookcheck.cli import main
from mock_server.datagen import generate_availability_feed


@pytest.fixture(scope="module")
def feed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feed") / "availability.json"
    doc = generate_availability_feed(seed=11, merchants=6, days=14, start=FEED_START)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _explore(url: str, feed: Path, *extra: str) -> int:
    """``bookcheck explore`` against ``url`` with the test credentials and ``feed``."""
    return main(
        ["explore", "--target", url, "--feed", str(feed), "--user", USER, "--password", PASSWORD, *extra]
    )


def test_without_a_feed_explore_refuses_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", "--target", "http://127.0.0.1:9", "--user", USER, "--password", PASSWORD])
    assert code == 2
    assert "--feed is required" in capsys.readouterr().err


def test_a_feed_too_small_for_the_budget_is_refused_naming_the_need(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _explore("http://127.0.0.1:9", feed_file, "--max-examples", "100000")
    err = capsys.readouterr().err
    assert code == 2 and "needs about 200100" in err and "--max-examples" in err, err


def test_an_unreachable_target_exits_3(feed_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    code = _explore(url, feed_file, "--max-examples", "5", "-q")
    assert code == 3, capsys.readouterr()


def test_a_divergence_exits_1_with_reproducers_and_reports(
    feed_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    with serve(["overbook"], clock=None) as served:
        code = _explore(
            served.rest_url,
            feed_file,
            *("--seed", "1", "--max-examples", "60", "--shrink-time", "5"),
            *("--report", f"repro:{out}", "--report", f"html:{out}/report.html"),
            *("--report", f"json:{out}/report.json", "--hypothesis-db", str(tmp_path / "db"), "-q"),
        )
    text = capsys.readouterr().out
    assert code == 1, text
    doc = json.loads((out / "report.json").read_text())
    rule = doc["sequential"]["primary"]
    assert rule in (
        "create-booking/full-slot-unavailable",
        "create-booking/concurrent-last-spots",
        "lease/holds-spot",
        "update-booking/reschedule-full-slot",
        "update-booking/reschedule-takes-new",
    )
    stem = rule.replace("/", "-")
    assert (out / f"{stem}.yaml").is_file() and (out / f"{stem}.sh").is_file()
    assert f"FAIL {rule}" in text and "reproducer:" in text
    assert rule in (out / "report.html").read_text()
    assert any((tmp_path / "db").rglob("*")), "the failing example is kept in the Hypothesis database"


def test_nothing_found_exits_0(feed_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serve(clock=None) as served:
        code = _explore(served.rest_url, feed_file, "--seed", "3", "--max-examples", "25", "--leases", "-q")
    assert code == 0, capsys.readouterr().out
