"""``--concurrency``: K clients on shared slots; the race faults are found by the history checker, which names
the operations that cannot be ordered; the clean server's concurrent histories are linearizable."""

from __future__ import annotations

import pytest
from explorehelp import run_config, serve

from harness.explore.concurrent import ConcurrentExplorer, ConcurrentOutcome
from harness.explore.driver import Budget
from harness.explore.linearize import BOOKED
from harness.explore.report import html_report
from harness.targets import make_target


def _race(url: str, rounds: int) -> ConcurrentOutcome:
    config = run_config(url)
    budget = Budget(max_examples=rounds, max_steps=5, duration_sec=60)
    return ConcurrentExplorer(config, budget, make_target(config.target), clients=8).explore()


def test_the_clean_server_is_linearizable_under_8_clients() -> None:
    with serve() as served:
        out = _race(served.rest_url, rounds=6)
    assert out.violation is None and out.rounds == 6 and out.ops == 6 * 8 * 5
    assert out.cleanup_problems == []


@pytest.mark.parametrize(
    ("fault", "rule"),
    [
        ("race-overbook", "create-booking/concurrent-last-spots"),
        ("race-replay", "create-booking/concurrent-replay"),
    ],
)
def test_a_race_fault_is_found_and_its_window_named(fault: str, rule: str) -> None:
    with serve([fault]) as served:
        out = _race(served.rest_url, rounds=10)
    v = out.violation
    assert v is not None, f"{fault}: no violation in {out.rounds} rounds"
    assert v.rule == rule
    books = [h for h in v.window if h.kind == "book"]
    assert len(books) >= 2 and all(h.text.startswith("book token") for h in books)
    if rule.endswith("replay"):  # two answers to copies of one request
        assert len(v.window) == 2 and books[0].arg == books[1].arg
    else:  # more bookings than the slot had spots
        booked = {h.result[1] for h in v.window if h.result[0] == BOOKED}
        assert v.start is not None and len(booked) > v.start.open
    page = html_report(None, out, {}, target=served.rest_url, seed=1)
    assert "<svg" in page and rule in page and books[0].text in page
