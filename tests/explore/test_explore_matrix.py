"""The fault matrix of issue 13: explore finds every ``--fault`` profile of the reference server whose rules
its operations can observe, names a rule the fault registry lists for it, and shrinks single-step bugs to at
most 8 steps. The list of reachable profiles, the reason for each excluded one and each profile's budget
are data (``fault_matrix.py``); the data must cover the registry exactly.

Bounded and deterministic: each profile runs against its own in-process reference server with the suite's
movable pinned clock, for a fixed number of histories of a fixed seed and a fixed number of shrink
executions (never a time limit), so a slow machine finds the same histories; a few multi-step profiles run
with a narrower target profile (the row says which). The latency profiles stop at the first slow answer
without shrinking (every replay would wait seconds again). ``bench/explore_matrix.py``
runs the same rows as the issue says: the real CLI, ``--seed 1 --duration 60``.
"""

from __future__ import annotations

import pytest
from explorehelp import FULL_PROFILE, explore, serve
from fault_matrix import EXCLUDED, REACHABLE, Row, excluded_family

from harness.catalogue import rules_by_id
from harness.explore.scenario_writer import replayed_steps
from mock_server.faults.registry import CASES

BREAKS = {c.fault: c.breaks for c in CASES}
#: steps per history: enough for a fill of 5 spots and what follows it
MAX_STEPS = 12


def test_every_fault_value_is_either_reachable_or_excluded_with_a_reason() -> None:
    reachable = [r.fault for r in REACHABLE]
    assert len(reachable) == len(set(reachable)), "a fault value is listed twice"
    assert not set(reachable) & set(EXCLUDED), sorted(set(reachable) & set(EXCLUDED))
    by_family = {fault for fault, breaks in BREAKS.items() if excluded_family(breaks)}
    assert not by_family & (set(reachable) | set(EXCLUDED)), "listed, though out of reach as a family"
    assert set(reachable) | set(EXCLUDED) | by_family == set(BREAKS), {
        "not classified": sorted(set(BREAKS) - set(reachable) - set(EXCLUDED) - by_family),
        "not in the registry": sorted((set(reachable) | set(EXCLUDED)) - set(BREAKS)),
    }
    assert all(reason.strip() for reason in EXCLUDED.values())
    rules = rules_by_id()
    for row in REACHABLE:
        assert row.fail_on in ("error", "warning"), row
        assert not row.also or row.why, f"{row.fault}: the extra rules need their reason"
        assert row.also <= set(rules), sorted(row.also - set(rules))


def _explore(row: Row) -> tuple[str | None, int, list[str]]:
    """Explore the profile within the row's budget: (rule found first, shrunk length, every rule found)."""
    with serve([row.fault]) as served:
        out = explore(
            served.rest_url,
            row.profile or FULL_PROFILE,
            seed=row.seed,
            max_examples=row.max_examples,
            max_steps=6 if row.slow else MAX_STEPS,
            duration=None,
            shrink_sec=600.0,  # bounded by executions only: the same histories on any machine
            shrink_executions=0 if row.slow else row.shrink_executions,
            fail_on=row.fail_on,
        )
    if out.primary is None:
        return None, 0, sorted(out.warnings)
    return out.primary, len(replayed_steps(out.found[out.primary].example)), sorted(out.found)


@pytest.mark.parametrize("row", [r for r in REACHABLE if not r.slow], ids=lambda r: r.fault)
def test_explore_finds_the_profile_and_shrinks_it(row: Row) -> None:
    rule, steps, seen = _explore(row)
    assert rule is not None, f"{row.fault}: nothing found in {row.max_examples} histories (seed {row.seed})"
    assert rule in BREAKS[row.fault] | row.also, (row.fault, rule, seen)
    assert 1 <= steps <= row.max_steps_shrunk, (row.fault, rule, steps)


def test_explore_finds_the_latency_profiles_at_the_first_slow_answer() -> None:
    """One test for the profiles that make answers seconds slow: each stops at its first slow answer."""
    found = {row.fault: _explore(row)[:2] for row in REACHABLE if row.slow}
    wrong = {
        fault: (rule, steps)
        for fault, (rule, steps) in found.items()
        if rule not in BREAKS[fault] or not 1 <= steps <= 8
    }
    assert found and not wrong, wrong
