"""One ``bookcheck explore`` run from a prepared configuration: refuse what cannot work, explore
(sequentially, or with ``--concurrency`` K clients), write the reproducers and reports, give the exit code.

Exit codes: 0 nothing found, 1 a divergence (or a history that cannot be ordered), 2 usage (raised as
:class:`~harness.errors.UsageError` before anything is sent), 3 target unreachable (raised by the preflight).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harness.errors import ExitCode, UsageError
from harness.explore.concurrent import SLOTS_PER_ROUND, ConcurrentExplorer, ConcurrentOutcome
from harness.explore.driver import SHRINK_EXECUTIONS, Budget, ExploreOutcome, Explorer, RunSettings
from harness.explore.report import html_report, summary_json, summary_lines
from harness.explore.scenario_writer import scenario_id, scenario_yaml
from harness.explore.script_writer import script_text
from harness.explore.world import SlotPool
from harness.targets import make_target

FORMATS = ("html", "json", "repro")
#: Fresh slot groups one history claims on average (A, and often one of A2, B, P).
GROUPS_PER_EXAMPLE = 2
#: Groups kept for shrinking what was found.
SHRINK_GROUPS = SHRINK_EXECUTIONS // 3


@dataclass
class ExploreResult:
    exit_code: ExitCode
    sequential: ExploreOutcome | None = None
    concurrent: ConcurrentOutcome | None = None
    files: dict[str, list[str]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def groups_needed(budget: Budget, concurrency: int | None) -> int:
    if concurrency:
        return SLOTS_PER_ROUND * budget.max_examples
    return GROUPS_PER_EXAMPLE * budget.max_examples + SHRINK_GROUPS


def _fresh_groups(config: RunSettings, concurrency: int | None) -> int:
    if not config.feed:
        raise UsageError(
            "--feed is required: explore books fresh slots of your availability feed for every "
            "history (Google's JSON layout; a file or a directory holding availability.json)"
        )
    clock = getattr(config, "clock", None) or time.time
    pool = SlotPool(
        config.feed,
        seed=config.seed,
        now=clock(),
        min_lead_sec=config.min_lead_sec,
        merchant=config.merchant,
        service=config.service,
        async_slots=not concurrency,
    )
    return pool.fresh_groups


def examples_the_feed_allows(config: RunSettings, concurrency: int | None) -> int:
    """The most histories (rounds) the feed's fresh slots can serve: the example budget of a run bounded
    by ``--duration`` only (at least 1, so a feed too small is refused by :func:`check_feed` with the
    numbers)."""
    have = _fresh_groups(config, concurrency)
    if concurrency:
        return max(1, have // SLOTS_PER_ROUND)
    return max(1, (have - SHRINK_GROUPS) // GROUPS_PER_EXAMPLE)


def check_feed(config: RunSettings, budget: Budget, concurrency: int | None) -> None:
    """Refuse to start when the feed cannot give the budget fresh slots, saying how many it needs."""
    have, need = _fresh_groups(config, concurrency), groups_needed(budget, concurrency)
    if have < need:
        per, reserve = (SLOTS_PER_ROUND, 0) if concurrency else (GROUPS_PER_EXAMPLE, SHRINK_GROUPS)
        unit = "round" if concurrency else "history"
        shrinking = f" plus {reserve} for shrinking" if reserve else ""
        fits = max(1, (have - reserve) // per)
        raise UsageError(
            f"the feed has {have} fresh slot group(s) explore can book (future, open, at most 5 spots, after "
            f"--min-lead/--merchant/--service), but --max-examples {budget.max_examples} needs about {need} "
            f"({per} per {unit}{shrinking}); give a larger feed or --max-examples {fits}"
        )


def parse_reports(values: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        fmt, sep, path = value.partition(":")
        if not sep or not path or fmt not in FORMATS:
            raise UsageError(
                f"--report {value!r}: expected FORMAT:PATH with FORMAT one of {', '.join(FORMATS)} "
                "(repro:DIR writes the reproducers there)"
            )
        out.append((fmt, path))
    return out


def run_explore(
    config: RunSettings,
    budget: Budget,
    *,
    concurrency: int | None = None,
    reports: Sequence[tuple[str, str]] = (),
    stream: TextIO | None = None,
    default_repro_dir: str = "bookcheck-explore",
) -> ExploreResult:
    """Explore ``config``'s target within ``budget``; raises UsageError / TargetUnreachable (exit 2 / 3)."""
    check_feed(config, budget, concurrency)

    def progress_seq(o: ExploreOutcome) -> None:
        if stream is not None:
            print(
                f"  ... {o.examples} histories, {o.ops} operations, {len(o.found)} rule(s) broken",
                file=stream,
                flush=True,
            )

    def progress_conc(o: ConcurrentOutcome) -> None:
        if stream is not None and o.rounds % 5 == 0:
            print(f"  ... {o.rounds} rounds, {o.ops} operations", file=stream, flush=True)

    target = make_target(config.target)
    result = ExploreResult(ExitCode.OK)
    if concurrency:
        result.concurrent = ConcurrentExplorer(config, budget, target, concurrency, progress_conc).explore()
    else:
        result.sequential = Explorer(config, budget, target, progress_seq).explore()
    found = bool(result.sequential and result.sequential.found) or bool(
        result.concurrent and result.concurrent.violation
    )
    result.exit_code = ExitCode.DEVIATIONS if found else ExitCode.OK
    repro = next((p for f, p in reports if f == "repro"), default_repro_dir if found else None)
    if repro is not None:
        result.files = write_reproducers(result, Path(repro), seed=config.seed)
    for fmt, path in reports:
        if fmt == "html":
            _write(
                Path(path),
                html_report(
                    result.sequential,
                    result.concurrent,
                    result.files,
                    target=config.target.url,
                    seed=config.seed,
                ),
            )
        elif fmt == "json":
            doc = summary_json(result.sequential, result.concurrent, config.seed)
            _write(Path(path), json.dumps(doc, indent=1, default=str))
    result.lines = summary_lines(result.sequential, result.concurrent, result.files)
    for fmt, path in reports:
        if fmt != "repro":
            result.lines.append(f"wrote {fmt} report: {path}")
    return result


def write_reproducers(result: ExploreResult, where: Path, *, seed: int) -> dict[str, list[str]]:
    """Per broken rule: a scenario file for ``bookcheck run --scenario-file`` and a bash + curl script."""
    files: dict[str, list[str]] = {}
    seq = result.sequential
    if seq is not None:
        for rule, found in seq.found.items():
            stem = scenario_id(rule).split("/", 1)[1]
            yml, sh = where / f"{stem}.yaml", where / f"{stem}.sh"
            _write(yml, scenario_yaml(found.example, rule, seed=seed))
            _write(sh, script_text(found.example, rule, name=sh.name))
            os.chmod(sh, 0o755)
            files[rule] = [str(yml), str(sh)]
    conc = result.concurrent
    if conc is not None and conc.violation is not None:
        page = where / "concurrent-timeline.html"
        _write(page, html_report(None, conc, {}, target="(concurrent run)", seed=seed))
        files[conc.violation.rule] = [str(page)]
    return files


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
