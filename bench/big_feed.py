"""``bookcheck run`` with a big feed: time to the first line of output, peak RSS, and how soon an unreachable
target is reported (issue 10, item 9). Figures are printed, never asserted.

Usage::

    python bench/big_feed.py [--feed DIR] [--merchants 1000] [--days 30] [--repo PATH]

Without ``--feed`` it generates the feed once into a temporary directory (``bookcheck generate availability
--merchants 1000 --days 30``: ~870,000 slots, ~190 MB). It then starts ``bookcheck serve --feed`` (a separate
process, not measured), and measures a child ``bookcheck run`` against it (``health/ok`` and
``create-booking/echo``: the feed's cost, not the suite's) and a child ``bookcheck run`` against a closed
port. The child's peak RSS comes from ``os.wait4`` (``ru_maxrss``); "first line" is the first line the child
writes on stdout or stderr. ``--repo`` runs another checkout (e.g. a copy of the code before the change).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchserve import start_serve

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCENARIOS = ["--scenario", "health/ok", "--scenario", "create-booking/echo"]
#: a start date far ahead, so every slot of the feed lies in the future whatever the date
FEED_START = "2030-01-07"


def generate(feed_dir: Path, merchants: int, days: int) -> None:
    """The feed, in Google's layout, made by ``bookcheck generate`` (same bytes for the same options)."""
    cmd = [PYTHON, "-m", "bookcheck", "generate", "availability", "--merchants", str(merchants)]
    cmd += ["--days", str(days), "--start", FEED_START, "--out", str(feed_dir / "availability.json")]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=1800)


def start_server(feed_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """``bookcheck serve --feed`` on a free port: the process and its base URL (from the ready line)."""
    served = start_serve("--feed", str(feed_dir))
    return served.proc, served.rest_url


def measure_run(repo: Path, args: list[str]) -> dict[str, float | int | str]:
    """One child ``bookcheck run``: seconds to its first output line, total seconds, peak RSS, exit code."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [PYTHON, "-m", "bookcheck", "run", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    first = None
    lines: list[str] = []
    for line in proc.stdout:
        if first is None:
            first = time.monotonic() - t0
        lines.append(line.rstrip())
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "first_line_s": round(first if first is not None else float("nan"), 2),
        "total_s": round(time.monotonic() - t0, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "exit": proc.returncode,
        "first_line": lines[0] if lines else "",
        "lines": len(lines),
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--feed", type=Path, help="a feed directory (default: generate one)")
    ap.add_argument("--merchants", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose 'bookcheck run' is measured")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-big-feed-") as tmp:
        feed_dir = opts.feed or Path(tmp)
        if opts.feed is None:
            generate(feed_dir, opts.merchants, opts.days)
        size = (feed_dir / "availability.json").stat().st_size
        print(f"feed: {feed_dir}/availability.json, {size / 1e6:.0f} MB")
        server, url = start_server(feed_dir)
        try:
            ok = measure_run(opts.repo, ["--target", url, "--feed", str(feed_dir), *SCENARIOS])
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"run against the reference server: {ok}")
        down = measure_run(
            opts.repo, ["--target", f"http://127.0.0.1:{closed_port()}", "--feed", str(feed_dir), *SCENARIOS]
        )
        print(f"run against a closed port:        {down}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
