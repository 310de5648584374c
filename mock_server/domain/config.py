"""The behaviour switches of the booking domain (each maps to a ``bookcheck serve`` option)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from booking_protocol.commerce import Catalogue


@dataclass(frozen=True, slots=True)
class DomainConfig:
    """The behaviour switches of the domain (each maps to a ``bookcheck serve`` option)."""

    lease_ttl_sec: int = 600
    cancel_cutoff_sec: int = 0
    async_confirm_after_sec: float = 5.0
    async_outcome: Literal["confirmed", "declined"] = "confirmed"
    list_bookings: Literal["all", "active"] = "all"
    recancel: Literal["failure", "echo"] = "failure"
    invalid_slot: Literal["unavailable", "400"] = "unavailable"
    same_user_rebook: Literal["reject", "allow", "overlapping"] = "reject"
    #: D24: a used token with another slot, user or party size: its booking (column 2) or 400 (column 3)
    token_reuse: Literal["replay", "refuse"] = "replay"
    #: D26: a token resent after its booking changed: the booking as it is now (column 2) or as first made
    replay_state: Literal["current", "original"] = "current"
    #: the feeds' money terms, offers and online services (§3.12, §3.13); None or empty: payment information
    #: is echoed and nothing is charged, offers are echoed, no virtual sessions (the behaviour before D32)
    catalogue: Catalogue | None = None
    #: D40: refund on cancelling a prepaid booking per the services feed, always in full, or never
    refund_policy: Literal["feed", "full", "none"] = "feed"
