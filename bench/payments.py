"""CreateBooking with payment against CreateBooking without, on the reference server over REST (issue 15).

Goal (issue 15, "Performance"): CreateBooking with payment keeps at least 1/1.5 of the requests per second
of CreateBooking without payment.

What it does:

1. writes a feed directory with two services of one merchant, each with ``--slots`` slots of ``--capacity``
   spots: ``paid`` (prepaid 20.00 USD + 10 % tax, in ``services.json``) and ``free`` (no payment terms);
2. starts ``bookcheck serve --feed DIR --port 0 --grpc-port 0`` in its own process (pinned to one CPU with
   ``taskset`` when available; the load generator takes the other);
3. drives it, over REST (aiohttp, keep-alive) and then gRPC (grpc.aio, one channel), with ``--concurrency``
   requests in flight, in interleaved rounds of ``--seconds`` each: *paid* requests carry
   ``payment_information`` (price, tax, PROCESSED_BY_PARTNER) and a fresh simulated-processor token
   (``bookcheck:VISA:4242:<n>``), so each one parses the token, checks the price, charges and writes a
   ledger entry; *unpaid* requests are the same bodies for the free service without either. Every request
   has its own user and idempotency token;
4. prints requests/s per round, the best of each kind, the ratio paid / unpaid, the server's CPU time per
   request of each kind (from ``/proc``: the ratio a faster load generator would approach, as this Python
   client costs about as much CPU as the server), and the number of answers that were not a booking (0).

Figures are printed, never asserted. Run::

    .venv/bin/python bench/payments.py [--transport both] [--rounds 3] [--seconds 3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from benchserve import start_serve

ROOT = Path(__file__).resolve().parent.parent
MERCHANT = "bench-gym"
HOUR = 3600
SERVE = (
    "import argparse, sys; from mock_server import cli; p = argparse.ArgumentParser(); "
    "s = p.add_subparsers(); cli.register(s); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
)
USER_JSON = (
    '{"user_id":"u%d","given_name":"Ada","family_name":"Lovelace","telephone":"+1 415-736-0000",'
    '"email":"ada@example.com"}'
)
PAYMENT_JSON = (
    '"payment_information":{"prepayment_status":"PREPAYMENT_PROVIDED","payment_processed_by":'
    '"PROCESSED_BY_PARTNER","price":{"price_micros":"20000000","currency_code":"USD"},'
    '"tax_amount":{"price_micros":"2000000","currency_code":"USD"}},'
    '"payment_processing_parameters":{"unparsed_payment_method_token":"bookcheck:VISA:4242:%s"},'
)


def write_feed(directory: Path, base: int, slots: int, capacity: int) -> None:
    """availability.json and services.json (the prepaid service's terms) in Google's layouts."""
    records = [
        {
            "merchant_id": MERCHANT,
            "service_id": service,
            "start_sec": base + i * HOUR,
            "duration_sec": HOUR,
            "spots_total": capacity,
            "spots_open": capacity,
        }
        for service in ("paid", "free")
        for i in range(slots)
    ]
    (directory / "availability.json").write_text(
        json.dumps({"service_availability": [{"availability": records}]})
    )
    services = [
        {
            "merchant_id": MERCHANT,
            "service_id": "paid",
            "localized_service_name": {"value": "Prepaid class"},
            "price": {"price_micros": 20_000_000, "currency_code": "USD"},
            "tax_rate": {"micro_percent": 10_000_000},
            "prepayment_type": "REQUIRED",
        },
        {"merchant_id": MERCHANT, "service_id": "free", "localized_service_name": {"value": "Free class"}},
    ]
    (directory / "services.json").write_text(json.dumps({"service": services}))


def body_maker(kind: str, base: int, slots: int) -> Callable[[int], bytes]:
    """Request ``n`` of a kind: its own user, token and idempotency token, slots round-robin."""
    service = "paid" if kind == "paid" else "free"

    def make(n: int) -> bytes:
        start = base + (n % slots) * HOUR
        payment = PAYMENT_JSON % f"{kind}-{n}" if kind == "paid" else ""
        return (
            f'{{"slot":{{"merchant_id":"{MERCHANT}","service_id":"{service}","start_sec":"{start}",'
            f'"duration_sec":"{HOUR}"}},"user_information":{USER_JSON % n},{payment}'
            f'"idempotency_token":"{kind}-{n}"}}'
        ).encode()

    return make


def grpc_body_maker(kind: str, base: int, slots: int) -> Callable[[int], bytes]:
    """The same requests as :func:`body_maker`, as serialized CreateBookingRequest messages."""
    from booking_protocol import booking_pb2 as pb

    service = "paid" if kind == "paid" else "free"

    def make(n: int) -> bytes:
        request = pb.CreateBookingRequest(
            slot=pb.Slot(
                merchant_id=MERCHANT,
                service_id=service,
                start_sec=base + (n % slots) * HOUR,
                duration_sec=HOUR,
            ),
            user_information=pb.UserInformation(**json.loads(USER_JSON % n)),
            idempotency_token=f"{kind}-{n}",
        )
        if kind == "paid":
            info = request.payment_information
            info.prepayment_status = pb.PREPAYMENT_PROVIDED
            info.payment_processed_by = pb.PaymentInformation.PROCESSED_BY_PARTNER
            info.price.price_micros, info.price.currency_code = 20_000_000, "USD"
            info.tax_amount.price_micros, info.tax_amount.currency_code = 2_000_000, "USD"
            token = f"bookcheck:VISA:4242:{kind}-{n}"
            request.payment_processing_parameters.unparsed_payment_method_token = token
        return request.SerializeToString()

    return make


class Counter:
    """Request numbers shared by the workers of all rounds of one kind (every request books a new spot)."""

    def __init__(self, count: int, start: int = 0) -> None:
        self.next, self.limit = start, start + count

    def take(self) -> int | None:
        if self.next >= self.limit:
            return None
        self.next += 1
        return self.next - 1


Send = Callable[[bytes], Awaitable[bool]]  # one request body -> "was it a booking?"


@contextlib.asynccontextmanager
async def rest_sender(url: str, concurrency: int) -> AsyncIterator[Send]:
    """POST JSON bodies to ``url`` over keep-alive connections."""
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def send(body: bytes) -> bool:
            async with session.post(url, data=body, headers=headers) as response:
                payload = await response.read()
            return response.status == 200 and b'"booking_id"' in payload

        yield send


@contextlib.asynccontextmanager
async def grpc_sender(target: str) -> AsyncIterator[Send]:
    """Call BookingService/CreateBooking with serialized bodies over one HTTP/2 channel."""
    import grpc

    from booking_protocol import booking_pb2 as pb

    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(
            "/ext.maps.booking.partner.v3.BookingService/CreateBooking",
            request_serializer=None,
            response_deserializer=pb.CreateBookingResponse.FromString,
        )

        async def send(body: bytes) -> bool:
            try:
                response = await call(body, timeout=30)
            except grpc.RpcError:
                return False
            return bool(response.HasField("booking"))

        yield send


async def one_round(
    send: Send, make: Callable[[int], bytes], numbers: Counter, seconds: float, concurrency: int
) -> tuple[float, int, int]:
    """(requests/s, requests, answers that were not a booking) of one round."""
    done = failed = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            n = numbers.take()
            if n is None:
                return
            ok = await send(make(n))
            done += 1
            failed += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0), done, failed


def start_server(feed: Path, cpu: str | None) -> tuple[subprocess.Popen[str], str, str]:
    """``bookcheck serve`` with REST and gRPC on free ports: (process, REST URL, gRPC host:port)."""
    prefix = ["taskset", "-c", cpu] if cpu is not None and shutil.which("taskset") else []
    served = start_serve("--grpc-port", "0", "--feed", str(feed), prefix=prefix, entry=("-c", SERVE))
    assert served.grpc_address is not None
    return served.proc, served.rest_url, served.grpc_address


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin_self(cpu: str | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(cpu)})


Round = tuple[float, int, int, float]  # requests/s, requests, not booked, server CPU µs per request
KINDS = ("unpaid", "paid")


def sender(transport: str, rest_url: str, grpc_target: str, concurrency: int) -> Any:
    if transport == "rest":
        return rest_sender(rest_url + "/v3/CreateBooking", concurrency)
    return grpc_sender(grpc_target)


async def run(
    transport: str, urls: tuple[str, str], args: argparse.Namespace, base: int, server_pid: int
) -> dict[str, list[Round]]:
    """Interleaved rounds of both kinds over one transport; each kind books its own requests' spots."""
    maker = body_maker if transport == "rest" else grpc_body_maker
    makers = {kind: maker(kind, base, args.slots) for kind in KINDS}
    results: dict[str, list[Round]] = {kind: [] for kind in KINDS}
    async with sender(transport, *urls, args.concurrency) as send:
        warm_up = COUNTERS[transport, "unpaid"].take()
        assert warm_up is not None and await send(makers["unpaid"](warm_up)), "the server does not book"
        for r in range(args.rounds):
            for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
                cpu0 = cpu_seconds(server_pid)
                rate, n, failed = await one_round(
                    send, makers[kind], COUNTERS[transport, kind], args.seconds, args.concurrency
                )
                cpu_us = (cpu_seconds(server_pid) - cpu0) / max(n, 1) * 1e6
                results[kind].append((rate, n, failed, cpu_us))
                print(
                    f"  {transport} round {r + 1} {kind:6s}: {rate:6.0f} req/s ({n} requests, {failed} not "
                    f"booked; server CPU {cpu_us:4.0f} us/request)"
                )
    return results


#: request numbers per (transport, kind): every request of a run books a new spot with a new token
COUNTERS: dict[tuple[str, str], Counter] = {}


def summary(transport: str, results: dict[str, list[Round]]) -> None:
    best = {kind: max(r[0] for r in runs) for kind, runs in results.items()}
    cpu = {kind: min(r[3] for r in runs) for kind, runs in results.items()}
    failed = sum(r[2] for runs in results.values() for r in runs)
    ratio = best["paid"] / best["unpaid"] if best["unpaid"] else 0.0
    cpu_ratio = cpu["unpaid"] / cpu["paid"] if cpu["paid"] else 0.0
    for kind, label in (("unpaid", "without payment:"), ("paid", "with payment:   ")):
        print(
            f"{transport:4s} CreateBooking {label} {best[kind]:6.0f} req/s (best), "
            f"{cpu[kind]:4.0f} us server CPU"
        )
    print(
        f"{transport:4s} ratio paid / unpaid: {ratio:.2f} by req/s, {cpu_ratio:.2f} by server CPU "
        f"(goal >= {1 / 1.5:.2f}); answers that were not a booking: {failed}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transport", choices=("rest", "grpc", "both"), default="both", help="(default both)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each kind (default 3)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one round (default 3)")
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    ap.add_argument("--slots", type=int, default=2000, help="slots per service (default 2000)")
    ap.add_argument("--capacity", type=int, default=50, help="spots per slot (default 50)")
    ap.add_argument("--server-cpu", default="0", help="CPU of the server (taskset); 'none' to not pin")
    ap.add_argument("--client-cpu", default="1", help="CPU of the load generator; 'none' to not pin")
    args = ap.parse_args()
    server_cpu = None if args.server_cpu == "none" else args.server_cpu
    client_cpu = None if args.client_cpu == "none" else args.client_cpu
    transports = ("rest", "grpc") if args.transport == "both" else (args.transport,)
    base = (int(time.time()) // HOUR + 48) * HOUR
    # each kind's spots are shared by the transports: split the capacity so neither runs out
    share = args.slots * args.capacity // len(transports)
    for i, transport in enumerate(transports):
        for kind in KINDS:
            COUNTERS[transport, kind] = Counter(share, start=i * share)
    results: dict[str, dict[str, list[Round]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp)
        write_feed(feed, base, args.slots, args.capacity)
        server, rest_url, grpc_target = start_server(feed, server_cpu)
        try:
            pin_self(client_cpu)
            print(
                f"server {rest_url} and grpc://{grpc_target} (CPU {server_cpu}), client CPU {client_cpu}; "
                f"{args.rounds} rounds x {args.seconds:g} s per kind, {args.concurrency} in flight"
            )
            for transport in transports:
                results[transport] = asyncio.run(
                    run(transport, (rest_url, grpc_target), args, base, server.pid)
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    for transport, by_kind in results.items():
        summary(transport, by_kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
