"""What the harness adds per request (goal: < 1 ms), and the request rate it can drive (goal: >= 1000/s).

    .venv/bin/python bench/harness_overhead.py [--requests 4000] [--concurrency 16]

A fast target (a canned CreateBookingResponse served by a tiny aiohttp app in a separate process, so it does
not share the harness's event loop) is driven twice with the same concurrency:

  raw      aiohttp ClientSession.post + read, nothing else: the floor;
  harness  what every scenario call does: RestTarget.call (JSON encoding, redaction, Exchange records,
           normalisation) + ScenarioRun bookkeeping + the automatic checks (JSON Schema validation, latency
           budget, business-failure shape, credentials) + booking-created (echo, status) for each reply.

Overhead per request = (harness CPU time - raw CPU time) / requests, measured as process CPU time of the
harness process, so it does not depend on the target's speed; wall-clock rates are printed as well.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from booking_protocol.feed import FeedSlot  # noqa: E402
from harness.config import RunConfig  # noqa: E402
from harness.ids import Ids  # noqa: E402
from harness.inventory import Inventory  # noqa: E402
from harness.ledger import CreatedRegistry  # noqa: E402
from harness.profile import TargetProfile  # noqa: E402
from harness.scenario import Scenario  # noqa: E402
from harness.scenario_run import ScenarioRun  # noqa: E402
from harness.targets import Credentials, RestTarget, TargetOptions  # noqa: E402
from harness.templates import slot_json  # noqa: E402

SLOT = FeedSlot(
    "m1",
    "s1",
    1_900_000_000,
    3600,
    100000,
    100000,
    party_size=2,
    confirmation_mode="CONFIRMATION_MODE_SYNCHRONOUS",
)
USER = {
    "user_id": "1234567890123456789",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "telephone": "+1 415-555-0100",
    "email": "ada@example.com",
}
RESPONSE = {
    "booking": {
        "booking_id": "b-1",
        "slot": slot_json(SLOT),
        "user_information": Ids(0, "bench", "b").user("u"),
        "status": "CONFIRMED",
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
    }
}

SERVER = textwrap.dedent(f"""
    import sys
    from aiohttp import web
    BODY = {orjson.dumps(RESPONSE)!r}
    async def handle(request):
        await request.read()
        return web.Response(body=BODY, content_type="application/json")
    app = web.Application()
    app.router.add_post("/v3/{{op}}", handle)
    async def main():
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        import asyncio
        await asyncio.Event().wait()
    import asyncio
    asyncio.run(main())
""")


async def raw_loop(url: str, n: int, concurrency: int) -> None:
    body = orjson.dumps({"slot": slot_json(SLOT), "user_information": USER, "idempotency_token": "t"})
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with (
                sem,
                session.post(
                    url + "/v3/CreateBooking",
                    data=body,
                    headers={"Content-Type": "application/json", "Authorization": "Basic eDp5"},
                ) as resp,
            ):
                orjson.loads(await resp.read())

        await asyncio.gather(*(one() for _ in range(n)))


async def harness_loop(url: str, n: int, concurrency: int) -> None:
    opts = TargetOptions(url=url, credentials=Credentials("x", "y"))
    target = RestTarget(opts)
    config = RunConfig(target=opts, profile=TargetProfile())
    ids = Ids(0, "bench", "b")
    run = ScenarioRun(
        Scenario(id="bench/overhead", title="bench"),
        target,
        {"a": SLOT},
        ids,
        CreatedRegistry(),
        Inventory([], seed=0, now=0),
        config,
    )
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            step = f"s{i}"
            await run.call(
                step,
                "CreateBooking",
                {"slot": slot_json(SLOT), "user_information": run.user("u"), "idempotency_token": f"t{i}"},
            )
            run.expect(step, "booking-created", slot="a", user="u")

    await asyncio.gather(*(one(i) for i in range(n)))
    run.flush_auto()
    await target.close()
    bad = [c for c in run.results if c.status.value != "PASS"]
    assert not bad, bad[:2]


def measure(fn: object, url: str, n: int, c: int) -> tuple[float, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    asyncio.run(fn(url, n, c))  # type: ignore[operator]
    return time.process_time() - cpu0, time.perf_counter() - wall0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        measure(raw_loop, url, 200, args.concurrency)  # warm up both paths
        measure(harness_loop, url, 200, args.concurrency)
        n, c = args.requests, args.concurrency
        raw_cpu, raw_wall = measure(raw_loop, url, n, c)
        h_cpu, h_wall = measure(harness_loop, url, n, c)
        print(f"fast target {url}, {n} CreateBooking requests, concurrency {c}")
        for label, wall, cpu in (("raw aiohttp", raw_wall, raw_cpu), ("harness", h_wall, h_cpu)):
            rate, per_request_us = n / wall, cpu * 1e6 / n
            print(
                f"  {label:11} : {wall:6.2f} s wall ({rate:7.0f} req/s), {per_request_us:6.0f} us CPU/request"
            )
        print(
            f"  harness overhead: {(h_cpu - raw_cpu) * 1e3 / n:.3f} ms CPU per request (goal < 1 ms); "
            f"harness drives {n / h_wall:.0f} req/s here (goal >= 1000)"
        )
        print(
            f"  CPU-bound capacity of the harness process: {n / h_cpu:.0f} req/s per core "
            "(what it drives when the machine is not busy with other work)"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
