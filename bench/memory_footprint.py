"""Memory of the reference server's state: 1,000,000 slots plus 1,000,000 bookings (goal: < 1 GiB RSS).

Usage: ``python bench/memory_footprint.py [--slots 1000000] [--bookings 1000000] [--users 100000]``

Writes a feed file and loads it exactly as ``bookcheck serve --feed`` does, then books through the
domain service as the REST adapter does (a new ``UserInfo`` and token per request, payment
information on every tenth booking), and prints the process RSS after each phase. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mock_server.domain import BookingService, CreateBookingCommand, SlotQuery, UserInfo  # noqa: E402
from mock_server.server import ServerConfig, load_inventory  # noqa: E402

BASE = 1_900_000_000


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_feed(path: Path, merchants: int, services: int, per_service: int) -> None:
    """A feed in Google's layout: one service_availability group per service, staff resources."""
    with path.open("w") as f:
        f.write('{"service_availability":[')
        for m in range(merchants):
            for s in range(services):
                if m or s:
                    f.write(",")
                f.write('{"availability":[')
                f.write(
                    ",".join(
                        f'{{"merchant_id":"merchant-{m:04d}","service_id":"service-{m:04d}-{s:02d}",'
                        f'"start_sec":{BASE + k * 1800},"duration_sec":1800,"spots_total":2,"spots_open":2,'
                        f'"resources":{{"staff_id":"staff-{s % 4}"}}}}'
                        for k in range(per_service)
                    )
                )
                f.write("]}")
        f.write("]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slots", type=int, default=1_000_000)
    ap.add_argument("--bookings", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    args = ap.parse_args()
    merchants, services = 100, 10
    per_service = max(1, args.slots // (merchants * services))
    print(f"start: RSS {rss_mib():.0f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "availability.json"
        write_feed(feed, merchants, services, per_service)
        print(
            f"feed file of {merchants * services * per_service:,} slots: "
            f"{feed.stat().st_size / 2**20:.0f} MiB on disk"
        )
        t0 = time.perf_counter()
        inv = load_inventory(ServerConfig(feed=str(feed)))  # exactly what `bookcheck serve --feed` does
    gc.collect()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(inv):,} slots loaded in {time.perf_counter() - t0:.1f} s: RSS {rss_mib():.0f} MiB "
        f"(peak while parsing the JSON {peak:.0f} MiB)"
    )
    slots = list(inv)
    svc = BookingService(inv, clock=lambda: float(BASE - 86_400))
    t0 = time.perf_counter()
    booked = 0
    pay = {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
    for i in range(args.bookings):
        slot = slots[i % len(slots)]
        u = i % args.users
        user = UserInfo(
            f"{10**18 + u}", f"Given{u}", f"Family{u}", f"+1 415-555-{u % 10000:04d}", f"user{u}@example.com"
        )
        cmd = CreateBookingCommand(
            SlotQuery(slot.merchant_id, slot.service_id, slot.start_sec, slot.duration_sec),
            user,
            f"idem-{i:012d}-{u}",
            payment=dict(pay) if i % 10 == 0 else None,
        )
        if svc.create_booking(cmd).booking is not None:
            booked += 1
    gc.collect()
    took = time.perf_counter() - t0
    print(
        f"{booked:,} bookings made in {took:.1f} s ({booked / took:,.0f}/s in-process): "
        f"RSS {rss_mib():.0f} MiB"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (goal: < 1024 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
