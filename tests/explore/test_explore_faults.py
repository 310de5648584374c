"""Explore finds seeded bugs of the reference server's fault profiles and shrinks them: a representative,
bounded subset of the fault matrix (the whole matrix is run by hand, see docs/explore.md). The rule found
is one the fault registry says the profile breaks; single-step bugs shrink to at most 8 steps.

The reproducers of one finding replay: the scenario file through ``bookcheck run``'s runner, the bash + curl
script against a fresh faulty server (exit 1) and a clean one (exit 0)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from explorehelp import PASSWORD, USER, explore, run_config, serve

from harness.explore.scenario_writer import replayed_steps, scenario_id, scenario_yaml
from harness.explore.script_writer import script_text
from harness.results import Status
from harness.runner import run
from harness.scenario import load_scenario_file
from mock_server.faults.registry import CASES

BREAKS = {c.fault: c.breaks for c in CASES}

#: (fault, seed) — one per family, each found within a few dozen histories: capacity, idempotency, D10,
#: cancel, leases, lists, echo (the cancel-that-frees-nothing family is the reproducer test below).
SUBSET = [
    ("overbook", 1),
    ("replay-new-booking", 1),
    ("dedupe-returns-earlier", 1),
    ("recancel-error", 1),
    ("lease-not-holding", 1),
    ("list-leaks-users", 1),
    ("echo-no-user", 1),
]


@pytest.mark.parametrize(("fault", "seed"), SUBSET, ids=[f for f, _ in SUBSET])
def test_explore_finds_the_fault_and_shrinks_it(fault: str, seed: int) -> None:
    with serve([fault]) as served:
        out = explore(served.rest_url, seed=seed, max_examples=200, duration=60, shrink_sec=15)
    assert out.primary is not None, f"{fault}: nothing found in {out.examples} histories"
    assert out.primary in BREAKS[fault], (fault, out.primary, sorted(out.found))
    steps = replayed_steps(out.found[out.primary].example)
    assert 1 <= len(steps) <= 8, [s.text for s in steps]


def test_the_reproducers_replay_the_finding(tmp_path: Path) -> None:
    with serve(["cancel-no-release"]) as served:
        out = explore(served.rest_url, seed=1, max_examples=200, duration=60, shrink_sec=15)
    rule = out.primary
    assert rule is not None
    example = out.found[rule].example
    scenario = tmp_path / "repro.yaml"
    scenario.write_text(scenario_yaml(example, rule, seed=1), encoding="utf-8")
    [loaded] = load_scenario_file(scenario)  # a valid scenario file (schema, checks, rules)
    assert loaded.id == scenario_id(rule)
    verdicts = {}
    for faults in (["cancel-no-release"], []):
        with serve(faults) as served:
            config = dataclasses.replace(
                run_config(served.rest_url), scenario_files=(str(scenario),), only=(loaded.id,)
            )
            verdicts[bool(faults)] = run(config).scenarios[0].status
    assert verdicts == {True: Status.FAIL, False: Status.PASS}
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.fail("bash and curl are needed to run the reproducer script")
    script = tmp_path / "repro.sh"
    script.write_text(script_text(example, rule, name="repro.sh"), encoding="utf-8")
    env = dict(os.environ, BOOKCHECK_USER=USER, BOOKCHECK_PASSWORD=PASSWORD)
    codes = {}
    for faults in (["cancel-no-release"], []):
        with serve(faults, clock=None) as served:
            proc = subprocess.run(
                ["bash", str(script), served.rest_url], env=env, capture_output=True, text=True, timeout=60
            )
            codes[bool(faults)] = (proc.returncode, proc.stdout)
    assert codes[True][0] == 1 and "REPRODUCED" in codes[True][1], codes[True]
    assert codes[False][0] == 0, codes[False]
