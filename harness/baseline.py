"""Known-deviations baseline (``--baseline FILE``).

A listed deviation still runs and is reported, marked ``baselined``, but does not fail the run. An entry that
matches no deviation any more is *stale* and fails the run, so the file shrinks as the server improves
(like connectrpc/conformance's known-failing lists). File (YAML or JSON)::

    deviations:
      - rule: update-booking/recancel          # required
        scenario: update-booking/cancel-twice  # optional; fnmatch patterns allowed; default: any scenario
        reason: fixed in release 42            # optional, for humans

``bookcheck run --write-baseline FILE`` writes the current deviations in this format.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from booking_protocol.errors import UsageError
from harness.catalogue import rules_by_id
from harness.results import BaselineOutcome, ScenarioResult


class BaselineError(UsageError, ValueError):
    """A baseline file that cannot be used (exit code 2)."""


@dataclass(frozen=True)
class BaselineEntry:
    rule: str
    scenario: str = "*"

    @property
    def key(self) -> str:
        return f"{self.rule} {self.scenario}"

    def matches(self, rule_id: str, scenario_id: str) -> bool:
        return fnmatch.fnmatchcase(rule_id, self.rule) and fnmatch.fnmatchcase(scenario_id, self.scenario)


def parse_baseline(doc: Any, source: str) -> tuple[BaselineEntry, ...]:
    if not isinstance(doc, dict) or not isinstance(doc.get("deviations"), list):
        raise BaselineError(f"{source}: expected a mapping with a 'deviations' list")
    known = rules_by_id()
    out = []
    for i, e in enumerate(doc["deviations"]):
        if not isinstance(e, dict) or not isinstance(e.get("rule"), str):
            raise BaselineError(f"{source}: deviations[{i}]: needs a 'rule' string")
        if not any(fnmatch.fnmatchcase(r, e["rule"]) for r in known):
            raise BaselineError(
                f"{source}: deviations[{i}]: rule {e['rule']!r} matches no rule of the catalogue"
            )
        out.append(BaselineEntry(rule=e["rule"], scenario=str(e.get("scenario", "*"))))
    return tuple(out)


def load_baseline(path: str | Path) -> tuple[BaselineEntry, ...]:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise BaselineError(f"{p}: not valid YAML/JSON: {getattr(exc, 'problem', exc)}") from None
    return parse_baseline(doc, str(p))


def dump_baseline(pairs: list[tuple[str, str]]) -> str:
    entries = [{"rule": r, "scenario": s} for r, s in sorted(set(pairs))]
    return yaml.safe_dump({"deviations": entries}, sort_keys=False)


def apply_baseline(
    scenarios: Sequence[ScenarioResult], entries: tuple[BaselineEntry, ...] | None
) -> tuple[tuple[ScenarioResult, ...], BaselineOutcome]:
    """Mark the deviations the baseline lists as ``baselined``; report which entries matched and which are
    stale (matched nothing, which fails the run)."""
    if not entries:
        return tuple(scenarios), BaselineOutcome()
    used: set[str] = set()
    accepted: set[str] = set()
    out = []
    for sr in scenarios:
        new_checks = []
        for c in sr.checks:
            if c.is_deviation:
                hit = next((e for e in entries if e.matches(c.rule_id, c.scenario_id)), None)
                if hit is not None:
                    used.add(hit.key)
                    accepted.add(f"{c.rule_id} {c.scenario_id}")
                    c = replace(c, baselined=True)
            new_checks.append(c)
        out.append(replace(sr, checks=tuple(new_checks)))
    stale = tuple(sorted(e.key for e in entries if e.key not in used))
    return tuple(out), BaselineOutcome(accepted=tuple(sorted(accepted)), stale=stale)
