"""Robustness of the reference server (issue 16): HealthCheck latency and RSS while clients send the
largest allowed bodies.

Usage: ``python bench/robustness.py [--seconds 8] [--clients 4]``

Starts ``bookcheck serve --port 0 --grpc-port 0`` (generated inventory) as its own process, pinned to CPU 0
when the machine has two cores; the load runs in a separate process pinned to CPU 1. Scenarios, each for
``--seconds`` (and at most 10,000 requests per client):

- ``idle``: nothing but the probe;
- ``rest-1MiB``: ``--clients`` clients each send BatchAvailabilityLookup bodies of just under 1 MiB (the
  largest allowed) over REST, back to back;
- ``rest-gzip``: the same clients send 1 MiB gzip bodies that inflate past the limit (answered 413);
- ``grpc-1MiB``: the same over gRPC, one message of just under 1 MiB each;
- ``mixed``: half the clients on each transport.

Meanwhile the probe sends REST ``GET /v3/HealthCheck`` every 20 ms and records its latency; a sampler
reads the server's RSS every 10 ms. Figures are printed (p50, p99, max latency; peak RSS), never asserted.
Goals (issue 16): HealthCheck p99 < 100 ms under that load; RSS < 200 MB under four 1 MiB gRPC lookups.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchserve import start_serve  # noqa: E402

from booking_protocol import booking_pb2 as pb  # noqa: E402

MIB = 1024 * 1024
PROBE_EVERY_SEC = 0.02
MAX_REQUESTS_PER_CLIENT = 10_000


def _pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(pid, {cpu})


def start_server() -> tuple[subprocess.Popen[str], str, str]:
    """``bookcheck serve`` on free ports; returns the process, the REST host:port and the gRPC host:port."""
    served = start_serve("--grpc-port", "0")
    _pin(served.proc.pid, 0)
    assert served.grpc_address is not None
    return served.proc, served.rest_url.removeprefix("http://"), served.grpc_address


# -- bodies -----------------------------------------------------------------------------------------------


def bal_json(limit: int = MIB) -> bytes:
    """A BatchAvailabilityLookup JSON body just under ``limit`` bytes."""
    one = {"service_id": "service-0", "start_sec": "1900000000", "duration_sec": "3600"}
    per = len(orjson.dumps(one)) + 1
    return orjson.dumps({"merchant_id": "merchant-0", "slot_time": [one] * ((limit - 100) // per)})


def gzip_bomb(limit: int = MIB) -> bytes:
    """A gzip body of at most ``limit`` bytes that inflates to about 1 GiB (answered 413)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [packer.compress(b'{"merchant_id":"')]
    zeros = b"0" * (16 * MIB)
    for _ in range(64):  # 1 GiB in
        out.append(packer.compress(zeros))
    out.append(packer.flush())
    return b"".join(out)[:limit]


