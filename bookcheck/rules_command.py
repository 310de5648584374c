"""``bookcheck rules``: the rule catalogue (``scenarios/rules.yaml``), one line per rule."""

from __future__ import annotations

import argparse
from typing import Any

from harness.catalogue import load_rules
from harness.errors import ExitCode


def register(subparsers: Any) -> None:
    r = subparsers.add_parser("rules", help="list the rule catalogue (scenarios/rules.yaml)")
    r.add_argument("--excluded", action="store_true", help="only the rules that cannot be observed")
    r.set_defaults(func=rules_command)


def rules_command(args: argparse.Namespace) -> ExitCode:
    """Every rule (or only the excluded ones) with level, spec section and text; then the counts."""
    rules = load_rules()
    shown = [r for r in rules if r.excluded] if args.excluded else list(rules)
    for r in shown:
        extra = f"  (excluded: {r.excluded})" if r.excluded else ""
        print(f"{r.id:48} {r.level:10} {r.spec:24} {r.text}{extra}")
    excluded = sum(1 for r in rules if r.excluded)
    print(f"{len(rules)} rules, {excluded} excluded, {len(rules) - excluded} observable")
    return ExitCode.OK
