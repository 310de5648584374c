"""The application layer: one interceptor chain wraps every method (the hook for fault profiles)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from srvhelpers import Serve, create, slot

from mock_server.app import AppError, ErrorCode, Handler


def test_interceptors_wrap_every_method_in_order(serve: Serve) -> None:
    server, c = serve()
    seen: list[str] = []

    async def outer(method: str, request: Any, call_next: Handler) -> Any:
        seen.append(f"outer:{method}")
        return await call_next(request)

    async def inner(method: str, request: Any, call_next: Handler) -> Any:
        seen.append(f"inner:{method}")
        await asyncio.sleep(0)
        return await call_next(request)

    server.app.add_interceptor(outer)
    server.app.add_interceptor(inner)
    assert c.request("/v3/HealthCheck", verb="GET").status == 200
    assert create(c, "a").body["booking"]
    assert seen == ["outer:HealthCheck", "inner:HealthCheck", "outer:CreateBooking", "inner:CreateBooking"]


def test_an_interceptor_can_fail_a_call_without_touching_state(serve: Serve) -> None:
    server, c = serve()

    async def unavailable(method: str, request: Any, call_next: Handler) -> Any:
        if method == "CreateBooking":
            raise AppError(ErrorCode.UNAVAILABLE, "injected")
        return await call_next(request)

    server.app.add_interceptor(unavailable)
    r = create(c, "a")
    assert r.status == 503 and r.body == {
        "error": {"code": 503, "status": "UNAVAILABLE", "message": "injected"}
    }
    assert c.call("CheckAvailability", {"slot": slot()}).body["count_available"] == 2


def test_unknown_method_is_unimplemented_in_the_app(serve: Serve) -> None:
    server, _ = serve()
    with pytest.raises(AppError) as err:
        server.app.call_direct("CreateOrder", None)
    assert err.value.code is ErrorCode.UNIMPLEMENTED and err.value.http == 501
