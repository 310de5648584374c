"""The precision-audit table of docs/harness.md (issue 11, item 2) is the code's: its rule ids are exactly
the catalogue's observable rules, and each row names a check the runner really uses for that rule."""

from __future__ import annotations

import re
from pathlib import Path

from harness.catalogue import load_rules
from harness.checks import AUTO_RULES, BUDGETS_MS, REGISTRY
from harness.scenario import load_scenarios

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "harness.md"
PYTHON_SCENARIOS = ROOT / "harness" / "python_scenarios.py"
ROW = re.compile(
    r"^\| `(?P<rule>[^`]+)` \| (?P<what>.+) \| (?P<level>[A-Z ]+) \| (?P<spec>[^|]+) \| (?P<check>[^|]+) \|$"
)


def _rows() -> list[re.Match[str]]:
    text = DOC.read_text(encoding="utf-8")
    body = text[text.index("<!-- audit:begin -->") : text.index("<!-- audit:end -->")]
    rows = [ROW.match(line) for line in body.splitlines() if line.startswith("| `")]
    assert all(rows), "every audit row has five columns"
    return [r for r in rows if r is not None]


def _used_with() -> dict[str, set[str]]:
    """check name -> rules it reports in the scenario files (a generic check reports the rule it is given)."""
    out: dict[str, set[str]] = {}
    for s in load_scenarios():
        for st in s.steps:
            for e in st.expect:
                rule = e.args.get("rule")
                out.setdefault(e.name, set()).update(
                    [rule] if isinstance(rule, str) else REGISTRY[e.name].rules
                )
    return out


def test_audit_rows_are_the_observable_rules_of_the_catalogue() -> None:
    ids = [r["rule"] for r in _rows()]
    assert len(ids) == len(set(ids)), "a rule appears twice"
    assert set(ids) == {r.id for r in load_rules() if not r.excluded}


def test_each_row_names_the_check_that_reports_its_rule_at_its_level() -> None:
    automatic = set(AUTO_RULES) | {rule for _ms, rule in BUDGETS_MS.values()}
    used = _used_with()
    python_text = PYTHON_SCENARIOS.read_text(encoding="utf-8")
    levels = {r.id: r.level for r in load_rules()}
    for row in _rows():
        rule, check = row["rule"], row["check"].strip()
        assert row["level"] == levels[rule], rule
        if check.startswith("automatic"):
            assert rule in automatic, f"{rule}: not judged automatically"
            continue
        name = check.strip("`")
        reg = REGISTRY[name]
        if reg.generic_rule:
            seen = rule in used.get(name, set()) or rule in automatic or f'rule="{rule}"' in python_text
            assert seen, f"{rule}: no scenario gives it to the generic check {name!r}"
        else:
            assert rule in reg.rules, f"{rule}: check {name!r} does not report it"
