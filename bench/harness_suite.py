"""Wall time of the full default suite against the local reference server (goal: < 20 s), REST and gRPC.

    .venv/bin/python bench/harness_suite.py [--workers 4] [--repeat 3]

Starts the reference server in-process (mock_server.server.serve_in_thread, REST + gRPC when available) on a
generated feed, runs ``harness.runner.run`` with the demo's target profile (every capability claimed) and
prints the wall time of each run, the number of requests and the verdict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bookcheck.demo_command import DEMO_PROFILE  # noqa: E402
from booking_protocol.feed import load_availability_feed  # noqa: E402
from harness.config import RunConfig  # noqa: E402
from harness.runner import run  # noqa: E402
from harness.targets import Credentials, TargetOptions  # noqa: E402
from mock_server.datagen import generate_availability_feed  # noqa: E402
from mock_server.server import ServerConfig, serve_in_thread  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed_path = Path(tmp) / "availability.json"
        feed_path.write_text(json.dumps(generate_availability_feed(seed=0)))
        feed = load_availability_feed(feed_path)
        cfg = ServerConfig(port=0, feed=str(feed_path), user="bench", password="bench-pw", grpc_port=0)
        with serve_in_thread(cfg) as server:
            urls = [server.rest_url] + [u for u in getattr(server, "extra_urls", []) if u.startswith("grpc")]
            print(f"feed: {len(feed)} slots; server: {' and '.join(urls)}; workers: {args.workers}")
            for url in urls:
                walls = []
                for i in range(args.repeat):
                    config = RunConfig(
                        target=TargetOptions(url=url, credentials=Credentials("bench", "bench-pw")),
                        feed=feed,
                        profile=DEMO_PROFILE,
                        seed=i,
                        workers=args.workers,
                    )
                    t0 = time.perf_counter()
                    result = run(config)
                    wall = time.perf_counter() - t0
                    walls.append(wall)
                    calls = sum(m.calls for m in result.methods)
                    scheme = url.split(":")[0]
                    print(
                        f"  {scheme:5} run {i + 1}: {wall:6.2f} s wall, {len(result.scenarios)} scenarios, "
                        f"{calls} requests, {len(result.deviations())} deviations, "
                        f"exit {int(result.exit_code)}"
                    )
                median = statistics.median(walls)
                print(f"  {url.split(':')[0]:5} median wall time: {median:.2f} s (goal < 20 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
