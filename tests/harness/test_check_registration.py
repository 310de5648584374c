"""A check may only report rules of the catalogue: a wrong rule id fails when the check is registered, i.e. at
import of the module that declares it, not later in a partner's run."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from harness.catalogue import rules_by_id
from harness.checks import REGISTRY, CheckContext, CheckRegistrationError, RegisteredCheck, Verdict, check


def _never(ctx: CheckContext) -> Iterable[Verdict]:
    return ()


def _excluded_rule() -> str:
    excluded = sorted(r.id for r in rules_by_id().values() if r.excluded)
    assert excluded, "rules.yaml has no excluded rule to test with"
    return excluded[0]


def test_a_rule_missing_from_the_catalogue_is_refused_at_registration() -> None:
    throwaway: dict[str, RegisteredCheck] = {}
    before = dict(REGISTRY)
    with pytest.raises(
        CheckRegistrationError, match=r"check 'made-up' reports rule 'no/such-rule', which is not"
    ):
        check("made-up", rules=("health/ok", "no/such-rule"), registry=throwaway)(_never)
    assert throwaway == {}
    assert REGISTRY == before


def test_a_rule_excluded_in_the_catalogue_is_refused_at_registration() -> None:
    rule = _excluded_rule()
    throwaway: dict[str, RegisteredCheck] = {}
    with pytest.raises(CheckRegistrationError, match="rules.yaml lists as excluded"):
        check("judges-the-unobservable", rules=(rule,), registry=throwaway)(_never)
    assert throwaway == {}


def test_a_valid_check_registers_and_a_second_one_of_the_same_name_is_refused() -> None:
    throwaway: dict[str, RegisteredCheck] = {}
    check("fine", rules=("health/ok",), registry=throwaway)(_never)
    assert throwaway["fine"] == RegisteredCheck("fine", ("health/ok",), _never, False)
    with pytest.raises(CheckRegistrationError, match="registered twice"):
        check("fine", rules=("health/ok",), registry=throwaway)(_never)


def test_a_module_declaring_a_check_with_an_unknown_rule_fails_to_import(tmp_path: Path) -> None:
    """The way a contributor meets it: importing the module that holds the check raises, naming the rule."""
    source = tmp_path / "plugin_checks.py"
    source.write_text(
        "from harness.checks import check\n\n\n"
        '@check("typo-check", rules=("create-booking/succeed",))\n'
        "def typo_check(ctx):\n"
        "    return ()\n",
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("bookcheck_test_plugin_checks", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(CheckRegistrationError, match=r"'create-booking/succeed', which is not in rules.yaml"):
        spec.loader.exec_module(module)
    assert "typo-check" not in REGISTRY
    assert "bookcheck_test_plugin_checks" not in sys.modules


def test_every_built_in_check_reports_only_catalogued_rules() -> None:
    known = rules_by_id()
    assert len(REGISTRY) >= 20
    for registered in REGISTRY.values():
        for rule in registered.rules:
            assert rule in known and not known[rule].excluded, (registered.name, rule)
