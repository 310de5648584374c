"""Google's published thresholds, in one table (docs/load.md explains each figure and where it comes from).

Per method: the highest error rate and the latency budget Google states for its launch and monitoring
(spec §1.2, §6). The "Booking Server Ready" milestones (spec §3.8, and the booking-server-ready pages for
CreateBooking/UpdateBooking) are judged over sliding windows of recent requests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Threshold:
    method: str
    max_error_rate: float  # a share: 0.03 = 3 %
    latency_budget_ms: float


THRESHOLDS: dict[str, Threshold] = {
    t.method: t
    for t in (
        Threshold("BatchAvailabilityLookup", 0.03, 1500.0),
        Threshold("CheckAvailability", 0.10, 5000.0),
        Threshold("CreateBooking", 0.05, 4000.0),  # 15 s with payments; load sends none
        Threshold("UpdateBooking", 0.05, 4000.0),
        Threshold("CreateLease", 0.10, 5000.0),
    )
}

#: Methods whose business failures (booking_failure in a 200 answer) count as errors: Google counts a
#: SLOT_UNAVAILABLE CreateBooking against the error rate (spec §3.1).
BUSINESS_FAILURE_IS_ERROR = ("CreateBooking", "UpdateBooking", "CreateLease")


@dataclass(frozen=True)
class Milestone:
    kind: str  # page_load | slot_click | create_booking | update_booking
    title: str
    window: int  # requests per window
    min_without_errors: float  # share of the window without errors
    min_without_failures: float  # share of the window without errors or failures


MILESTONES = (
    Milestone("page_load", "BatchAvailabilityLookup page load", 20, 0.90, 0.0),
    Milestone("slot_click", "BatchAvailabilityLookup slot click", 20, 1.00, 0.95),
    Milestone("create_booking", "CreateBooking", 10, 0.90, 0.90),
    Milestone("update_booking", "UpdateBooking", 10, 0.90, 0.90),
)

#: A milestone holds when at least this share of its sliding windows meets it (our choice: Google looks
#: at "the last 20" whenever it looks, so we ask that it would have seen them met 19 times out of 20).
MILESTONE_WINDOW_SHARE = 0.95


def budget_ms(method: str) -> float | None:
    t = THRESHOLDS.get(method)
    return t.latency_budget_ms if t else None
