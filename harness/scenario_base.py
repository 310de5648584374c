"""What scenario code shares with the runner, without importing it: :class:`ScenarioStopped` and the registry
of Python scenarios (the escape hatch for races, clocks and loops over ``--num-slots``).

This module imports nothing of the harness, so :mod:`harness.python_scenarios` can register functions and
stop a scenario, :mod:`harness.scenario` can check that a ``python:`` name is registered, and
:mod:`harness.runner` can call them, with no import cycle between the three.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

#: A Python scenario: a coroutine that receives the :class:`harness.runner.ScenarioRun` of its scenario.
PythonScenario = Callable[[Any], Awaitable[None]]
#: Registered Python scenarios by the name a scenario file gives as ``python: NAME``.
PYTHON_SCENARIOS: dict[str, PythonScenario] = {}


class ScenarioStopped(Exception):
    """Raised inside a scenario to stop it; ``skip`` makes it a SKIP with the reason."""

    def __init__(self, reason: str, *, skip: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.skip = reason, skip


def python_scenario(name: str) -> Callable[[PythonScenario], PythonScenario]:
    """Register the decorated coroutine as the Python scenario ``name`` (twice is a bug: ValueError)."""

    def deco(fn: PythonScenario) -> PythonScenario:
        if name in PYTHON_SCENARIOS:
            raise ValueError(f"python scenario {name!r} registered twice")
        PYTHON_SCENARIOS[name] = fn
        return fn

    return deco
