"""Connection limits of the REST listener (issue 16): how many, how idle, how slow their headers.

aiohttp gives part of it: ``keepalive_timeout`` closes a connection that waits for a request (before the
first one and between two) longer than the idle timeout. What it lacks is added here, by the two classes
aiohttp lets a runner choose:

- :class:`LimitedServer` counts open connections and answers one over ``max_connections`` with a 503 D16
  body before closing it, so a flood of sockets cannot exhaust file descriptors or memory;
- :class:`GuardedHandler` starts a clock at a request's first byte and closes the connection when its
  headers are not complete within ``header_timeout_sec`` (slowloris), even while bytes keep trickling in.

:class:`LimitedRunner` is the ``web.AppRunner`` that builds them; it also turns aiohttp's own body
inflation off (see :mod:`.body`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from mock_server.app import TransportLimits


def _busy_reply(limit: int) -> bytes:
    body = orjson.dumps(
        {
            "error": {
                "code": 503,
                "status": "UNAVAILABLE",
                "message": f"too many open connections (limit {limit})",
            }
        }
    )
    head = (
        f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler plus a deadline on incomplete request headers."""

    def __init__(self, manager: LimitedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = manager.limits.header_timeout_sec
        self._header_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        waiting = self._header_timer is None and not self._request_in_progress and not self._messages
        super().data_received(data)
        if self._messages or self._request_in_progress:
            self._cancel_header_timer()
        elif waiting and data:
            self._header_timer = self._loop.call_later(self._header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        """Headers still incomplete: drop the connection (there is no request yet to answer)."""
        self._header_timer = None
        if not self._messages and not self._request_in_progress:
            self.force_close()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)


class LimitedServer(web.Server):
    """``web.Server`` with a bound on open connections and :class:`GuardedHandler` connections."""

    def __init__(self, *args: Any, limits: TransportLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.refused = 0

    def __call__(self) -> RequestHandler:
        return GuardedHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self._connections) > self.limits.max_connections:
            self.refused += 1
            transport.write(_busy_reply(self.limits.max_connections))
            handler.force_close()
            transport.close()


class LimitedRunner(web.AppRunner):
    """``web.AppRunner`` whose server is a :class:`LimitedServer` with the idle timeout of ``limits``."""

    def __init__(self, app: web.Application, limits: TransportLimits, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=limits.idle_timeout_sec, auto_decompress=False, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app and collects aiohttp's handler arguments
        return LimitedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            limits=self._limits,
            **plain._kwargs,
        )