def bal_message(limit: int = MIB) -> bytes:
    request = pb.BatchAvailabilityLookupRequest(merchant_id="merchant-0")
    st = pb.SlotTime(service_id="service-0", start_sec=1_900_000_000, duration_sec=3600)
    per = len(pb.BatchAvailabilityLookupRequest(slot_time=[st, st]).SerializeToString()) // 2
    for _ in range((limit - 100) // per):
        request.slot_time.append(st)
    return request.SerializeToString()


# -- load (in its own process) ----------------------------------------------------------------------------


def _rest_client(address: str, body: bytes, headers: dict[str, str], stop: Any, counts: Any, i: int) -> None:
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if stop.is_set():
            break
        conn.request("POST", "/v3/BatchAvailabilityLookup", body=body, headers=headers)
        reply = conn.getresponse()
        reply.read()
        if reply.will_close:
            conn.close()
        counts[i] += 1


def _grpc_client(address: str, body: bytes, stop: Any, counts: Any, i: int) -> None:
    import grpc

    options = [("grpc.max_send_message_length", 2 * MIB), ("grpc.max_receive_message_length", 8 * MIB)]
    with grpc.insecure_channel(address, options=options) as channel:
        call = channel.unary_unary(
            "/ext.maps.booking.partner.v3.BookingService/BatchAvailabilityLookup",
            request_serializer=None,
            response_deserializer=None,
        )
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if stop.is_set():
                break
            call(body, timeout=30)
            counts[i] += 1


def load_process(
    kinds: list[str], bodies: dict[str, bytes], rest: str, grpc_address: str, stop: Any, counts: Any
) -> None:
    """One thread per client, sending the bodies built (once) by the parent."""
    _pin(os.getpid(), 1)
    threads = []
    for i, kind in enumerate(kinds):
        if kind == "grpc":
            target: Any = _grpc_client
            args: tuple[Any, ...] = (grpc_address, bodies["grpc"], stop, counts, i)
        else:
            headers = {"Content-Type": "application/json"}
            if kind == "gzip":
                headers["Content-Encoding"] = "gzip"
            target, args = _rest_client, (rest, bodies[kind], headers, stop, counts, i)
        threads.append(threading.Thread(target=target, args=args, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# -- probe and sampler ------------------------------------------------------------------------------------


def probe(rest: str, seconds: float) -> list[float]:
    """HealthCheck latencies (ms), one request every PROBE_EVERY_SEC, on one kept-alive connection."""
    host, port = rest.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        conn.request("GET", "/v3/HealthCheck")
        conn.getresponse().read()
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(PROBE_EVERY_SEC)
    return out


def rss_mib(pid: int) -> float:
    """The resident set of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def sample_rss(pid: int, stop: threading.Event, peaks: list[float]) -> None:
    while not stop.is_set():
        peaks.append(rss_mib(pid))
        time.sleep(0.01)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_scenario(
    name: str,
    kinds: list[str],
    bodies: dict[str, bytes],
    rest: str,
    grpc_address: str,
    pid: int,
    seconds: float,
) -> None:
    stop, counts = mp.Event(), mp.Array("i", len(kinds))
    loader = mp.Process(
        target=load_process, args=(kinds, bodies, rest, grpc_address, stop, counts), daemon=True
    )
    rss: list[float] = []
    sampler_stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(pid, sampler_stop, rss), daemon=True)
    sampler.start()
    if kinds:
        loader.start()
        time.sleep(1.0)  # let the clients get going
    latencies = probe(rest, seconds)
    stop.set()
    if kinds:
        loader.join(timeout=60)
        if loader.is_alive():
            loader.terminate()
    sampler_stop.set()
    sampler.join()
    sent = sum(counts[:])
    print(
        f"{name:<10} clients={len(kinds)} bodies={sent:>5} ({sent / (seconds + 1):6.1f}/s)  HealthCheck "
        f"p50={statistics.median(latencies):6.1f} ms  p99={percentile(latencies, 0.99):6.1f} ms  "
        f"max={max(latencies):6.1f} ms  n={len(latencies)}  peak RSS={max(rss):6.1f} MiB",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="probe time per scenario (default 8)")
    ap.add_argument("--clients", type=int, default=4, help="load clients per scenario (default 4)")
    args = ap.parse_args()
    bodies = {"rest": bal_json(), "gzip": gzip_bomb(), "grpc": bal_message()}
    proc, rest, grpc_address = start_server()
    try:
        print(
            f"server pid {proc.pid}, REST {rest}, gRPC {grpc_address}; bodies: REST {len(bodies['rest'])} B, "
            f"gzip {len(bodies['gzip'])} B (inflating to 1 GiB), gRPC {len(bodies['grpc'])} B",
            flush=True,
        )
        n = args.clients
        scenarios = {
            "idle": [],
            "rest-1MiB": ["rest"] * n,
            "rest-gzip": ["gzip"] * n,
            "grpc-1MiB": ["grpc"] * n,
            "mixed": ["rest", "grpc"] * (n // 2),
        }
        for name, kinds in scenarios.items():
            run_scenario(name, kinds, bodies, rest, grpc_address, proc.pid, args.seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
