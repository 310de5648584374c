"""Every rule a server can break has, beside it in ``scenarios/rules.yaml``, what it means for a partner and
how to fix it: the first screen of every report shows both."""

from __future__ import annotations

from harness.catalogue import load_rules
from mock_server.faults.registry import rules_broken


def test_every_breakable_rule_says_what_it_means_and_how_to_fix_it() -> None:
    rules = {r.id: r for r in load_rules()}
    missing = sorted(r for r in rules_broken() if not (rules[r].meaning and rules[r].fix))
    assert missing == []


def test_the_texts_are_sentences_for_a_partner_not_copies_of_the_rule() -> None:
    for rule in load_rules():
        if rule.meaning is None:
            continue
        assert rule.fix, rule.id
        for text in (rule.meaning, rule.fix):
            assert text[0].isupper() and text.rstrip().endswith((".", ")")), (rule.id, text)
            assert text != rule.text, rule.id
