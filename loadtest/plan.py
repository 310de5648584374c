"""The plan of one load run: everything the Locust master and its workers need, as plain JSON-able data.

``bookcheck load`` builds it once (target, credentials, feed, profile and mix come through
:mod:`harness.prepare`); the master process reads it from its stdin (credentials never touch the disk) and
hands the worker part to every worker over Locust's own channel. A worker therefore needs nothing but the
master's address.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from booking_protocol.feed import FeedSlot

#: Most slots a plan carries to the workers: enough to spread load, small enough for one message.
MAX_PLAN_SLOTS = 20_000


@dataclass(frozen=True)
class LoadPlan:
    target: str
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0
    trailing_slash: bool = False
    insecure: bool = False
    ca_file: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    slots: tuple[FeedSlot, ...] = ()
    mix: dict[str, Any] = field(default_factory=dict)
    nonce: str = "0"
    seed: int = 0
    users: int = 10
    spawn_rate: float = 10.0
    duration: float = 60.0
    rps: float | None = None
    workers: int = 1
    master_bind_host: str = "127.0.0.1"
    master_bind_port: int = 5557
    expect_workers_timeout: float = 60.0
    web: bool = False
    web_port: int = 8089
    results_path: str = ""
    quiet: bool = False

    def worker_part(self) -> dict[str, Any]:
        """What workers receive: no result path, no master settings."""
        d = self.to_json()
        for k in ("results_path", "master_bind_host", "master_bind_port", "web", "web_port"):
            d.pop(k, None)
        return d

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["slots"] = [dataclasses.astuple(s) for s in self.slots]
        return d

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LoadPlan:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in doc.items() if k in names}
        values["slots"] = tuple(FeedSlot(*row) for row in doc.get("slots", ()))
        return cls(**values)

    def basic_auth(self) -> str | None:
        """The Authorization header value of the target's credentials (None without credentials)."""
        if self.user is None or self.password is None:
            return None
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def claims(self, capability: str) -> bool:
        """The target profile's claim (``bal``, ``check_availability``, ``leases``, ...)."""
        availability = self.profile.get("availability", "bal")
        if capability == "bal":
            return bool(availability in ("bal", "both"))
        if capability == "check_availability":
            return bool(availability == "check")
        defaults = {"get_booking_status": True, "list_bookings": True}
        return bool(self.profile.get(capability, defaults.get(capability, False)))
