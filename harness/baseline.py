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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from booking_protocol.errors import UsageError
from harness.catalogue import rules_by_id


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
