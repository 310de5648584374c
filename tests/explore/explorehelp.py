"""Helpers of the explore room: the reference server on a feed big enough for explore's fresh slots, and
an explore run against it, both in-process (server thread on an ephemeral port, pinned clock)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from timebase import FEED_START, PINNED_NOW

from booking_protocol.feed import FeedSlot, iter_feed_document
from harness.config import RunConfig
from harness.explore.driver import Budget, ExploreOutcome, Explorer
from harness.profile import TargetProfile
from harness.targets import Credentials, TargetOptions, make_target
from mock_server.datagen import generate_availability_feed
from mock_server.domain import Inventory, ShiftedClock
from mock_server.server import ServerConfig, serve_in_thread

USER, PASSWORD = "explore", "s3cret-explore"


class MovableClock(ShiftedClock):
    """The pinned clock of the suite, which explore's waits for lease expiry move on at once (``advance``):
    the server and the explorer of a test share it, so both see the lease expire without real waiting."""

    def advance(self, seconds: float) -> None:
        self.epoch += seconds


@functools.cache
def explore_clock() -> MovableClock:
    """The one clock of the explore tests in this process (server and explorer alike)."""
    return MovableClock(PINNED_NOW)


FULL_PROFILE = TargetProfile(availability="both", leases=True, party_size_change=True)


@lru_cache(maxsize=1)
def feed_slots() -> tuple[FeedSlot, ...]:
    """6 merchants x 14 days (~2,700 slots): every vertical, async slots, party sizes, capacities 1-5."""
    doc = generate_availability_feed(seed=11, merchants=6, days=14, start=FEED_START)
    return tuple(iter_feed_document(doc, "<explore feed>"))


def _inventory() -> Inventory:
    inv = Inventory()
    inv.add_records(feed_slots())
    inv.done_loading()
    return inv


@dataclass
class Served:
    rest_url: str
    grpc_url: str | None


@contextlib.contextmanager
def serve(faults: Sequence[str] = (), *, grpc: bool = False, **options: Any) -> Iterator[Served]:
    """The reference server (``faults`` and ``options`` as ``bookcheck serve`` flags) in its own thread."""
    options.setdefault("clock", explore_clock())
    config = ServerConfig(
        port=0, user=USER, password=PASSWORD, faults=tuple(faults), grpc_port=0 if grpc else None, **options
    )
    with serve_in_thread(config, inventory=_inventory()) as server:
        grpc_url = next((u for u in server.extra_urls if u.startswith("grpc")), None)
        yield Served(server.rest_url, grpc_url)


def run_config(url: str, profile: TargetProfile = FULL_PROFILE, *, seed: int = 1, **kw: Any) -> RunConfig:
    return RunConfig(
        target=TargetOptions(
            url=url, credentials=Credentials(USER, PASSWORD), timeout=kw.pop("timeout", 10.0)
        ),
        feed=list(feed_slots()),
        profile=profile,
        seed=seed,
        **{"clock": explore_clock(), **kw},
    )


def explore(
    url: str,
    profile: TargetProfile = FULL_PROFILE,
    *,
    seed: int = 1,
    max_examples: int = 40,
    max_steps: int = 12,
    duration: float | None = 20.0,
    shrink_sec: float = 20.0,
    shrink_executions: int = 80,
    **kw: Any,
) -> ExploreOutcome:
    config = run_config(url, profile, seed=seed, **kw)
    budget = Budget(
        max_examples=max_examples,
        max_steps=max_steps,
        duration_sec=duration,
        shrink_sec=shrink_sec,
        shrink_executions=shrink_executions,
    )
    return Explorer(config, budget, make_target(config.target)).explore()
