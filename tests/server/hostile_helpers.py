"""Helpers of the hostile-input tests (issue 16): pinned feed and clock, raw sockets, a state fingerprint."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

from mock_server.datagen import generate_availability_feed
from mock_server.domain import BookingService, FakeClock

#: the generated feed starts on this day; the server's clock stands a day earlier
FEED_START = dt.date(2031, 1, 6)
NOW = dt.datetime(2031, 1, 5, tzinfo=dt.UTC).timestamp()


def write_pinned_feed(path: Path, *, merchants: int = 3, days: int = 2) -> dict[str, Any]:
    """A small generated feed starting on :data:`FEED_START`; returns the document."""
    doc = generate_availability_feed(seed=16, merchants=merchants, days=days, start=FEED_START)
    path.write_text(json.dumps(doc))
    return doc


def pinned_clock() -> FakeClock:
    return FakeClock(NOW)


def first_records(doc: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The first ``count`` availability records with at least one open spot."""
    out = []
    for group in doc["service_availability"]:
        for record in group["availability"]:
            if int(record.get("spots_open", 0)) > 0:
                out.append(record)
                if len(out) == count:
                    return out
    return out


def slot_of(record: dict[str, Any]) -> dict[str, Any]:
    """The Slot JSON of a feed record (merchant, service, start, duration and resources)."""
    out = {k: record[k] for k in ("merchant_id", "service_id", "start_sec", "duration_sec")}
    resources = {
        k: v for k, v in (record.get("resources") or {}).items() if k in ("staff_id", "room_id", "party_size")
    }
    if resources:
        out["resources"] = resources
    return out


def fingerprint(service: BookingService) -> Any:
    """Everything a request could change: bookings, tokens, users, leases and every slot's open spots.

    Read under the service's lock, so it is a consistent picture even while the server runs in its
    thread."""
    with service._lock:
        s = service._s
        bookings = sorted(
            (b.booking_id, b.status.name, id(b.slot), repr(b.payment)) for b in s.bookings.values()
        )
        leases = sorted((lease.lease_id, lease.expires_sec, lease.used_by) for lease in s.leases.values())
        spots = [
            slot.spots_open
            for by_start in service.inventory._services.values()
            for entry in by_start.values()
            for slot in (entry if isinstance(entry, list) else [entry])
        ]
        return bookings, sorted(s.by_token), sorted(s.by_user), leases, sorted(s.leases_by_ref), spots


def host_port(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    return host, int(port)


def read_all(sock: socket.socket, limit_sec: float = 10.0) -> bytes:
    """Everything the server sends until it closes (or ``limit_sec`` passes: then what came so far)."""
    sock.settimeout(limit_sec)
    out = b""
    try:
        while data := sock.recv(65536):
            out += data
    except (TimeoutError, ConnectionResetError):
        pass
    return out


def read_reply(sock: socket.socket, limit_sec: float = 10.0) -> bytes:
    """One HTTP response (headers and a Content-Length body), without waiting for the connection to close."""
    sock.settimeout(limit_sec)
    out = b""
    while b"\r\n\r\n" not in out:
        data = sock.recv(65536)
        if not data:
            return out
        out += data
    head, _, body = out.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        data = sock.recv(65536)
        if not data:
            break
        body += data
    return head + b"\r\n\r\n" + body


def closed_by_server(sock: socket.socket, line: bytes, tries: int = 50) -> bool:
    """Send ``line`` every 0.1 s until the server closes the connection (True) or ``tries`` run out."""
    sock.settimeout(0.1)
    for _ in range(tries):
        try:
            sock.sendall(line)
            if sock.recv(1) == b"":
                return True
        except TimeoutError:
            continue  # nothing to read: still open
        except OSError:
            return True  # reset
    return False
