"""``bookcheck explore``: random booking histories against any target, every answer judged by the reference
model in lock-step, failures shrunk (Hypothesis) to the shortest history, written as a scenario file and a
bash + curl reproducer; ``--concurrency K`` checks concurrent histories for linearizability per slot.

The command only parses flags: :func:`harness.prepare.prepare` validates target, credentials, profile and
feed exactly as for ``run``, and :func:`harness.explore.session.run_explore` does the rest (docs/explore.md).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bookcheck.options import (
    add_inventory_options,
    add_profile_options,
    add_target_options,
    positive,
    run_options,
    seconds,
)
from harness.errors import ExitCode
from harness.explore.driver import Budget
from harness.explore.session import FORMATS, examples_the_feed_allows, parse_reports, run_explore
from harness.prepare import prepare

DESCRIPTION = (
    "Draw random booking histories (CreateBooking with new and resent tokens, leases, cancels, reschedules, "
    "party-size changes, status, lists, availability) over fresh slots of your feed, judge every answer with "
    "bookcheck's reference model, and shrink each divergence to the shortest history that shows it. Writes a "
    "scenario file (bookcheck run --scenario-file) and a bash + curl script per broken rule. Only the "
    "capabilities your profile claims are used. Exit codes: 0 nothing found, 1 a divergence, 2 usage error, "
    "3 target unreachable. See docs/explore.md."
)
#: --max-examples without --duration
DEFAULT_EXAMPLES = 200


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "explore", help="random booking histories judged by the reference model", description=DESCRIPTION
    )
    add_target_options(p)
    add_inventory_options(p)
    add_profile_options(p)
    g = p.add_argument_group("exploration budget")
    g.add_argument(
        "--seed", type=int, default=0, help="seed of the histories and the slot choice (default 0)"
    )
    g.add_argument("--nonce", help="pin the per-run nonce in tokens and user ids (default: random)")
    g.add_argument(
        "--max-examples",
        type=positive,
        metavar="N",
        help=f"histories to try (default {DEFAULT_EXAMPLES}; with --duration alone, as many as the "
        "feed's fresh slots allow); with --concurrency, rounds",
    )
    g.add_argument(
        "--max-steps",
        type=positive,
        default=20,
        metavar="N",
        help="operations per history (default 20); with --concurrency, per client and round",
    )
    g.add_argument("--duration", type=seconds, metavar="SEC", help="stop searching after SEC seconds")
    g.add_argument(
        "--shrink-time",
        type=seconds,
        default=50.0,
        metavar="SEC",
        help="time allowed to shrink what was found (default 50)",
    )
    g.add_argument(
        "--concurrency",
        type=positive,
        metavar="K",
        help="K clients at once on shared slots; the history is checked for linearizability",
    )
    g.add_argument(
        "--hypothesis-db",
        metavar="PATH",
        help="keep Hypothesis's example database here and replay earlier failures first; the "
        "search is then random, not --seed's (default: no database)",
    )
    g.add_argument(
        "--keep-bookings",
        action="store_true",
        help="do not cancel what the histories created (default: cancel after each history)",
    )
    out = p.add_argument_group("results")
    out.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help=f"FORMAT one of {', '.join(FORMATS)}: html:PATH (with the timeline of a concurrent "
        "failure), json:PATH, repro:DIR (reproducers; default ./bookcheck-explore when "
        "something is found)",
    )
    out.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="error (default): MUST divergences are failures; warning: SHOULD ones too",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(
        func=explore_command,
        suite="default",
        scenario=[],
        skip_scenario=[],
        scenario_file=[],
        workers=1,
        baseline=None,
    )


def explore_command(args: argparse.Namespace) -> ExitCode:
    reports = parse_reports(args.report)
    config = prepare(run_options(args, needs_scenarios=False))
    max_examples = args.max_examples
    if max_examples is None:  # --duration alone searches for that long, as far as the feed allows
        max_examples = (
            DEFAULT_EXAMPLES if args.duration is None else examples_the_feed_allows(config, args.concurrency)
        )
    budget = Budget(
        max_examples=max_examples,
        max_steps=args.max_steps,
        duration_sec=args.duration,
        shrink_sec=args.shrink_time,
        hypothesis_db=args.hypothesis_db,
    )
    stream = None if args.quiet else sys.stderr
    if stream is not None:
        mode = f"{args.concurrency} concurrent clients" if args.concurrency else "sequential histories"
        print(f"bookcheck explore: {config.target.url}, {mode}, seed {config.seed}", file=stream, flush=True)
    result = run_explore(config, budget, concurrency=args.concurrency, reports=reports, stream=stream)
    for line in result.lines:
        print(line)
    return result.exit_code


__all__ = ["explore_command", "register"]
