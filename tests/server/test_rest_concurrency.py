"""Capacity is never exceeded, whatever the concurrency (issue 2 "done when")."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from srvhelpers import BASE, H, Serve, slot, user


def _three_spot_feed(tmp_path: Path) -> str:
    doc = {
        "service_availability": [
            {
                "availability": [
                    {
                        "merchant_id": "m1",
                        "service_id": "s1",
                        "start_sec": BASE,
                        "duration_sec": H,
                        "spots_total": 3,
                        "spots_open": 3,
                    }
                ]
            }
        ]
    }
    p = tmp_path / "three.json"
    p.write_text(json.dumps(doc))
    return str(p)


async def _post_all(url: str, bodies: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(body: dict[str, Any]) -> tuple[int, Any]:
            async with session.post(url, json=body) as resp:
                return resp.status, await resp.json()

        return await asyncio.gather(*(one(b) for b in bodies))


def _create(i: int, token: str | None = None) -> dict[str, Any]:
    return {"slot": slot(), "user_information": user(f"user-{i}"), "idempotency_token": token or f"tok-{i}"}


def test_32_concurrent_creates_on_3_spots(serve: Serve, tmp_path: Path) -> None:
    server, c = serve(feed=_three_spot_feed(tmp_path))
    url = server.rest_url + "/v3/CreateBooking"
    results = asyncio.run(_post_all(url, [_create(i) for i in range(32)]))
    assert all(status == 200 for status, _ in results)
    booked = [body["booking"] for _, body in results if "booking" in body]
    failed = [body["booking_failure"]["cause"] for _, body in results if "booking_failure" in body]
    assert len(booked) == 3 and len({b["booking_id"] for b in booked}) == 3
    assert failed == ["SLOT_UNAVAILABLE"] * 29
    winner = booked[0]
    i = int(winner["user_information"]["user_id"].split("-")[1])
    replay = c.call("CreateBooking", _create(i))
    assert replay.status == 200 and replay.body["booking"] == winner
    count = c.call("CheckAvailability", {"slot": slot()}).body["count_available"]
    assert count == 0


def test_concurrent_replays_of_one_token_make_one_booking(serve: Serve, tmp_path: Path) -> None:
    server, c = serve(feed=_three_spot_feed(tmp_path))
    url = server.rest_url + "/v3/CreateBooking"
    results = asyncio.run(_post_all(url, [_create(0, "same") for _ in range(16)]))
    ids = {body["booking"]["booking_id"] for status, body in results if status == 200}
    assert len(ids) == 1
    assert c.call("CheckAvailability", {"slot": slot()}).body["count_available"] == 2


def test_concurrent_cancels_and_creates_keep_capacity(serve: Serve, tmp_path: Path) -> None:
    server, c = serve(feed=_three_spot_feed(tmp_path))
    base = server.rest_url + "/v3/"
    first = [c.call("CreateBooking", _create(i)).body["booking"]["booking_id"] for i in range(3)]

    async def mixed() -> list[tuple[int, Any]]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

            async def post(method: str, body: dict[str, Any]) -> tuple[int, Any]:
                async with session.post(base + method, json=body) as resp:
                    return resp.status, await resp.json()

            jobs = [
                post("UpdateBooking", {"booking": {"booking_id": b, "status": "CANCELED"}}) for b in first
            ]
            jobs += [post("CreateBooking", _create(100 + i)) for i in range(20)]
            return await asyncio.gather(*jobs)

    results = asyncio.run(mixed())
    assert all(status == 200 for status, _ in results)
    live = [b for _, body in results[3:] if (b := body.get("booking"))]
    assert len(live) <= 3
    assert c.call("CheckAvailability", {"slot": slot()}).body["count_available"] == 3 - len(live)
