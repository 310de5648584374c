"""Helpers of the server room's tests (imported by conftest and the test modules)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.server import RunningServer

#: Slot starts are relative to real "now", rounded, one and two days ahead.
BASE = (int(time.time()) // 3600 + 24) * 3600
H = 3600


def feed_doc() -> dict[str, Any]:
    """m1: s1 (cap 2 at BASE, cap 1 at BASE+H, cap 3 at BASE+2H), dining party sizes, an async slot."""
    av = [
        {
            "merchant_id": "m1",
            "service_id": "s1",
            "start_sec": BASE,
            "duration_sec": H,
            "spots_total": 2,
            "spots_open": 2,
            "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
        },
        {
            "merchant_id": "m1",
            "service_id": "s1",
            "start_sec": str(BASE + H),
            "duration_sec": str(H),
            "spots_total": 1,
            "spots_open": 1,
        },
        {
            "merchant_id": "m1",
            "service_id": "s1",
            "start_sec": BASE + 2 * H,
            "duration_sec": H,
            "spots_total": 3,
            "spots_open": 3,
            "availability_tag": "tag3",
            "resources": {"staff_id": "st1"},
        },
        {
            "merchant_id": "m1",
            "service_id": "dine",
            "start_sec": BASE,
            "duration_sec": 5400,
            "spots_total": 1,
            "spots_open": 1,
            "resources": {"party_size": 2},
        },
        {
            "merchant_id": "m1",
            "service_id": "dine",
            "start_sec": BASE,
            "duration_sec": 5400,
            "spots_total": 1,
            "spots_open": 1,
            "resources": {"party_size": 4},
        },
        {
            "merchant_id": "m1",
            "service_id": "async",
            "start_sec": BASE,
            "duration_sec": H,
            "spots_total": 1,
            "spots_open": 1,
            "confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS",
        },
        {
            "merchant_id": "m2",
            "service_id": "s9",
            "start_sec": BASE,
            "duration_sec": H,
            "spots_total": 5,
            "spots_open": 5,
        },
    ]
    return {
        "metadata": {"processing_instruction": "PROCESS_AS_COMPLETE"},
        "service_availability": [{"availability": av}],
    }


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    raw: bytes


class Client:
    """A minimal synchronous client (urllib): real HTTP, no library magic."""

    def __init__(
        self, base: str, user: str | None = None, password: str | None = None, context: Any = None
    ) -> None:
        self.base, self.context = base, context
        self.auth = (
            None if user is None else "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        )

    def request(
        self,
        path: str,
        body: Any = None,
        *,
        verb: str = "POST",
        raw: bytes | None = None,
        auth: str | None | bool = True,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=verb)
        req.add_header("Content-Type", "application/json")
        if auth is True and self.auth:
            req.add_header("Authorization", self.auth)
        elif isinstance(auth, str):
            req.add_header("Authorization", auth)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as resp:
                status, hdrs, payload = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, hdrs, payload = err.code, dict(err.headers), err.read()
        try:
            parsed: Any = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return Reply(status, parsed, hdrs, payload)

    def call(self, method: str, body: Any) -> Reply:
        return self.request(f"/v3/{method}", body)


Serve = Callable[..., tuple[RunningServer, Client]]


def user(uid: str = "u1") -> dict[str, Any]:
    return {
        "user_id": uid,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "telephone": "+1 415-736-0000",
        "email": "ada@example.com",
    }


def slot(
    service: str = "s1", start: int = BASE, duration: int = H, merchant: str = "m1", **extra: Any
) -> dict[str, Any]:
    return {
        "merchant_id": merchant,
        "service_id": service,
        "start_sec": str(start),
        "duration_sec": str(duration),
        **extra,
    }


def create(c: Client, token: str, uid: str = "u1", **slot_kw: Any) -> Reply:
    return c.call(
        "CreateBooking", {"slot": slot(**slot_kw), "user_information": user(uid), "idempotency_token": token}
    )


def available(c: Client, start: int = BASE, service: str = "s1", **extra: Any) -> bool:
    r = c.call(
        "BatchAvailabilityLookup",
        {"merchant_id": "m1", "slot_time": [{"service_id": service, "start_sec": str(start), **extra}]},
    )
    assert r.status == 200, r.body
    return bool(r.body["slot_time_availability"][0].get("available", False))
