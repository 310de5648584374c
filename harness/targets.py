"""Targets: how the harness talks to a booking server. One method matters: :meth:`Target.call`.

``call(operation, body)`` sends one request and returns a :class:`Reply`: the recorded
:class:`~harness.results.Exchange` (credentials redacted) plus the response body normalised by
:mod:`harness.normalize`, and an HTTP-equivalent status (gRPC codes are mapped with the §11 table), so checks
see the same shapes whatever the transport.

Transport errors (refused connection, reset, timeout) never raise: they come back as a Reply with
``status=None`` and ``exchange.error`` set. Only :meth:`Target.preflight` raises
:class:`TargetUnreachable`, for the exit code 3 of a target that cannot be reached at all.
"""

from __future__ import annotations

import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from booking_protocol.errors import TargetUnreachable
from harness.evidence import redact_headers, redact_url
from harness.normalize import normalize
from harness.results import GRPC_TO_HTTP, Exchange, HttpMessage
from harness.target_base import (
    GRPC_SERVICE,
    OPERATIONS,
    WRONG_CREDENTIALS,
    Credentials,
    Reply,
    Target,
    TargetOptions,
    auth_header,
    response_message,
    transport_hint,
)


def make_target(opts: TargetOptions) -> Target:
    scheme = urlsplit(opts.url).scheme.lower()
    if scheme in ("http", "https"):
        return RestTarget(opts)
    if scheme in ("grpc", "grpcs"):
        from harness.grpc_target import GrpcTarget

        return GrpcTarget(opts)
    raise ValueError(f"--target {opts.url!r}: the scheme must be http, https, grpc or grpcs")


class RestTarget:
    """REST/JSON over aiohttp: ``GET {base}/v3/HealthCheck``, ``POST {base}/v3/<Operation>``."""

    transport = "rest"

    def __init__(self, opts: TargetOptions) -> None:
        self.opts = opts
        self.base = opts.url.rstrip("/")
        self.url = redact_url(self.base)
        self._session: Any = None
        self._ssl: Any = None
        if self.base.lower().startswith("https"):
            if opts.insecure:
                self._ssl = False
            else:
                self._ssl = ssl.create_default_context(cafile=opts.ca_file)

    async def _get_session(self) -> Any:
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(
                limit=self.opts.max_connections, ssl=self._ssl, enable_cleanup_closed=False
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, skip_auto_headers=("User-Agent",)
            )
        return self._session

    def url_for(self, operation: str, path: str | None = None) -> str:
        if path is not None:
            return self.base + path
        return f"{self.base}/v3/{operation}" + ("/" if self.opts.trailing_slash else "")

    async def call(
        self,
        operation: str,
        body: Any = None,
        *,
        auth: str = "default",
        raw: bytes | None = None,
        path: str | None = None,
        timeout: float | None = None,
    ) -> Reply:
        import aiohttp

        session = await self._get_session()
        url = self.url_for(operation, path)
        method = "GET" if operation == "HealthCheck" and raw is None and body is None else "POST"
        headers: dict[str, str] = {"User-Agent": "bookcheck"}
        if method == "POST":
            headers["Content-Type"] = "application/json"
        authz = auth_header(self.opts, auth)
        if authz:
            headers["Authorization"] = authz
        data: bytes | None = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        recorded_body: Any = body if raw is None else raw.decode("utf-8", "replace")
        request = HttpMessage(
            headers=redact_headers(headers, auth_mode=auth),
            body=recorded_body,
            method=method,
            url=redact_url(url),
        )
        t0 = time.perf_counter()
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout or self.opts.timeout),
            ) as resp:
                payload = await resp.read()
                elapsed = (time.perf_counter() - t0) * 1000.0
                status = resp.status
                reason = resp.reason or ""
                ctype = resp.headers.get("Content-Type", "")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            elapsed = (time.perf_counter() - t0) * 1000.0
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ex = Exchange(
                operation=operation,
                transport="rest",
                request=request,
                response=None,
                elapsed_ms=elapsed,
                error=text,
            )
            return Reply(exchange=ex, status=None, body=None, raw=None, is_json=False)
        is_json = False
        decoded: Any
        try:
            decoded = orjson.loads(payload) if payload else None
            is_json = payload != b""
        except orjson.JSONDecodeError:
            decoded = payload.decode("utf-8", "replace")[:2000]
        response = HttpMessage(
            headers={"Content-Type": ctype} if ctype else {}, body=decoded, status=status, status_text=reason
        )
        ex = Exchange(
            operation=operation, transport="rest", request=request, response=response, elapsed_ms=elapsed
        )
        norm = (
            normalize(decoded, response_message(operation))
            if (is_json and operation != "HealthCheck" and operation in OPERATIONS)
            else decoded
        )
        return Reply(exchange=ex, status=status, body=norm, raw=decoded, is_json=is_json, content_type=ctype)

    async def preflight(self) -> None:
        reply = await self.call("HealthCheck", auth="default")
        if reply.status is None:
            err = reply.exchange.error or "no response"
            if "Timeout" in err:
                return  # it accepted the connection: a slow server is a deviation, not "unreachable"
            hint = transport_hint(self.url, err)
            raise TargetUnreachable(f"cannot reach {self.url}: {err.splitlines()[0][:200]}\n  hint: {hint}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = [
    "GRPC_SERVICE",
    "GRPC_TO_HTTP",
    "OPERATIONS",
    "WRONG_CREDENTIALS",
    "Credentials",
    "Reply",
    "RestTarget",
    "Target",
    "TargetOptions",
    "TargetUnreachable",
    "make_target",
    "response_message",
]
