"""Benchmarks of ``bookcheck load`` (issue 14). Prints figures; asserts nothing (docs/performance.md).

1. Overhead: requests per second driven by ``bookcheck load --workers 2`` (the Google mix, back to back)
   against a bare Locust ``FastHttpUser`` locustfile with 2 workers (one BatchAvailabilityLookup of 10 slot
   times, back to back: what a user would pick instead), same users, same target, same run.
2. Scaling: ``--workers 2`` against ``--workers 1``.
3. The reference server (one process) under ``load --rps R``: the offered rate at which
   BatchAvailabilityLookup's p95 crosses Google's 1.5 s budget (or the highest rate this machine drives).

For 1 and 2 the target is a *fast endpoint*: a bare aiohttp app that answers every request with a constant
``{}`` at once, so that the load generators, not the server, are what is measured (with the reference
server as target, a closed-model run measures the server's latency instead). For 3 it is ``bookcheck
serve`` on a generated feed. With ``taskset`` available the target is pinned to CPU 0 and the load
processes to the others (on a 2-core machine: CPU 1 only).

    .venv/bin/python bench/load_throughput.py [--duration 10] [--users 20] [--rates 200,400,800,1600]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchserve import start_serve

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
USER, PASSWORD = "bench", "bench-secret"

BARE = """
import base64, json
from locust import FastHttpUser, constant, task

BODY = open({body!r}).read()
AUTH = "Basic " + base64.b64encode(b"{user}:{password}").decode()


class Bare(FastHttpUser):
    wait_time = constant(0)

    @task
    def lookup(self):
        self.client.post("/v3/BatchAvailabilityLookup", data=BODY, name="BatchAvailabilityLookup",
                         headers={{"Content-Type": "application/json", "Authorization": AUTH}})
"""


def cpus() -> tuple[list[str], list[str]]:
    """taskset prefixes for the server and for the load generator."""
    n = os.cpu_count() or 1
    if not shutil.which("taskset") or n < 2:
        return [], []
    return ["taskset", "-c", "0"], ["taskset", "-c", f"1-{n - 1}"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def start_server(feed: Path, pin: list[str], *extra: str) -> tuple[subprocess.Popen[str], str]:
    served = start_serve("--feed", str(feed), "--user", USER, "--password", PASSWORD, *extra, prefix=pin)
    return served.proc, served.rest_url


FAST = """
from aiohttp import web

BODY = b"{}"


async def answer(request):
    await request.read()
    return web.Response(body=BODY, content_type="application/json")


