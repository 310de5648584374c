"""What a judged step produces: the model's prediction (:class:`Expect`), the planned request
(:class:`Planned`) and the verdicts with the allowed choices the target took (:class:`Judged`); shared by
the judges of :mod:`harness.explore.judge`, :mod:`~harness.explore.updates` and :mod:`~harness.explore.reads`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.checks import Verdict

#: The rule for answers the catalogue has no sharper rule for (added to rules.yaml for explore).
CONSISTENT = "explore/consistent-state"
LEASE_SINGLE_USE = "explore/lease-single-use"


@dataclass(frozen=True)
class Expect:
    """The model's prediction for one step: a kind and its arguments (see the reproducer writers)."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""


@dataclass
class Planned:
    """A step's request; ``refs``: the steps and roles it names (booking, lease, user, role) for
    reproducers."""

    operation: str
    body: Any
    skip: str | None = None
    refs: dict[str, int] = field(default_factory=dict)


@dataclass
class Judged:
    verdicts: list[Verdict] = field(default_factory=list)
    expect: Expect | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)


def v(rule: str, ok: bool, message: str, expected: str | None = None, actual: str | None = None) -> Verdict:
    return Verdict(rule, ok, message, expected, None if ok else actual)
