"""Checks of virtual sessions (``scenarios/payments.yaml``, virtual/*; spec §3.13.1, D50): the session URL's
shape, and the same session every time the booking is shown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from harness.checks.core import CheckContext, Verdict, booking_id, check, is_booking, verdict
from harness.normalize import dig


def session_of(data: Any, key: str = "booking") -> dict[str, Any]:
    got = dig(data if isinstance(data, dict) else {}, f"{key}.virtual_session_info")
    return got if isinstance(got, dict) else {}


@check("virtual-session", rules=("virtual/session-info-shape",))
def virtual_session(ctx: CheckContext) -> Iterable[Verdict]:
    """D50: absent virtual_session_info is info (deprecated add-on; the link may come by email); present,
    its session_url is an absolute http(s) URL."""
    for r in ctx.replies:
        if not is_booking(r):
            continue
        info = session_of(r.data)
        url = str(info.get("session_url") or "")
        parts = urlsplit(url)
        ok = not info or not url or (parts.scheme in ("http", "https") and bool(parts.netloc))
        note = "" if info else " (info: no virtual_session_info; the link may come by email)"
        yield verdict(
            "virtual/session-info-shape",
            ok,
            "the online booking's session_url is an absolute http(s) URL" + note,
            expected="virtual_session_info.session_url like https://host/path",
            actual=None if ok else f"session_url {url!r}",
            evidence=[r],
        )


@check("virtual-stable", rules=("virtual/stable-on-replay",))
def virtual_stable(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D50: the replay (or the ListBookings entry) shows the same virtual_session_info as ``step``."""
    first = ctx.earlier(step)
    want, bid = session_of(first.data), booking_id(first)
    for r in ctx.replies:
        if "bookings" in r.data:
            entries = [b for b in r.data.get("bookings") or [] if isinstance(b, dict)]
            mine = [b for b in entries if b.get("booking_id") == bid]
            if not mine:
                continue
            have = mine[0].get("virtual_session_info") or {}
        elif is_booking(r):
            have = session_of(r.data)
        else:
            continue
        yield verdict(
            "virtual/stable-on-replay",
            have == want,
            "the booking's virtual session is the same every time it is shown",
            expected=f"virtual_session_info {want}",
            actual=None if have == want else f"virtual_session_info {have}",
            evidence=[first, r],
            related=(step,),
        )
