"""The fault matrix of issue 13, exactly as its Done-when says: for every ``--fault`` profile that explore's
operations can reach (``tests/explore/fault_matrix.py``), ``bookcheck serve --fault F`` in its own process and
``bookcheck explore --seed 1 --duration 60`` through the real CLI against it. Prints, per profile, found or
missed, the rule named (and whether the fault registry lists it for that profile) and the length of the
shrunk history, then the totals.

    .venv/bin/python bench/explore_matrix.py [--duration 60] [--shrink-time 50] [--jobs 2] [--only F ...]

``--jobs`` runs that many profiles at once (each pair of processes is sequential in itself, so 2 jobs keep
a 2-core machine busy); a profile counts as found when explore exits 1 naming one of the registry's rules
for it (or one of the row's ``also`` rules). The run takes up to (duration + shrink time) per profile.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "explore"))

from benchserve import start_serve  # noqa: E402
from fault_matrix import REACHABLE, Row  # noqa: E402

from mock_server.faults.registry import CASES  # noqa: E402

USER, PASSWORD = "bench", "bench-explore-matrix"
BREAKS = {c.fault: c.breaks for c in CASES}
PROFILE_FLAGS = ["--availability", "both", "--leases", "--party-size-change"]


@dataclass
class Outcome:
    fault: str
    exit_code: int
    primary: str | None
    expected: bool
    steps: int | None
    examples: int
    sec: float
    note: str = ""

    @property
    def found(self) -> bool:
        return self.exit_code == 1 and self.expected


def make_feed(path: Path) -> None:
    """6 merchants x 30 days: fresh slots for every history of a 60 s run and its shrinking."""
    subprocess.run(
        [sys.executable, "-m", "bookcheck", "generate", "availability", "--seed", "3", "--merchants", "6"]
        + ["--days", "30", "--out", str(path), "--quiet"],
        check=True,
        cwd=ROOT,
    )


def start_server(feed: Path, fault: str) -> tuple[subprocess.Popen[str], str]:
    served = start_serve("--feed", str(feed), "--user", USER, "--password", PASSWORD, "--fault", fault)
    return served.proc, served.rest_url


def run_row(row: Row, feed: Path, out_dir: Path, duration: float, shrink: float) -> Outcome:
    report = out_dir / f"{re.sub(r'[^A-Za-z0-9]+', '_', row.fault)}.json"
    t0 = time.monotonic()
    proc, url = start_server(feed, row.fault)
    try:
        cmd = [sys.executable, "-m", "bookcheck", "explore", "--target", url, "--feed", str(feed)]
        cmd += ["--user", USER, "--password", PASSWORD, "--seed", "1", "--duration", f"{duration:g}"]
        cmd += ["--shrink-time", f"{shrink:g}", "--report", f"json:{report}", "-q", *PROFILE_FLAGS]
        cmd += ["--report", f"repro:{out_dir / 'repro'}", "--fail-on", row.fail_on]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=duration + shrink + 120)
    finally:
        proc.terminate()
        proc.wait(10)
    sec = time.monotonic() - t0
    if not report.exists():
        note = (done.stderr.strip().splitlines() or ["no report"])[-1][:120]
        return Outcome(row.fault, done.returncode, None, False, None, 0, sec, note)
    seq = json.loads(report.read_text(encoding="utf-8")).get("sequential", {})
    primary = seq.get("primary")
    steps = len(seq["found"][primary]["steps"]) if primary else None
    expected = primary is not None and primary in BREAKS[row.fault] | row.also
    return Outcome(row.fault, done.returncode, primary, expected, steps, seq.get("examples", 0), sec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0, help="explore --duration per profile (60)")
    ap.add_argument("--shrink-time", type=float, default=50.0, help="explore --shrink-time (default 50)")
    ap.add_argument("--jobs", type=int, default=2, help="profiles run at once (default 2)")
    ap.add_argument("--only", nargs="*", default=[], metavar="FAULT", help="run only these fault values")
    args = ap.parse_args()
    rows = [r for r in REACHABLE if not args.only or r.fault in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "availability.json"
        make_feed(feed)
        outcomes: list[Outcome] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [
                pool.submit(run_row, r, feed, Path(tmp), args.duration, args.shrink_time) for r in rows
            ]
            for fut in concurrent.futures.as_completed(futures):
                o = fut.result()
                outcomes.append(o)
                mark = "found " if o.found else "MISSED"
                what = o.primary or o.note or "nothing"
                shrunk = f"{o.steps} step(s)" if o.steps is not None else "-"
                print(
                    f"{mark} {o.fault:40s} {what:45s} {shrunk:>10s} {o.examples:5d} histories {o.sec:6.1f} s",
                    flush=True,
                )
    found = [o for o in outcomes if o.found]
    steps = sorted(o.steps for o in found if o.steps is not None)
    print(f"\nfound {len(found)} of {len(outcomes)} reachable (--seed 1 --duration {args.duration:g})")
    if steps:
        over = sum(s > 8 for s in steps)
        print(f"shrunk lengths: max {steps[-1]}, median {steps[len(steps) // 2]}, over 8 steps: {over}")
    missed = sorted(o.fault for o in outcomes if not o.found)
    if missed:
        print("missed: " + ", ".join(missed))


if __name__ == "__main__":
    main()