app = web.Application()
app.router.add_route("*", "/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), print=None, access_log=None)
"""


def start_fast(tmp: Path, pin: list[str]) -> tuple[subprocess.Popen[str], str]:
    script = tmp / "fast_endpoint.py"
    script.write_text(FAST)
    port = 5601
    proc = subprocess.Popen(
        [*pin, PY, str(script), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    import socket

    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


def bookcheck_load(url: str, feed: Path, tmp: Path, pin: list[str], *args: str) -> dict[str, Any]:
    out = tmp / "load.json"
    out.unlink(missing_ok=True)  # never read a previous run's report
    cmd = [
        *pin,
        PY,
        "-m",
        "bookcheck",
        "load",
        "--target",
        url,
        "--feed",
        str(feed),
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--report",
        f"json:{out}",
        "-q",
        *args,
    ]
    subprocess.run(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, check=False)
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def load_rps(report: dict[str, Any]) -> float:
    total = float(sum(r["requests"] for r in report["methods"]))
    return total / max(float(report["duration_sec"]), 1e-9)


def bare_locust(
    url: str, body: dict[str, Any], tmp: Path, pin: list[str], users: int, duration: float
) -> float:
    body_file = tmp / "body.json"
    body_file.write_text(json.dumps(body))
    lf = tmp / "bare_locustfile.py"
    lf.write_text(BARE.format(body=str(body_file), user=USER, password=PASSWORD))
    port = "5599"
    master = subprocess.Popen(
        [
            *pin,
            PY,
            "-m",
            "locust",
            "-f",
            str(lf),
            "--headless",
            "--master",
            "--master-bind-port",
            port,
            "--expect-workers",
            "2",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{int(duration)}s",
            "-H",
            url,
            "--json-file",
            str(tmp / "bare"),
            "--skip-log",
        ],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [*pin, PY, "-m", "locust", "-f", str(lf), "--worker", "--master-port", port, "--skip-log"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    master.wait(timeout=duration + 120)
    for w in workers:
        w.wait(timeout=30)
    path = tmp / "bare.json" if (tmp / "bare.json").exists() else tmp / "bare"
    stats = json.loads(path.read_text())
    total = sum(s["num_requests"] for s in stats)
    return float(total) / duration


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--sections", default="1,2,3", help="which benchmarks to run (default all)")
    p.add_argument("--rate-users", default="50", help="users of the --rps runs of 3 (default 50)")
    p.add_argument(
        "--max-connections", default="256", help="the server's --max-connections in 3 (default 256)"
    )
    p.add_argument("--rates", default="200,300,400,500,600,700,800,1000")
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from booking_protocol.feed import load_availability_feed
    from harness.templates import slot_time_json
    from mock_server.datagen import generate_availability_feed

    server_pin, load_pin = cpus()
    dur, users = str(args.duration), str(args.users)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as t:
        tmp = Path(t)
        feed = tmp / "availability.json"
        doc = generate_availability_feed(seed=3, merchants=40, days=14, start=datetime.date(2031, 1, 6))
        feed.write_text(json.dumps(doc))
        slots = load_availability_feed(feed)
        first = [s for s in slots if s.merchant_id == slots[0].merchant_id][:10]
        bal_body = {"merchant_id": slots[0].merchant_id, "slot_time": [slot_time_json(s) for s in first]}
        print(f"feed: {len(slots)} slots; server pinned {server_pin or 'no'}; load pinned {load_pin or 'no'}")

        sections = set(args.sections.split(","))
        print("\n== 1. bookcheck load --workers 2 vs bare Locust FastHttpUser, 2 workers (fast endpoint)")
        for rnd in range(3 if "1" in sections else 0):
            server, url = start_fast(tmp, server_pin)
            try:
                bare = bare_locust(url, bal_body, tmp, load_pin, args.users, args.duration)
                ours = load_rps(
                    bookcheck_load(
                        url,
                        feed,
                        tmp,
                        load_pin,
                        "--workers",
                        "2",
                        "--users",
                        users,
                        "--spawn-rate",
                        users,
                        "--duration",
                        dur,
                    )
                )
            finally:
                server.terminate()
                server.wait()
            print(
                f"round {rnd + 1}: bare Locust {bare:8.1f} req/s   bookcheck load {ours:8.1f} req/s   "
                f"ratio {ours / bare:.2f} (goal >= 0.8)"
            )

        print("\n== 2. scaling: --workers 1 vs --workers 2 (fast endpoint)")
        for pin_name, pin in (
            (("load pinned to CPU 1..", load_pin), ("unpinned", [])) if "2" in sections else ()
        ):
            server, url = start_fast(tmp, server_pin if pin else [])
            try:
                one = load_rps(
                    bookcheck_load(
                        url,
                        feed,
                        tmp,
                        pin,
                        "--workers",
                        "1",
                        "--users",
                        users,
                        "--spawn-rate",
                        users,
                        "--duration",
                        dur,
                    )
                )
                two = load_rps(
                    bookcheck_load(
                        url,
                        feed,
                        tmp,
                        pin,
                        "--workers",
                        "2",
                        "--users",
                        users,
                        "--spawn-rate",
                        users,
                        "--duration",
                        dur,
                    )
                )
            finally:
                server.terminate()
                server.wait()
            print(
                f"{pin_name:24} 1 worker {one:8.1f} req/s   2 workers {two:8.1f} req/s   "
                f"scaling {two / one:.2f} (goal >= 1.6)"
            )

        print("\n== 3. reference server (1 process) under load --rps R: BatchAvailabilityLookup p95")
        for rate in args.rates.split(",") if "3" in sections else ():
            server, url = start_server(feed, server_pin, "--max-connections", args.max_connections)
            try:
                t0 = time.time()
                rep = bookcheck_load(
                    url,
                    feed,
                    tmp,
                    load_pin,
                    "--workers",
                    "2",
                    "--users",
                    args.rate_users,
                    "--spawn-rate",
                    args.rate_users,
                    "--duration",
                    dur,
                    "--rps",
                    rate,
                )
            finally:
                server.terminate()
                server.wait()
            bal = next((r for r in rep["methods"] if r["method"] == "BatchAvailabilityLookup"), None)
            p95 = bal["p95"] if bal else float("nan")
            missed = rep["notes"].get("missed_arrivals", 0)
            print(
                f"offered {rate:>6} req/s   driven {load_rps(rep):8.1f} req/s   BAL p95 {p95:7.0f} ms   "
                f"missed arrivals {missed}   {rep['verdict']}   ({time.time() - t0:.0f} s)"
            )
            for reason in rep["reasons"][:2]:
                print(f"      {reason[:150]}")
            if p95 > 1500:
                print(f"BAL p95 crossed 1.5 s at an offered {rate} req/s")
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
