"""A correct server whose clock runs over a second behind bookcheck's (or that compares whole seconds) still
honours a lease for a moment after its expiry by bookcheck's clock. The lease-expiry scenario waits past
the expiry by ``LEASE_EXPIRY_MARGIN_SEC`` so that such a server is not blamed; and a server that never
lets a lease expire is still caught. Real clocks, real waits (about 3 s each)."""

from __future__ import annotations

import time

from faultrun import run_harness, serve

from harness.results import Status
from mock_server.domain import ShiftedClock

#: more than the 1.05 s the scenario used to wait past the expiry, less than the margin now
LAG_SEC = 1.3


def _lease_expired(faults: tuple[str, ...] = ()) -> Status:
    with serve(faults, clock=ShiftedClock(time.time() - LAG_SEC)) as served:
        result = run_harness(served.rest_url, only=["lease/expired"], clock=time.time)
    (scenario,) = result.scenarios
    return scenario.status


def test_a_server_over_a_second_behind_passes_the_lease_expiry_scenario() -> None:
    assert _lease_expired() is Status.PASS


def test_a_lease_that_never_expires_still_fails_it() -> None:
    assert _lease_expired(("lease-no-expiry",)) is Status.FAIL
