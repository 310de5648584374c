"""The rule catalogue (``scenarios/rules.yaml``): every normative rule of the spec, with a stable id.

The catalogue comes first: a check may only report rule ids that are listed here (registration is verified
by :func:`harness.checks.verify_registry`), so every deviation names a rule a partner can look up.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from booking_protocol.errors import UsageError
from harness.results import Rule, Severity

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
RULES_FILE = SCENARIOS_DIR / "rules.yaml"
LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")


class CatalogueError(UsageError, ValueError):
    """The rule catalogue is malformed (a bug of bookcheck, reported as a usage error)."""


def parse_rules(doc: Any, source: str) -> tuple[Rule, ...]:
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise CatalogueError(f"{source}: expected a mapping with a 'rules' list")
    seen: set[str] = set()
    out: list[Rule] = []
    for i, item in enumerate(doc["rules"]):
        where = f"{source}: rules[{i}]"
        if not isinstance(item, dict):
            raise CatalogueError(f"{where}: must be a mapping")
        missing = [k for k in ("id", "level", "spec", "text") if not item.get(k)]
        if missing:
            raise CatalogueError(f"{where}: missing {', '.join(missing)}")
        if item["level"] not in LEVELS:
            raise CatalogueError(f"{where}: level {item['level']!r} is not one of {', '.join(LEVELS)}")
        if item["id"] in seen:
            raise CatalogueError(f"{where}: duplicate rule id {item['id']!r}")
        seen.add(item["id"])
        out.append(
            Rule(
                id=str(item["id"]),
                level=str(item["level"]),
                spec=str(item["spec"]),
                text=str(item["text"]),
                excluded=item.get("excluded"),
                meaning=item.get("meaning"),
                fix=item.get("fix"),
            )
        )
    return tuple(out)


@functools.lru_cache(maxsize=1)
def load_rules(path: str = str(RULES_FILE)) -> tuple[Rule, ...]:
    with open(path, encoding="utf-8") as fh:
        return parse_rules(yaml.safe_load(fh), path)


@functools.lru_cache(maxsize=1)
def rules_by_id() -> dict[str, Rule]:
    """Rules of the catalogue by id (read-only: shared by every caller)."""
    return {r.id: r for r in load_rules()}


def rule(rule_id: str) -> Rule:
    try:
        return rules_by_id()[rule_id]
    except KeyError:
        raise CatalogueError(f"rule {rule_id!r} is not in {RULES_FILE.name}") from None


def severity_of(rule_id: str) -> Severity:
    return rule(rule_id).severity
