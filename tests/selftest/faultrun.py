"""Helpers of the self-test room: a reference server with fault profiles, and the harness run against it.

The server runs in-process (its own event loop in a thread, ephemeral port), on a small generated
inventory that the harness receives as its feed; the harness runner is called in-process. Nothing here is
shared between tests: each call starts its own server, so xdist may spread the cases freely.

Payment cases (issue 15) use a second generated feed *directory* (:func:`payment_feed`): availability,
services, merchants and offers as ``bookcheck generate`` writes them, and its ``payment-fixtures.yaml``. The
server reads the directory (``--feed DIR``); the harness gets its catalogue and ``--allow-payments`` with
those fixtures, and runs the payment, offer and virtual-session scenarios only (:func:`payment_suite`).
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from timebase import FEED_START, pinned_clock

from booking_protocol.commerce import Catalogue
from booking_protocol.commercefeed import PAYMENT_FIXTURES_FILE, load_catalogue, load_payment_fixtures
from booking_protocol.feed import FeedSlot, iter_feed_document, load_availability_feed
from harness.config import RunConfig
from harness.paytokens import PaymentTokens
from harness.profile import TargetProfile
from harness.results import RunResult, Status
from harness.runner import run
from harness.targets import Credentials, TargetOptions
from mock_server.datagen import generate_availability_feed
from mock_server.datagen.writer import write_feeds
from mock_server.domain import Inventory
from mock_server.server import ServerConfig, serve_in_thread

USER, PASSWORD = "selftest", "s3cret-selftest"
FEED_SEED = 7
#: merchants of the payment feed: enough for every money kind (prepaid, deposit, pack, online, offer, a
#: merchant that rejects a card network), few enough to load in a blink
PAYMENT_MERCHANTS = 6
#: days of the payment feed: enough prepaid classes for every payment scenario to have its own start times
#: (prepaid-lifecycle, declined, 3DS1, price mismatch, packs bought and owned, reschedule, ...)
PAYMENT_DAYS = 4
#: the request timeout of a harness run over the payment feed: above the 15 s budget of a paid
#: CreateBooking (D47), so ``payment-latency`` is judged by the rule and not cut off by the client
PAYMENT_TIMEOUT = 20.0


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


@dataclass(frozen=True)
class PaymentFeed:
    """The generated feed directory of the payment cases, and what the harness reads from it."""

    directory: Path
    slots: tuple[FeedSlot, ...]
    catalogue: Catalogue
    tokens: PaymentTokens


@lru_cache(maxsize=1)
def payment_feed() -> PaymentFeed:
    """``bookcheck generate`` into a temporary directory (once per process; removed at exit)."""
    directory = Path(tempfile.mkdtemp(prefix="bookcheck-selftest-payfeed-"))
    atexit.register(shutil.rmtree, directory, True)
    write_feeds(directory, seed=FEED_SEED, merchants=PAYMENT_MERCHANTS, days=PAYMENT_DAYS, start=FEED_START)
    fixtures = load_payment_fixtures(directory / PAYMENT_FIXTURES_FILE)
    return PaymentFeed(
        directory,
        tuple(load_availability_feed(directory)),
        load_catalogue(directory),
        PaymentTokens(allowed=True, fixtures=fixtures),
    )


@dataclass
class Served:
    rest_url: str
    grpc_url: str | None
    #: tasks still pending on the server's loop after it stopped (filled at shutdown; must stay empty)
    leftover_tasks: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serve(
    faults: Sequence[str] = (), *, grpc: bool = False, payments: bool = False, **options: Any
) -> Iterator[Served]:
    """The reference server with ``faults`` (``ServerConfig.faults``, exactly as ``bookcheck serve --fault``),
    credentials on, REST (and gRPC) on 127.0.0.1 with ephemeral ports, in its own event loop and thread;
    with ``payments``, on the payment feed directory (``--feed DIR``), its test user owning the packs of the
    generated fixtures (``--payment-fixtures``, for payments/owned-pack)."""
    options.setdefault("clock", pinned_clock())
    if payments:
        options.setdefault("feed", str(payment_feed().directory))
        options.setdefault("payment_fixtures", str(payment_feed().directory / PAYMENT_FIXTURES_FILE))
    config = ServerConfig(
        port=0, user=USER, password=PASSWORD, faults=tuple(faults), grpc_port=0 if grpc else None, **options
    )
    with serve_in_thread(config, inventory=None if payments else inventory()) as server:
        grpc_url = next((u for u in server.extra_urls if u.startswith("grpc")), None)
        # the same list: serve_in_thread fills it when the server has stopped
        yield Served(server.rest_url, grpc_url, server.leftover_tasks)


def run_harness(
    url: str,
    *,
    only: Sequence[str] = (),
    availability: str = "bal",
    leases: bool = True,
    workers: int = 16,
    timeout: float = 10.0,
    clock: Any = None,
    payments: bool = False,
) -> RunResult:
    """The harness against ``url`` on the pinned clock that the servers of :func:`serve` share; with
    ``payments``, on the payment feed with ``--allow-payments`` and its generated fixtures."""
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
    if payments:
        money = payment_feed()
        config = replace(
            config,
            target=replace(config.target, timeout=max(timeout, PAYMENT_TIMEOUT)),
            feed=list(money.slots),
            catalogue=money.catalogue,
            payments=money.tokens,
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


#: Where the scenarios of issue 15 come from (``scenarios/payments.yaml``) and the prefixes of their ids.
PAYMENT_SOURCE = "payments.yaml"
PAYMENT_PREFIXES = ("payments/", "offers/", "virtual/")


@lru_cache(maxsize=1)
def payment_suite() -> tuple[str, ...]:
    """The payment, offer and virtual-session scenarios: what a payment case runs unless it says ``only``."""
    from harness.scenario import load_scenarios

    found = tuple(
        sorted(
            s.id
            for s in load_scenarios()
            if Path(s.source).name == PAYMENT_SOURCE or s.id.startswith(PAYMENT_PREFIXES)
        )
    )
    assert found, f"no payment scenarios (scenarios/{PAYMENT_SOURCE}): a payment case would run nothing"
    return found


#: The one scenario that waits (~3 s for a lease to expire).
SLOW_SCENARIO = "lease/expired"


def scenarios_for(
    fault: str, only: Sequence[str] = (), expected: frozenset[str] = frozenset(), *, payments: bool = False
) -> tuple[str, ...]:
    """Scenario ids to run for a fault: ``only``, else (for a payment case) the payment suite, else the
    default suite — without the slow lease-expiry scenario unless the fault is aimed at CreateLease or is
    expected to break that scenario's rule (every other lease scenario still runs, so CreateLease and
    bookings on leases stay covered)."""
    from mock_server.faults import parse_faults

    if only:
        return tuple(only)
    if payments:
        return payment_suite()
    f = parse_faults([fault]).faults[0]
    aimed_at_leases = f.methods is not None and "CreateLease" in f.methods
    if aimed_at_leases or "lease/expired" in expected:
        return default_suite()
    return tuple(s for s in default_suite() if s != SLOW_SCENARIO)
