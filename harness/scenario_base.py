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
#: What a Python scenario needs beyond the target profile, by name: ``payments`` (``--allow-payments`` and a
#: token source), ``token:<outcome>`` (a fixture for that outcome), ``offers`` (an offers file),
#: ``kind:<kind>`` (a service of that kind in the services feed). Unmet, the scenario is skipped as not
#: claimed (:func:`harness.selection.skip_reason`), which never makes a run INCONCLUSIVE.
PYTHON_NEEDS: dict[str, tuple[str, ...]] = {}
#: The money kinds the slots of a Python scenario need, by slot name (``SlotRequirement.pay``; ``{rejected}``
#: stands for the fixtures' rejected card type).
PYTHON_PAY: dict[str, dict[str, str]] = {}
#: ``differ`` of a Python scenario's ``like`` slots beyond what scenario files may say, by slot name
#: (``start-day``: same service, a day apart, so one user may hold both bookings)
PYTHON_DIFFER: dict[str, dict[str, str]] = {}


class ScenarioStopped(Exception):
    """Raised inside a scenario to stop it; ``skip`` makes it a SKIP with the reason."""

    def __init__(self, reason: str, *, skip: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.skip = reason, skip


def python_scenario(
    name: str,
    *,
    needs: tuple[str, ...] = (),
    pay: dict[str, str] | None = None,
    differ: dict[str, str] | None = None,
) -> Callable[[PythonScenario], PythonScenario]:
    """Register the decorated coroutine as the Python scenario ``name`` (twice is a bug: ValueError), with
    what it needs (:data:`PYTHON_NEEDS`), the money kinds of its slots (:data:`PYTHON_PAY`) and how its
    ``like`` slots differ (:data:`PYTHON_DIFFER`)."""

    def deco(fn: PythonScenario) -> PythonScenario:
        if name in PYTHON_SCENARIOS:
            raise ValueError(f"python scenario {name!r} registered twice")
        PYTHON_SCENARIOS[name] = fn
        if needs:
            PYTHON_NEEDS[name] = needs
        if pay:
            PYTHON_PAY[name] = dict(pay)
        if differ:
            PYTHON_DIFFER[name] = dict(differ)
        return fn

    return deco
