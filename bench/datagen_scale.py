"""Scale benchmark of ``bookcheck generate`` (issue 6): availability rows per second and peak memory.

Each size runs the real CLI (``python -m bookcheck generate``) in its own child process; the child's own
peak RSS comes from ``os.wait4`` (its rusage alone, not the maximum over earlier children), so the sizes
can be compared: bounded memory means the figure does not grow with the number of merchants.

Goals: >= 100,000 availability rows/s and peak RSS < 300 MiB for 10,000 merchants x 30 days.

    .venv/bin/python bench/datagen_scale.py                  # 1,000 then 10,000 merchants
    .venv/bin/python bench/datagen_scale.py --merchants 10000 --locale de_DE,fr_FR,ja_JP
    .venv/bin/python bench/datagen_scale.py --validate       # also time validate-feed on the largest output
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = re.compile(r"([\d,]+) availability rows")
TIMEOUT_S = 3600


def run_child(cmd: list[str], log: Path) -> tuple[int, float, float, list[str]]:
    """Run ``cmd``, output to ``log``: (exit code, wall seconds, its own peak RSS in MiB, output lines)."""
    began = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = began + TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                proc.wait()
                raise SystemExit(f"{' '.join(cmd[2:5])} took longer than {TIMEOUT_S} s")
            time.sleep(0.05)
    wall = time.perf_counter() - began
    return (
        os.waitstatus_to_exitcode(status),
        wall,
        usage.ru_maxrss / 1024,
        log.read_text().strip().splitlines(),
    )


def run_size(merchants: int, days: int, locale: str, verticals: str, out: Path) -> dict[str, float]:
    """One generation in a fresh child: rows, wall seconds, rows/s, its peak RSS, output size."""
    cmd = [
        sys.executable,
        "-m",
        "bookcheck",
        "generate",
        "--seed",
        "42",
        "--merchants",
        str(merchants),
        "--days",
        str(days),
        "--start",
        "2030-01-07",
        "--locale",
        locale,
        "--verticals",
        verticals,
        "--out",
        str(out),
    ]
    code, wall, rss, lines = run_child(cmd, out.with_suffix(".log"))
    if code != 0 or not lines:
        raise SystemExit(f"generate failed ({code}): {' '.join(lines[-3:])}")
    match = ROWS.search(lines[-1])
    rows = int(match.group(1).replace(",", "")) if match else 0
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    return {"rows": rows, "wall": wall, "rate": rows / wall, "rss": rss, "mib": size}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--merchants", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--locale", default="en_US")
    parser.add_argument("--verticals", default="beauty,dining,fitness")
    parser.add_argument(
        "--validate", action="store_true", help="also time validate-feed on the largest output"
    )
    args = parser.parse_args()
    print(
        f"bookcheck generate scale benchmark: {args.days} days, locale {args.locale}, "
        f"verticals {args.verticals}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'merchants':>10} {'rows':>12} {'wall s':>8} {'rows/s':>10} {'peak RSS MiB':>13} {'output MiB':>11}"
    )
    with tempfile.TemporaryDirectory(prefix="bookcheck-bench-") as tmp:
        last = Path(tmp)
        for n in sorted(args.merchants):
            out = Path(tmp) / f"m{n}"
            r = run_size(n, args.days, args.locale, args.verticals, out)
            print(
                f"{n:>10,} {int(r['rows']):>12,} {r['wall']:>8.1f} {r['rate']:>10,.0f} {r['rss']:>13.0f} "
                f"{r['mib']:>11,.0f}",
                flush=True,
            )
            last = out
        print("rows/s = availability rows / wall time of the whole command (start-up included)")
        if args.validate:
            cmd = [sys.executable, "-m", "bookcheck", "validate-feed", str(last)]
            code, wall, rss, lines = run_child(cmd, last.with_suffix(".validate.log"))
            verdict = lines[-1].split(" in ")[0] if lines else ""
            print(
                f"validate-feed {last.name}: exit {code} in {wall:.1f} s, peak RSS {rss:.0f} MiB: {verdict}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
