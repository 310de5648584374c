"""Traceability: every rule of the catalogue that can be observed is passed by the clean server and broken by
at least one fault profile; every check and every fault case names a rule the catalogue has.

A rule no profile can break is a check nobody has seen fire; a rule the clean server does not pass is a
check that fires on a correct server (or is never exercised). Both are defects this file catches.
"""

from __future__ import annotations

from pathlib import Path

from harness.catalogue import load_rules, rules_by_id
from harness.checks import REGISTRY, verify_registry
from harness.results import RunResult, Status
from mock_server.faults import PROFILES
from mock_server.faults.registry import CASES, markdown_tables, profiles, rules_broken

DOCS = Path(__file__).resolve().parents[2] / "docs" / "faults.md"


def _observable() -> set[str]:
    return {r.id for r in load_rules() if not r.excluded}


def test_every_observable_rule_is_broken_by_some_fault_profile() -> None:
    missing = sorted(_observable() - rules_broken())
    assert missing == [], f"no fault profile breaks: {missing}"


def test_every_case_names_observable_catalogue_rules() -> None:
    catalogue = rules_by_id()
    for case in CASES:
        for rule in case.breaks | (case.grpc or frozenset()):
            assert rule in catalogue, f"{case.fault}: {rule!r} is not in rules.yaml"
            assert not catalogue[rule].excluded, f"{case.fault}: {rule!r} is excluded in rules.yaml"
        assert case.breaks, f"{case.fault}: a case must break at least one rule"
        if len(case.breaks) > 1 or (case.grpc is not None and len(case.grpc) > 1):
            assert case.why, f"{case.fault}: breaks several rules, say why"


def test_every_check_names_a_catalogue_rule() -> None:
    assert verify_registry() == []
    catalogue = rules_by_id()
    for check in REGISTRY.values():
        assert check.generic_rule or check.rules, f"check {check.name!r} names no rule"
        for rule in check.rules:
            assert rule in catalogue


def test_every_violation_profile_has_a_case_and_every_case_a_profile() -> None:
    for info in profiles():
        if info.kind == "violation":
            assert info.cases, f"fault profile {info.name!r} has no self-test case in the registry"
    for case in CASES:
        assert case.profile in PROFILES, f"case {case.fault!r} names no registered profile"


def test_every_profile_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    undocumented = [name for name in PROFILES if f"`{name}`" not in text]
    assert undocumented == [], f"docs/faults.md does not describe: {undocumented}"


def test_clean_server_passes_every_observable_rule(clean_runs: dict[str, RunResult]) -> None:
    passed = {c.rule_id for run in clean_runs.values() for c in run.checks() if c.status == Status.PASS}
    not_passed = sorted(_observable() - passed)
    assert not_passed == [], f"the clean server never passes: {not_passed}"


def test_the_profile_tables_in_the_docs_are_current() -> None:
    """docs/faults.md carries the tables generated from the registry (regenerate on a mismatch)."""
    text = DOCS.read_text(encoding="utf-8")
    begin = text.index("-->", text.index("<!-- profiles:begin")) + len("-->\n")
    end = text.index("<!-- profiles:end -->")
    assert text[begin:end] == markdown_tables(), (
        "run: python -m mock_server.faults.registry, paste into the docs"
    )


def test_cases_run_over_grpc_only_for_profiles_seen_there() -> None:
    for case in CASES:
        if case.grpc is not None:
            assert "grpc" in PROFILES[case.profile].transports, f"{case.fault} is not visible over gRPC"
