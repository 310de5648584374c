"""The configuration of one run: everything :func:`harness.runner.run` needs, already validated.

Commands never build it field by field: :func:`harness.prepare.prepare` turns what a command received (flags,
pytest options) into a ``RunConfig`` in one place, with one credential precedence and one set of refusals.
Tests may construct it directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from booking_protocol.commerce import Catalogue
from booking_protocol.feed import FeedSlot
from harness.baseline import BaselineEntry
from harness.paytokens import PaymentTokens
from harness.profile import TargetProfile
from harness.scenario import Scenario
from harness.targets import TargetOptions

#: A clock: epoch seconds. Real time for real targets; tests pin it (with the reference server's) so that no
#: verdict depends on the machine's date.
Clock = Callable[[], float]


@dataclass(frozen=True)
class RunConfig:
    target: TargetOptions
    feed: Sequence[FeedSlot] | None = None
    profile: TargetProfile = TargetProfile()
    suite: str = "default"
    seed: int = 0
    workers: int = 4
    nonce: str | None = None
    keep_bookings: bool = False
    fail_on: str = "error"  # error | warning
    baseline: tuple[BaselineEntry, ...] | None = None
    only: tuple[str, ...] = ()  # scenario id patterns (fnmatch); empty = all of the suite
    exclude: tuple[str, ...] = ()  # scenario id patterns left out
    scenario_files: tuple[str, ...] = ()  # extra scenario files
    num_slots: int = 10  # slots of the google-test-client flow
    merchant: str | None = None
    service: str | None = None
    min_lead_sec: int = 600  # slots starting sooner than this are not used
    max_lease_sec: int = 10  # the lease-expiry scenario skips if the server holds longer
    tool_version: str = "0"
    scenarios: tuple[Scenario, ...] | None = None  # preloaded (tests); default: load from scenarios/
    #: where "now" comes from (slot lead time, ``${now}`` in scenarios, lease expiry)
    clock: Clock = time.time
    #: the ledger file of what the run creates (None: none is written); see :mod:`harness.journal`
    ledger: str | None = None
    #: the money side of the feed directory (services, merchants, offers); empty when the files are absent.
    #: Slot choice keeps scenarios without payment off services that take payment (see harness.inventory)
    catalogue: Catalogue = Catalogue()
    #: ``--allow-payments`` and the token sources of the payment scenarios (D48)
    payments: PaymentTokens = PaymentTokens()
