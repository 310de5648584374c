"""The closing summary of Google's Maps Booking v3 test client (spec §7.3), rebuilt from per-method figures.

Google's client prints, when everything passes::

    HealthCheck Succeeded.
    CheckAvailability Errors: 0 out of 10. CreateBooking Errors: 0 out of 10.
    ListBookings Succeeded. GetBookingStatus Errors: 0 out of 10. Rescheduling Succeeded. All Tests Pass!

Partners compare bookcheck's ``--suite google-test-client`` with that output, so this module keeps the
wording. The mapping from :class:`~harness.results.MethodStats` (the only per-method data a result has):

* ``HealthCheck`` and ``ListBookings`` are single checks in Google's client: ``Succeeded.`` when none of
  their calls failed (``failed_calls == 0``), else ``Failed.``.
* ``CheckAvailability`` (or ``BatchAvailabilityLookup``, printed under its own name when the suite used it),
  ``CreateBooking`` and ``GetBookingStatus`` are per-slot: ``Errors: <failed_calls> out of <calls>.``.
* ``Rescheduling`` comes from ``UpdateBooking``: ``Succeeded.`` when no UpdateBooking call failed. The stats
  do not separate reschedules from the cancellations that clean up, so a failed cancel also shows here.
* Any other method (``CreateLease``, ...) follows the generic rule: one call -> ``Succeeded.``/``Failed.``,
  more -> ``Errors: n out of N.``. Methods never called are not printed, as Google's client prints only the
  tests it ran.
* The last line is ``All Tests Pass!`` exactly when there is at least one call, every line above succeeded,
  no check is FAIL (an error-level deviation, baselined or not: Google's client knows no baseline) and no
  scenario is in ERROR. Otherwise it is ``Tests Failed: ...`` with the reason counts.

A "failed call" is what the harness counts in ``MethodStats.failed_calls``: a call named in the evidence of
an error-level deviation, or a call that got no response.
"""

from __future__ import annotations

from harness.results import MethodStats, RunResult, Status

#: Google's order, and whether Google prints the method as one check (True) or per slot (False).
_GOOGLE_LINES: tuple[tuple[str, str, bool], ...] = (
    ("HealthCheck", "HealthCheck", True),
    ("CheckAvailability", "CheckAvailability", False),
    ("BatchAvailabilityLookup", "BatchAvailabilityLookup", False),
    ("CreateBooking", "CreateBooking", False),
    ("ListBookings", "ListBookings", True),
    ("GetBookingStatus", "GetBookingStatus", False),
    ("UpdateBooking", "Rescheduling", True),
)


def _line(label: str, stats: MethodStats, single: bool) -> tuple[str, bool]:
    ok = stats.failed_calls == 0
    if single:
        return f"{label} {'Succeeded' if ok else 'Failed'}.", ok
    return f"{label} Errors: {stats.failed_calls} out of {stats.calls}.", ok


def lines(result: RunResult) -> list[str]:
    """One sentence per method, in Google's order, then the closing sentence."""
    by_name = {m.operation: m for m in result.methods if m.calls > 0}
    out: list[str] = []
    all_ok = bool(by_name)
    for operation, label, single in _GOOGLE_LINES:
        stats = by_name.pop(operation, None)
        if stats is not None:
            text, ok = _line(label, stats, single)
            out.append(text)
            all_ok &= ok
    for operation in sorted(by_name):
        stats = by_name[operation]
        text, ok = _line(operation, stats, stats.calls == 1)
        out.append(text)
        all_ok &= ok
    # Google's verdict, deliberately not bookcheck's (``RunResult.fails_run``): Google's client knows no
    # baseline and no --fail-on, so every error-level deviation counts here, accepted or not.
    failed_checks = sum(1 for c in result.checks() if c.status is Status.FAIL)
    errored = sum(1 for s in result.scenarios if s.status is Status.ERROR)
    if not result.methods or not any(m.calls for m in result.methods):
        out.append("No Tests Run.")
    elif all_ok and not failed_checks and not errored:
        out.append("All Tests Pass!")
    else:
        reasons = [f"{failed_checks} error-level deviation(s)"]
        if errored:
            reasons.append(f"{errored} scenario(s) in error")
        out.append(f"Tests Failed: {', '.join(reasons)}.")
    return out


def render(result: RunResult) -> str:
    """Google's summary, one sentence per line, ending with a newline."""
    return "\n".join(lines(result)) + "\n"


def all_tests_pass(result: RunResult) -> bool:
    return lines(result)[-1] == "All Tests Pass!"
