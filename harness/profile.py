"""Target profile: what the server under test claims to serve.

Unclaimed capabilities are skipped with the reason, never failed.

YAML form (``--profile FILE``; flags override it)::

    transports: [rest]              # rest and/or grpc
    availability: bal               # bal | check (as the Partner Portal tool asks: one of the two) | both
    leases: false                   # CreateLease (eligibility through Google)
    get_booking_status: true
    list_bookings: true
    party_size_change: false        # UpdateBooking of resources.party_size (dining)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from booking_protocol.errors import UsageError

KEYS = ("transports", "availability", "leases", "get_booking_status", "list_bookings", "party_size_change")

#: What bookcheck assumes of every target's clock: before it expects LEASE_EXPIRED it waits this long past
#: a lease's expiry (``run``'s lease-expiry scenario, ``explore``'s waits). A correct server may compare
#: whole seconds (a lease expiring at T is live until T + 1) and run a little behind bookcheck's clock;
#: without the margin it would be blamed for honouring an expired lease.
LEASE_EXPIRY_MARGIN_SEC = 1.5


class ProfileError(UsageError, ValueError):
    """A profile file that cannot be used (exit code 2)."""


@dataclass(frozen=True)
class TargetProfile:
    transports: tuple[str, ...] = ("rest",)
    availability: str = "bal"
    leases: bool = False
    get_booking_status: bool = True
    list_bookings: bool = True
    party_size_change: bool = False

    def claims(self, capability: str) -> bool:
        if capability == "bal":
            return self.availability in ("bal", "both")
        if capability == "check_availability":
            return self.availability in ("check", "both")
        return bool(getattr(self, capability))

    def unclaimed_reason(self, capability: str) -> str:
        if capability in ("bal", "check_availability"):
            return (
                f"the target profile uses {self.availability} for availability "
                f"(--availability {'bal' if capability == 'bal' else 'check'} to test this)"
            )
        flag = capability.replace("_", "-")
        return f"the target profile does not claim {capability} (--{flag} to test it)"

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in KEYS}


def parse_profile(doc: Any, source: str, base: TargetProfile | None = None) -> TargetProfile:
    base = base or TargetProfile()
    if doc is None:
        return base
    if not isinstance(doc, dict):
        raise ProfileError(f"{source}: a profile must be a mapping of {', '.join(KEYS)}")
    unknown = sorted(set(doc) - set(KEYS))
    if unknown:
        raise ProfileError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    changes: dict[str, Any] = {}
    if "transports" in doc:
        t = doc["transports"]
        if isinstance(t, str):
            t = [t]
        if not isinstance(t, list) or not t or any(x not in ("rest", "grpc") for x in t):
            raise ProfileError(f"{source}: transports must be a list of 'rest' and/or 'grpc'")
        changes["transports"] = tuple(t)
    if "availability" in doc:
        if doc["availability"] not in ("bal", "check", "both"):
            raise ProfileError(
                f"{source}: availability must be 'bal', 'check' or 'both', got {doc['availability']!r}"
            )
        changes["availability"] = doc["availability"]
    for k in ("leases", "get_booking_status", "list_bookings", "party_size_change"):
        if k in doc:
            if not isinstance(doc[k], bool):
                raise ProfileError(f"{source}: {k} must be true or false, got {doc[k]!r}")
            changes[k] = doc[k]
    return replace(base, **changes)


def load_profile(path: str | Path) -> TargetProfile:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{p}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_profile(doc, str(p))
