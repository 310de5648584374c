"""REST throughput of the reference server against a bare aiohttp endpoint, both driven by ``wrk``.

Usage: ``python bench/rest_throughput.py [--duration 5] [--connections 32] [--threads 1]``

What it does, in one run:

1. writes a feed with 400,000 distinct one-spot slots (so every CreateBooking books a fresh slot);
2. starts a *bare* aiohttp server (one catch-all handler: ``orjson.loads`` the body, return it with
   ``orjson.dumps``) and ``bookcheck serve`` on that feed, each in its own process;
3. drives both with the same wrk Lua scripts: CreateBooking with a new slot and token per request, and
   BatchAvailabilityLookup with 10 slot times per request;
4. prints requests/s of each and the ratio server / bare (issue 2 goal: at least 50 %).

Figures are printed, never asserted. Needs ``wrk`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = (int(time.time()) // 3600 + 48) * 3600
SLOTS = 400_000

BARE = r"""
import sys, orjson
from aiohttp import web
async def handle(request):
    data = orjson.loads(await request.read())
    return web.Response(body=orjson.dumps(data), content_type="application/json")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", handle)
async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    import asyncio
    await asyncio.Event().wait()
import asyncio
asyncio.run(main())
"""

SERVE = (
    "import argparse, sys; from mock_server import cli; p = argparse.ArgumentParser(); "
    "s = p.add_subparsers(); cli.register(s); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
)

CREATE_LUA = """
local n = 0
local tid = 0
local nthreads = 1
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  nthreads = tonumber(args[1])
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  local i = n * nthreads + tid
  n = n + 1
  local start = %(base)d + (i %% %(slots)d) * 60
  local body = string.format('{"slot":{"merchant_id":"m1","service_id":"s1","start_sec":"%%d",' ..
    '"duration_sec":"60"},"user_information":{"user_id":"u%%d","given_name":"Ada",' ..
    '"family_name":"Lovelace","telephone":"+1 415-736-0000","email":"ada@example.com"},' ..
    '"idempotency_token":"tok-%%d-%%d"}',
    start, i %% 1000, tid, n)
  return wrk.format(nil, "/v3/CreateBooking", nil, body)
end
"""

BAL_LUA = """
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  n = n + 1
  local parts = {}
  for k = 0, 9 do
    parts[#parts + 1] = string.format('{"service_id":"s1","start_sec":"%%d","duration_sec":"60"}',
      %(base)d + ((n * 10 + k) %% %(slots)d) * 60)
  end
  local body = '{"merchant_id":"m1","slot_time":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format(nil, "/v3/BatchAvailabilityLookup", nil, body)
end
"""


def write_feed(path: Path) -> None:
    with path.open("w") as f:
        f.write('{"service_availability":[{"availability":[')
        for i in range(SLOTS):
            if i:
                f.write(",")
            f.write(
                f'{{"merchant_id":"m1","service_id":"s1","start_sec":{BASE + i * 60},"duration_sec":60,'
                f'"spots_total":1,"spots_open":1}}'
            )
        f.write("]}]}")


def pinned(cmd: list[str], cpu: str | None) -> list[str]:
    """Pin to one CPU with taskset (servers on one core, wrk on the other), so they do not trade places."""
    return ["taskset", "-c", cpu, *cmd] if cpu is not None and shutil.which("taskset") else cmd


def start(cmd: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, m.group(1)


def wrk(url: str, script: Path, args: argparse.Namespace) -> tuple[float, str]:
    cmd = pinned(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            str(args.threads),
        ],
        args.wrk_cpu,
    )
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = re.search(r"Latency Distribution.*?50%\s+(\S+).*?99%\s+(\S+)", out, re.S)
    note = f"p50 {lat.group(1)} p99 {lat.group(2)}" if lat else ""
    if errors:
        note += f", NON-2xx: {errors.group(1)}"
    return (float(m.group(1)) if m else 0.0), note


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--server-cpu", default="0", help="CPU for both servers (taskset); 'none' to not pin")
    ap.add_argument("--wrk-cpu", default="1", help="CPU for wrk (taskset); 'none' to not pin")
    ap.add_argument(
        "--rounds", type=int, default=3, help="interleaved wrk runs per endpoint; the best counts"
    )
    args = ap.parse_args()
    args.server_cpu = None if args.server_cpu == "none" else args.server_cpu
    args.wrk_cpu = None if args.wrk_cpu == "none" else args.wrk_cpu
    if not shutil.which("wrk"):
        print("wrk is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        feed = tmpdir / "feed.json"
        t0 = time.perf_counter()
        write_feed(feed)
        create_lua, bal_lua = tmpdir / "create.lua", tmpdir / "bal.lua"
        create_lua.write_text(CREATE_LUA % {"base": BASE, "slots": SLOTS})
        bal_lua.write_text(BAL_LUA % {"base": BASE, "slots": SLOTS})
        bare, bare_url = start(pinned([sys.executable, "-c", BARE], args.server_cpu))
        serve_cmd = [sys.executable, "-c", SERVE, "serve", "--port", "0", "--feed", str(feed)]
        server, server_url = start(pinned(serve_cmd, args.server_cpu))
        print(
            f"feed of {SLOTS} slots written and loaded in {time.perf_counter() - t0:.1f} s; "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; "
            f"servers on CPU {args.server_cpu}, wrk on CPU {args.wrk_cpu}"
        )
        try:
            rows = []
            for label, script in (
                ("CreateBooking (distinct slots)", create_lua),
                ("BatchAvailabilityLookup (10 slot times)", bal_lua),
            ):
                bare_runs, srv_runs = [], []
                for _ in range(args.rounds):  # interleaved, so background load hits both alike
                    bare_runs.append(wrk(bare_url, script, args))
                    srv_runs.append(wrk(server_url, script, args))
                rows.append((label, max(bare_runs), max(srv_runs), bare_runs, srv_runs))
            for label, (bare_rps, bare_note), (srv_rps, srv_note), bare_runs, srv_runs in rows:
                ratio = srv_rps / bare_rps if bare_rps else 0.0
                bare_all = ", ".join(f"{r:.0f}" for r, _ in bare_runs)
                srv_all = ", ".join(f"{r:.0f}" for r, _ in srv_runs)
                print(f"{label} (best of {args.rounds}; all runs: bare {bare_all}; server {srv_all}):")
                print(f"  bare aiohttp echo : {bare_rps:9.0f} req/s  ({bare_note})")
                print(f"  bookcheck serve   : {srv_rps:9.0f} req/s  ({srv_note})")
                print(f"  ratio             : {ratio:9.1%}  (goal >= 50 %)")
            # wrk calls request() once before the run, so the first booked slot is the second one
            check = json.dumps(
                {"merchant_id": "m1", "slot_time": [{"service_id": "s1", "start_sec": BASE + 60}]}
            )
            print(f"sanity: a slot booked during the run now reads {_post(server_url, check)}")
        finally:
            for proc in (bare, server):
                proc.terminate()
                proc.wait(timeout=15)
    return 0


def _post(url: str, body: str) -> str:
    import urllib.request

    req = urllib.request.Request(url + "/v3/BatchAvailabilityLookup", data=body.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(resp.read().decode())


if __name__ == "__main__":
    sys.exit(main())
