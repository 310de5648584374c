"""CreateBooking over gRPC against a bare grpc.aio echo method: calls per second and their ratio.

Goal (issue 3): CreateBooking reaches at least 70 % of the calls/s of a bare grpc.aio echo method with the
same message sizes, in the same run, with the same load generator.

Both servers run one at a time in their own process (``--serve``), so each gets a core to itself and the
load generator the other; the booking server is built exactly as ``bookcheck serve --grpc-port 0`` builds
it (REST and gRPC on one app; credentials with ``--auth``). Rounds alternate echo and CreateBooking, each
server freshly started. Two load generators, each used for both servers:

1. **h2load** (nghttp2, C; cheap): sends a length-prefixed gRPC frame from a file. It can only send one
   fixed body, so every CreateBooking after the first carries the same idempotency token and is a replay
   (§3.2): parse, app call, token lookup, full response encode — but no new booking.
2. **Python grpc.aio client** with pre-serialized bodies (no client-side protobuf work): every call books
   a *distinct slot* with a *distinct token and user*, the honest measure. It costs the client nearly a
   core, so its absolute figures are lower; the ratio is what counts.

The echo method returns a fixed payload of the size of a real CreateBookingResponse and is sent the very
same request bodies. Run::

    .venv/bin/python bench/grpc_throughput.py [--rounds 5] [--seconds 3] [--clients 4] [--streams 16] [--auth]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from booking_protocol import booking_pb2 as pb  # noqa: E402

ECHO_PATH = "/bench.Echo/Echo"
CREATE_PATH = "/ext.maps.booking.partner.v3.BookingService/CreateBooking"
MERCHANT, SERVICE, FIRST_START = "m-bench", "s-bench", 2_000_000_000
READY_TIMEOUT = 120.0
USER, PASSWORD = "bench", "bench-password"
#: server on CPU 1, this process and h2load on CPU 0 (set from --no-pin)
PIN = True
AUTH_HEADER = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


# ---------------------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------------------


def create_request(i: int) -> pb.CreateBookingRequest:
    """A representative request (the documented sample's fields): slot i, token i, user i."""
    return pb.CreateBookingRequest(
        slot=pb.Slot(
            merchant_id=MERCHANT,
            service_id=SERVICE,
            start_sec=FIRST_START + i * 60,
            duration_sec=3600,
            resources=pb.ResourceIds(party_size=2),
            confirmation_mode=pb.CONFIRMATION_MODE_SYNCHRONOUS,
        ),
        user_information=pb.UserInformation(
            user_id=f"{1000000000000000000 + i}",
            given_name="Jane",
            family_name="Doe",
            telephone="+1 415-736-0000",
            email=f"jane.doe.{i}@example.com",
            language_code="en-US",
        ),
        payment_information=pb.PaymentInformation(prepayment_status=pb.PREPAYMENT_NOT_PROVIDED),
        idempotency_token=f"bench-token-{i:09d}",
    )


def write_feed(path: Path, slots: int) -> None:
    """One slot per request index, capacity 1 each: every distinct request books a distinct slot."""
    availability = [
        {
            "merchant_id": MERCHANT,
            "service_id": SERVICE,
            "start_sec": FIRST_START + i * 60,
            "duration_sec": 3600,
            "spots_total": 1,
            "spots_open": 1,
            "resources": {"party_size": 2},
            "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
        }
        for i in range(slots)
    ]
    path.write_text(json.dumps({"service_availability": [{"availability": availability}]}), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------
# Servers (child processes)
# ---------------------------------------------------------------------------------------------------------


async def serve_echo(response_size: int) -> None:
    payload = b"x" * response_size  # the size of a real CreateBookingResponse; the client does not parse it

    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:  # type: ignore[type-arg]
        return payload

    server = grpc.aio.server(options=(("grpc.so_reuseport", 0),))
    handler = grpc.unary_unary_rpc_method_handler(echo)  # bytes in, bytes out: nothing but the transport
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"ready {port}", flush=True)
    await _wait_for_stdin_close()
    await server.stop(0)


async def serve_booking(feed: str, auth: bool) -> None:
    """The reference server exactly as ``bookcheck serve --port 0 --grpc-port 0 --feed F`` builds it."""
    from mock_server.server import ServerConfig, start_server

    credentials = {"user": USER, "password": PASSWORD} if auth else {}
    server = await start_server(ServerConfig(port=0, feed=feed, grpc_port=0, **credentials))
    print(f"ready {server.extra_urls[0].rsplit(':', 1)[1]}", flush=True)
    await _wait_for_stdin_close()
    print(f"bookings {server.app.service.booking_count}", flush=True)
    await server.close()


async def _wait_for_stdin_close() -> None:
    """The parent closes our stdin to stop us (no signals, no sleeps)."""
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


@dataclass
class Child:
    proc: subprocess.Popen[str]
    port: int

    def stop(self) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        return self.proc.stdout.read()


def pin(pid: int, cpu: int) -> None:
    """Pin a process to one CPU when there are two or more (Linux), so server and load generator do not
    trade cores mid-run; elsewhere a no-op."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(pid, {cpu})


def start_child(*args: str) -> Child:
    # grpcio logs every call cut off at the end of an h2load run (CancelledError) on stderr: drop it.
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", *args, *(["pin"] if PIN else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    line = proc.stdout.readline()
    if not line.startswith("ready ") or time.monotonic() > deadline:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return Child(proc, int(line.split()[1]))


# ---------------------------------------------------------------------------------------------------------
# Load generators
# ---------------------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def frame(body: bytes) -> bytes:
    """A gRPC length-prefixed message (uncompressed)."""
    return b"\x00" + len(body).to_bytes(4, "big") + body


def h2load(
    port: int, path: str, body_file: Path, seconds: float, clients: int, streams: int, auth: bool = False
) -> float:
    cmd = [
        "h2load",
        "-D",
        str(max(1, round(seconds))),
        "--warm-up-time",
        "1",
        "-c",
        str(clients),
        "-m",
        str(streams),
        "-t",
        "1",
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        "-d",
        str(body_file),
        *(["-H", f"authorization: {AUTH_HEADER}"] if auth else []),
        f"http://127.0.0.1:{port}{path}",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    out = run.stdout + run.stderr
    rate = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    errored = re.search(r"(\d+) errored", out)
    if (
        not rate
        or not status
        or (errored and int(errored.group(1)))
        or int(status.group(3)) + int(status.group(4))
    ):
        raise SystemExit(f"h2load run failed:\n{out}")
    return float(rate.group(1))


async def python_load(
    port: int, path: str, bodies: list[bytes], seconds: float, clients: int, streams: int, auth: bool = False
) -> tuple[float, int]:
    """Calls/s of ``clients`` channels × ``streams`` concurrent callers, each request body used once."""
    channels = [
        grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=(("grpc.use_local_subchannel_pool", 1),))
        for _ in range(clients)
    ]
    calls = [ch.unary_unary(path) for ch in channels]
    metadata = (("authorization", AUTH_HEADER),) if auth else None
    next_body = iter(bodies).__next__
    done = 0
    stop_at = 0.0

    async def worker(call: grpc.aio.UnaryUnaryMultiCallable) -> None:  # type: ignore[type-arg]
        nonlocal done
        while time.monotonic() < stop_at:
            try:
                body = next_body()
            except StopIteration:
                return
            await call(body, timeout=30, metadata=metadata)
            done += 1

    # warm-up: one second, then measure
    stop_at = time.monotonic() + 1.0
    await asyncio.gather(*(worker(calls[i % clients]) for i in range(clients * streams)))
    done = 0
    begin = time.monotonic()
    stop_at = begin + seconds
    await asyncio.gather(*(worker(calls[i % clients]) for i in range(clients * streams)))
    elapsed = time.monotonic() - begin
    for ch in channels:
        await ch.close()
    return done / elapsed, done


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------


def check_booking_body(port: int, body: bytes, auth: bool) -> int:
    """One real call with the h2load body: it must succeed and book (not a failure); returns response size.

    (h2load only sees HTTP statuses; a gRPC error would still be HTTP 200, so this call is the proof.)
    """
    metadata = (("authorization", AUTH_HEADER),) if auth else None
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        raw = channel.unary_unary(CREATE_PATH)(body, timeout=10, metadata=metadata)
    response = pb.CreateBookingResponse.FromString(raw)
    if not response.booking.booking_id or response.HasField("booking_failure"):
        raise SystemExit(f"CreateBooking did not book: {response}")
    return len(raw)


@dataclass
class Run:
    rate: float  # calls/s
    server_cpu_us: float  # server CPU (all its threads) per call, in µs


def measure(child: Child, load: Callable[[int], float]) -> Run:
    """Run ``load(port) -> (calls/s)`` against ``child``, with the child's CPU time over the whole run."""
    before = cpu_seconds(child.proc.pid)
    begin = time.monotonic()
    rate = load(child.port)
    cpu = cpu_seconds(child.proc.pid) - before
    calls = rate * (time.monotonic() - begin)  # includes warm-up calls at roughly the same rate
    child.stop()
    return Run(rate, cpu / calls * 1e6 if calls else 0.0)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="measured seconds per run (default 3)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating echo/CreateBooking rounds (default 5)"
    )
    parser.add_argument("--clients", type=int, default=4, help="connections (default 4)")
    parser.add_argument(
        "--streams", type=int, default=16, help="concurrent calls per connection (default 16)"
    )
    parser.add_argument(
        "--slots", type=int, default=60_000, help="distinct slots in the feed (default 60000)"
    )
    parser.add_argument("--skip-python", action="store_true", help="h2load only")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and load generator to CPUs")
    parser.add_argument(
        "--auth",
        action="store_true",
        help="run the booking server with credentials (both servers are sent the same authorization header)",
    )
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        kind, value, *flags = args.serve
        if "pin" in flags:
            pin(0, 1)  # before grpcio starts any thread, so all of them inherit it
        asyncio.run(serve_echo(int(value)) if kind == "echo" else serve_booking(value, "auth" in flags))
        return 0
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is not installed (Debian: apt-get install nghttp2-client)")
    global PIN
    PIN = not args.no_pin
    if PIN:
        pin(0, 0)  # this process and the h2load processes it starts

    with tempfile.TemporaryDirectory(prefix="bookcheck-bench-") as tmp:
        work = Path(tmp)
        feed = work / "availability.json"
        write_feed(feed, args.slots)
        fixed = create_request(args.slots - 1).SerializeToString()
        body_file = work / "create_booking.grpc"
        body_file.write_bytes(frame(fixed))
        bodies = [create_request(i).SerializeToString() for i in range(args.slots - 1)]

        booking = start_child("booking", str(feed), *(["auth"] if args.auth else []))
        response_size = check_booking_body(booking.port, fixed, args.auth)
        booking.stop()
        print(
            f"message sizes: request {len(fixed)} B, response {response_size} B; cores: {os.cpu_count()}; "
            f"load average before: {os.getloadavg()[0]:.2f}; credentials {'on' if args.auth else 'off'}"
        )
        print(
            f"load: {args.clients} connections x {args.streams} streams, {args.seconds} s measured after 1 s "
            f"warm-up; each server alone in its own process; {args.rounds} alternating rounds"
        )

        def h2(path: str) -> Callable[[int], float]:
            return lambda port: h2load(
                port, path, body_file, args.seconds, args.clients, args.streams, args.auth
            )

        def py(path: str) -> Callable[[int], float]:
            return lambda port: asyncio.run(
                python_load(port, path, bodies, args.seconds, args.clients, args.streams, args.auth)
            )[0]

        generators = [("h2load, one fixed body (token replayed after the first call)", h2)]
        if not args.skip_python:
            generators.append(("python grpc.aio, distinct slot + token + user per call", py))
        summary = []
        for name, make in generators:
            print(f"\n{name}")
            echoes, creates, ratios = [], [], []
            for r in range(args.rounds):
                echo = measure(start_child("echo", str(response_size)), make(ECHO_PATH))
                booking = start_child("booking", str(feed), *(["auth"] if args.auth else []))
                check_booking_body(
                    booking.port, fixed, args.auth
                )  # the body books (a replay from then on, for h2load)
                create = measure(booking, make(CREATE_PATH))
                echoes.append(echo)
                creates.append(create)
                ratios.append(create.rate / echo.rate)
                print(
                    f"  round {r + 1}: echo {echo.rate:6.0f} calls/s ({echo.server_cpu_us:4.0f} µs server CPU"
                    "/call)"
                    f"   CreateBooking {create.rate:6.0f} calls/s ({create.server_cpu_us:4.0f} µs)"
                    f"   ratio {ratios[-1]:6.1%}"
                )
            best_echo = max(e.rate for e in echoes)
            best_create = max(c.rate for c in creates)
            summary.append(
                (
                    name,
                    best_echo,
                    best_create,
                    best_create / best_echo,
                    median(ratios),
                    min(e.server_cpu_us for e in echoes) / min(c.server_cpu_us for c in creates),
                )
            )

    print()
    print(f"{'summary':58} {'best echo/s':>11} {'best Create/s':>13} {'ratio':>6} {'median':>7} {'CPU':>6}")
    for name, echo_rate, create_rate, ratio, median_ratio, cpu_ratio in summary:
        print(
            f"{name:58} {echo_rate:11.0f} {create_rate:13.0f} {ratio:6.1%} {median_ratio:7.1%}"
            f" {cpu_ratio:6.1%}"
        )
    print(
        "ratio = best CreateBooking round / best echo round (the least disturbed run of each; the machine\n"
        "may be shared); median = median of the per-round ratios; CPU = lowest echo server CPU per call /\n"
        "lowest CreateBooking server CPU per call (insensitive to a load generator competing for the cores)."
    )
    worst = min(row[3] for row in summary)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"\ngoal >= 70 % of bare echo calls/s: {'met' if worst >= 0.70 else 'NOT met'}"
        f" (lowest ratio {worst:.1%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
