"""The reproducers of one finding replay (the whole fault matrix is ``test_explore_matrix.py``): the scenario
file through ``bookcheck run``'s runner, the bash + curl script against a fresh faulty server (exit 1) and a
clean one (exit 0)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from explorehelp import PASSWORD, USER, explore, run_config, serve

from harness.explore.scenario_writer import scenario_id, scenario_yaml
from harness.explore.script_writer import script_text
from harness.results import Status
from harness.runner import run
from harness.scenario import load_scenario_file


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
