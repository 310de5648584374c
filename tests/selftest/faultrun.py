"""Helpers of the self-test room: a reference server with fault profiles, and the harness run against it.

The server runs in-process (its own event loop in a thread, ephemeral port), on a small generated
inventory that the harness receives as its feed; the harness runner is called in-process. Nothing here is
shared between tests: each call starts its own server, so xdist may spread the cases freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from timebase import FEED_START, pinned_clock

from booking_protocol.feed import FeedSlot, iter_feed_document
from harness.config import RunConfig
from harness.profile import TargetProfile
from harness.results import RunResult, Status
from harness.runner import run
from harness.targets import Credentials, TargetOptions
from mock_server.datagen import generate_availability_feed
from mock_server.domain import Inventory
from mock_server.server import ServerConfig, start_server

USER, PASSWORD = "selftest", "s3cret-selftest"
FEED_SEED = 7
START_TIMEOUT = 30.0


@lru_cache(maxsize=1)
def feed_slots() -> tuple[FeedSlot, ...]:
    """A small generated inventory (3 merchants x 3 days): every vertical, async slots, capacities > 1."""
    doc = generate_availability_feed(seed=FEED_SEED, merchants=3, days=3, start=FEED_START)
    return tuple(iter_feed_document(doc, "<selftest feed>"))


def inventory() -> Inventory:
    inv = Inventory()
    inv.add_records(feed_slots())
    inv.done_loading()
    return inv


@dataclass
class Served:
    rest_url: str
    grpc_url: str | None
    #: tasks still pending on the server's loop after it stopped (filled at shutdown; must stay empty)
    leftover_tasks: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serve(faults: Sequence[str] = (), *, grpc: bool = False, **options: Any) -> Iterator[Served]:
    """The reference server with ``faults`` (``ServerConfig.faults``, exactly as ``bookcheck serve --fault``),
    credentials on, REST (and gRPC) on 127.0.0.1 with ephemeral ports, in its own event loop and thread."""
    options.setdefault("clock", pinned_clock())
    config = ServerConfig(
        port=0, user=USER, password=PASSWORD, faults=tuple(faults), grpc_port=0 if grpc else None, **options
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            server = await start_server(config, inventory=inventory())
            grpc_url = next((u for u in server.extra_urls if u.startswith("grpc")), None)
            box["served"] = Served(server.rest_url, grpc_url)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
            ready.set()
            return
        stop = box["stop"] = asyncio.Event()
        ready.set()
        await stop.wait()
        await server.close()
        me = asyncio.current_task()
        box["served"].leftover_tasks.extend(repr(t) for t in asyncio.all_tasks() if t is not me)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        assert ready.wait(START_TIMEOUT), "the server did not start"
        if "error" in box:
            raise box["error"]
        yield box["served"]
    finally:
        if "stop" in box:
            loop.call_soon_threadsafe(box["stop"].set)
        thread.join(timeout=30)
        if not thread.is_alive():
            loop.close()


def run_harness(
    url: str,
    *,
    only: Sequence[str] = (),
    availability: str = "bal",
    leases: bool = True,
    workers: int = 16,
    timeout: float = 10.0,
    clock: Any = None,
) -> RunResult:
    """The harness against ``url`` on the pinned clock that the servers of :func:`serve` share."""
    profile = TargetProfile(
        transports=("grpc",) if url.startswith("grpc") else ("rest",),
        availability=availability,
        leases=leases,
        party_size_change=True,
    )
    config = RunConfig(
        target=TargetOptions(url=url, credentials=Credentials(USER, PASSWORD), timeout=timeout),
        feed=list(feed_slots()),
        profile=profile,
        seed=1,
        workers=workers,
        only=tuple(only),
        clock=clock or pinned_clock(),
    )
    return run(config)


def fired(result: RunResult) -> set[str]:
    """Rule ids with a FAIL or WARN anywhere in the run."""
    return {c.rule_id for c in result.checks() if c.status in (Status.FAIL, Status.WARN)}


def errored(result: RunResult) -> list[str]:
    return [f"{s.scenario_id}: {s.reason}" for s in result.scenarios if s.status == Status.ERROR]


@lru_cache(maxsize=1)
def default_suite() -> tuple[str, ...]:
    from harness.scenario import load_scenarios

    return tuple(sorted(s.id for s in load_scenarios() if "default" in s.suites))


#: The one scenario that waits (~3 s for a lease to expire).
SLOW_SCENARIO = "lease/expired"


def scenarios_for(
    fault: str, only: Sequence[str] = (), expected: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """Scenario ids to run for a fault: ``only``, else the default suite — without the slow lease-expiry
    scenario unless the fault is aimed at CreateLease or is expected to break that scenario's rule
    (every other lease scenario still runs, so CreateLease and bookings on leases stay covered)."""
    from mock_server.faults import parse_faults

    if only:
        return tuple(only)
    f = parse_faults([fault]).faults[0]
    aimed_at_leases = f.methods is not None and "CreateLease" in f.methods
    if aimed_at_leases or "lease/expired" in expected:
        return default_suite()
    return tuple(s for s in default_suite() if s != SLOW_SCENARIO)
