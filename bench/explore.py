"""bookcheck explore: exploration rate, time to shrink, and the history checker's speed.

    .venv/bin/python bench/explore.py [--seconds 20] [--ops 2000] [--slots 10]

Three figures (goals of issue 13):

  ops/s     judged operations per second of sequential exploration against the local reference server
            (``bookcheck serve`` in its own process, so it does not share the explorer's interpreter);
            cleanup calls are not counted. Goal: >= 500/s on the 2-core CI machine.
  shrink    seconds from the first failing history to the end of shrinking, against the same server with
            ``--fault cancel-no-release`` (a 3-step bug), and the length reached. Goal: < 60 s.
  checker   seconds for the linearizability check of a 2,000-operation history of 8 clients on 10 slots
            (generated from a serial run of the sequential model, so it is linearizable and every operation
            must be placed). Goal: < 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))  # correct_history, shared with the checker's tests

from benchserve import start_serve  # noqa: E402
from histories import correct_history  # noqa: E402

from booking_protocol.feed import load_availability_feed  # noqa: E402
from harness.config import RunConfig  # noqa: E402
from harness.explore.driver import Budget, Explorer  # noqa: E402
from harness.explore.linearize import check  # noqa: E402
from harness.explore.scenario_writer import replayed_steps  # noqa: E402
from harness.profile import TargetProfile  # noqa: E402
from harness.targets import Credentials, TargetOptions, make_target  # noqa: E402

USER, PASSWORD = "bench", "bench-explore"
PROFILE = TargetProfile(availability="both", leases=True, party_size_change=True)


def start_server(feed: Path, *faults: str) -> tuple[subprocess.Popen[str], str]:
    flags = ["--feed", str(feed), "--user", USER, "--password", PASSWORD]
    for f in faults:
        flags += ["--fault", f]
    served = start_serve(*flags)
    return served.proc, served.rest_url


def config(url: str, feed: Path, seed: int) -> RunConfig:
    return RunConfig(
        target=TargetOptions(url=url, credentials=Credentials(USER, PASSWORD)),
        feed=load_availability_feed(feed),
        profile=PROFILE,
        seed=seed,
    )


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_rate(feed: Path, seconds: float, max_steps: int = 20) -> None:
    """Wall-clock rate, and the rate the CPU time allows: explore is lock-step (each answer is judged before
    the next request), so on an otherwise idle machine one history costs explorer CPU + server CPU per
    operation; the CPU-bound figure is what a loaded shared machine cannot show in wall-clock time."""
    proc, url = start_server(feed)
    try:
        cfg = config(url, feed, seed=7)
        explorer = Explorer(
            cfg, Budget(max_examples=100_000, max_steps=20, duration_sec=seconds), make_target(cfg.target)
        )
        cpu0, server0 = time.process_time(), _cpu_of(proc.pid)
        out = explorer.explore()
        cpu, server = time.process_time() - cpu0, _cpu_of(proc.pid) - server0
    finally:
        proc.terminate()
        proc.wait(10)
    assert not out.found, sorted(out.found)
    print(
        f"ops/s    {out.ops / out.elapsed_sec:8.0f}  wall clock ({out.ops} judged operations, {out.examples} "
        f"histories in {out.elapsed_sec:.1f} s; goal >= 500/s)"
    )
    busy = out.elapsed_sec - explorer.waited_sec
    print(
        f"ops/s    {out.ops / busy:8.0f}  wall clock outside the waits for lease expiry "
        f"({explorer.waited_sec:.1f} s of real waiting, in which nothing is sent)"
    )
    per_op = (cpu + server) / out.ops
    print(
        f"ops/s    {1 / per_op:8.0f}  CPU-bound: explorer {cpu / out.ops * 1000:.2f} ms + server "
        f"{server / out.ops * 1000:.2f} ms CPU per judged operation (cleanup included)"
    )


def bench_shrink(feed: Path) -> None:
    proc, url = start_server(feed, "cancel-no-release")
    try:
        cfg = config(url, feed, seed=1)
        out = Explorer(
            cfg,
            Budget(max_examples=2000, max_steps=20, duration_sec=120, shrink_sec=120),
            make_target(cfg.target),
        ).explore()
    finally:
        proc.terminate()
        proc.wait(10)
    assert out.primary is not None, "the fault was not found"
    found = out.found[out.primary]
    steps = len(replayed_steps(found.example))
    print(
        f"shrink   {out.shrink_sec:8.1f} s ({out.primary}: found after {found.first_seen_sec:.1f} s, "
        f"shrunk to {steps} steps over {found.executions} failing executions; goal < 60 s)"
    )


def bench_checker(ops: int, slots: int) -> None:
    history = correct_history(ops, slots, seed=5, tokens=40)
    t = time.perf_counter()
    verdicts = check(history, {s: 3 for s in range(slots)}, budget_sec=120)
    took = time.perf_counter() - t
    assert all(v.ok for v in verdicts)
    print(f"checker  {took:8.2f} s ({ops} operations, {slots} slots, 8 clients; goal < 10 s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="exploration time for ops/s (default 20)")
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--slots", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "availability.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bookcheck",
                "generate",
                "availability",
                "--seed",
                "3",
                "--merchants",
                "6",
                "--days",
                "30",
                "--out",
                str(feed),
                "--quiet",
            ],
            check=True,
        )
        json.loads(feed.read_text())  # a readable feed
        bench_checker(args.ops, args.slots)
        bench_rate(feed, args.seconds)
        bench_shrink(feed)


if __name__ == "__main__":
    main()
