"""Faults that only exist on the HTTP wire, as one aiohttp middleware (:func:`make_middleware`).

They change what the REST adapter receives (credentials, bodies) or what it sends (status, content type,
the JSON shape of an answer). gRPC has no such layer in front of the shared application — its credentials
check is a gRPC interceptor, and protobuf cannot carry a malformed body or a missing list entry the way JSON
can — so these profiles are marked REST-only in the registry.

The middleware also serves every request inside :data:`~.base.REST_REQUEST` and :data:`~.base.DROP`, so
application-layer faults (``drop``, ``hang``) can close the connection or notice a client that went away.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import orjson
from aiohttp import web
from multidict import CIMultiDict

from mock_server.rest.handlers import ROUTES, error_response

from .base import DROP, REST_REQUEST, DropBox, Fault, FaultPlan, profile
from .spec import FaultSpecError

_METHOD_BY_LOWER = {name: route.method for name, route in ROUTES.items()} | {"healthcheck": "HealthCheck"}


def method_of(path: str) -> str | None:
    """The served method a path names (D2: case-insensitive, trailing slash allowed), else None."""
    p = path.rstrip("/").lower()
    return _METHOD_BY_LOWER.get(p[4:]) if p.startswith("/v3/") else None


def _json(response: Any) -> Any:
    body = getattr(response, "body", None)
    if not isinstance(body, (bytes, bytearray)) or not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _set_json(response: Any, data: Any) -> Any:
    response.body = orjson.dumps(data)
    return response


def make_middleware(plan: FaultPlan) -> Callable[..., Awaitable[web.StreamResponse]]:
    faults = [f for f in plan.faults if f.rest_level]

    @web.middleware
    async def fault_middleware(request: web.Request, handler: Callable[..., Awaitable[Any]]) -> Any:
        box = DropBox()
        drop_token = DROP.set(box)
        request_token = REST_REQUEST.set(request)
        try:
            method = method_of(request.path)
            response: Any = None
            for fault in faults:
                if fault.applies_rest(method):
                    outcome = await fault.rest_before(request)
                    if isinstance(outcome, web.StreamResponse):
                        response = outcome
                        break
                    request = outcome
            if response is None:
                response = await handler(request)
            for fault in reversed(faults):
                if fault.applies_rest(method):
                    response = await fault.rest_after(request, method, response)
            if box.drop:
                _abort(request)
            return response
        finally:
            REST_REQUEST.reset(request_token)
            DROP.reset(drop_token)

    return fault_middleware


FaultPlan.use_rest_middleware(make_middleware)


def _abort(request: web.Request) -> None:
    """Close the TCP connection at once, without an answer (what the client sees as a dropped connection)."""
    transport = request.transport
    if transport is not None:
        transport.abort()


class RestFault(Fault):
    """A fault of the REST adapter only (no application-layer interceptor)."""

    app_level = False
    rest_level = True
    transports: ClassVar[tuple[str, ...]] = ("rest",)


# ==========================================================================================================
# Credentials
# ==========================================================================================================


@profile
class NoAuth(RestFault):
    name = "no-auth"
    transports = ("rest", "grpc")  # over gRPC: mock_server.faults.grpc_hooks.CredentialFaults
    summary = (
        "requests are served without checking HTTP Basic credentials: missing and wrong ones are "
        "accepted (no-auth=missing: only missing ones; no-auth=wrong: only wrong ones)"
    )
    args_help = "[all|missing|wrong] (default all)"
    accept = "all"

    def configure(self, args: str) -> None:
        self.accept = args.strip().lower() or "all"
        if self.accept not in ("all", "missing", "wrong"):
            raise FaultSpecError(f"{self.where()}: use no-auth, no-auth=missing or no-auth=wrong")

    def credentials(self) -> str | None:
        if self.plan.user is None and self.plan.password is None:
            return None
        raw = f"{self.plan.user or ''}:{self.plan.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def wants_fix(self, header: str | None) -> bool:
        if self.accept == "all":
            return True
        return (header is None) == (self.accept == "missing")

    async def rest_before(self, request: Any) -> Any:
        good = self.credentials()
        header = request.headers.get("Authorization")
        if good is None or header == good or not self.wants_fix(header):
            return request
        headers = CIMultiDict(request.headers)
        headers["Authorization"] = good
        return request.clone(headers=headers)


@profile
class HealthUnprotected(NoAuth):
    name = "health-unprotected"
    summary = "HealthCheck is served without credentials (every other method still requires them)"
    args_help = ""
    default_methods = frozenset({"HealthCheck"})

    def configure(self, args: str) -> None:
        RestFault.configure(self, args)
        self.accept = "all"


@profile
class Auth403(RestFault):
    name = "auth-403"
    summary = "missing or wrong credentials are refused with 403 Forbidden instead of 401"

    async def rest_after(self, request: Any, method: str | None, response: Any) -> Any:
        if response.status == 401:
            return error_response(403, "PERMISSION_DENIED", "forbidden (--fault auth-403)")
        return response


# ==========================================================================================================
# Request bodies and routing
# ==========================================================================================================


class _BodyFault(RestFault):
    async def body(self, request: Any) -> tuple[bool, Any]:
        """(parsed, value) of a POST body: parsed is False for a body that is not JSON."""
        raw = await request.read()
        if not raw.strip():
            return True, {}
        try:
            return True, orjson.loads(raw)
        except orjson.JSONDecodeError:
            return False, None


@profile
class Malformed500(_BodyFault):
    name = "malformed-500"
    summary = "a request body that is not valid JSON is answered 500 instead of 400"

    async def rest_before(self, request: Any) -> Any:
        if request.method == "POST" and method_of(request.path) not in (None, "HealthCheck"):
            parsed, _ = await self.body(request)
            if not parsed:
                return error_response(500, "INTERNAL", "internal error: JSON parser crashed")
        return request


@profile
class WrongType500(_BodyFault):
    name = "wrong-type-500"
    summary = "a JSON body that is not an object (e.g. a list) is answered 500 instead of 400"

    async def rest_before(self, request: Any) -> Any:
        if request.method == "POST" and method_of(request.path) not in (None, "HealthCheck"):
            parsed, value = await self.body(request)
            if parsed and not isinstance(value, dict):
                return error_response(500, "INTERNAL", "internal error: body is not an object")
        return request


@profile
class Int64Strings400(_BodyFault):
    name = "int64-strings-400"
    summary = 'int64 fields sent as JSON strings ("start_sec": "1700000000") are refused with 400'

    async def rest_before(self, request: Any) -> Any:
        if request.method == "POST" and method_of(request.path) not in (None, "HealthCheck"):
            parsed, value = await self.body(request)
            if parsed and _has_numeric_string(value):
                return error_response(400, "INVALID_ARGUMENT", "start_sec: must be a number")
        return request


_INT64_FIELDS = frozenset(
    {
        "start_sec",
        "duration_sec",
        "startSec",
        "durationSec",
        "lease_expiration_time_sec",
        "leaseExpirationTimeSec",
    }
)


def _has_numeric_string(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            (k in _INT64_FIELDS and isinstance(v, str)) or _has_numeric_string(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_numeric_string(v) for v in value)
    return False


@profile
class UnknownMethod200(RestFault):
    name = "unknown-method-200"
    summary = "a request to a method that does not exist is answered 200 with an empty JSON object"

    async def rest_after(self, request: Any, method: str | None, response: Any) -> Any:
        if method is None and response.status in (404, 501):
            return web.Response(body=b"{}", content_type="application/json")
        return response


# ==========================================================================================================
# Response shapes
# ==========================================================================================================


@profile
class Int64NotNumeric(RestFault):
    name = "int64-not-numeric"
    summary = (
        'CreateBooking answers the booking\'s slot duration_sec as a string that is no number ("an hour")'
    )
    default_methods = frozenset({"CreateBooking"})

    async def rest_after(self, request: Any, method: str | None, response: Any) -> Any:
        data = _json(response)
        booking = data.get("booking") if isinstance(data, dict) and response.status == 200 else None
        slot = booking.get("slot") if isinstance(booking, dict) else None
        if not isinstance(slot, dict):
            return response
        slot["durationSec" if "durationSec" in slot else "duration_sec"] = "an hour"
        return _set_json(response, data)


@profile
class ContentTypeText(RestFault):
    name = "content-type-text"
    summary = "successful POST answers declare Content-Type text/plain (the body is still JSON)"

    async def rest_after(self, request: Any, method: str | None, response: Any) -> Any:
        if request.method == "POST" and response.status == 200 and isinstance(response, web.Response):
            response.content_type = "text/plain"
        return response


class AnswerRewrite(_BodyFault):
    """Rewrites the answer's JSON form (proto field names): over REST in the middleware, over gRPC in the
    interceptor of :mod:`.grpc_hooks` (message → dict → rewrite → message), so both transports show it."""

    transports = ("rest", "grpc")

    def rewrite_json(self, method: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def rest_after(self, request: Any, method: str | None, response: Any) -> Any:
        data = _json(response)
        if method is None or response.status != 200 or not isinstance(data, dict):
            return response
        _, body = await self.body(request)
        camel = any(k != k.lower() for k in data)
        canon = _snake(data) if camel else data
        out = self.rewrite_json(method, _snake(body) if isinstance(body, dict) else {}, canon)
        return _set_json(response, _camel(out) if camel else out)


def _snake_key(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {_snake_key(k): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            head, *rest = k.split("_")
            out[head + "".join(w.title() for w in rest)] = _camel(v)
        return out
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


@profile
class FailureWithBooking(AnswerRewrite):
    name = "failure-with-booking"
    summary = (
        "an UpdateBooking answer with booking_failure also carries the booking (other fields must be unset; "
        "@CreateBooking: a failed CreateBooking carries one too)"
    )
    default_methods = frozenset({"UpdateBooking"})

    def rewrite_json(self, method: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        if not answer.get("booking_failure"):
            return answer
        booking = request.get("booking")
        booking_id = booking.get("booking_id") if isinstance(booking, dict) else None
        # a failed CreateBooking has no booking_id of its own: name the booking after its token
        return {
            **answer,
            "booking": {"booking_id": str(booking_id or request.get("idempotency_token") or "")},
        }


class _BalRewrite(AnswerRewrite):
    default_methods = frozenset({"BatchAvailabilityLookup"})

    def reshape(self, entries: list[Any]) -> list[Any]:
        raise NotImplementedError

    def rewrite_json(self, method: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        out = dict(answer)
        entries = self.reshape(list(out.get("slot_time_availability") or []))
        if entries:
            out["slot_time_availability"] = entries
        else:
            out.pop("slot_time_availability", None)
        return out


@profile
class BalOmitUnavailable(_BalRewrite):
    name = "bal-omit-unavailable"
    summary = (
        "BatchAvailabilityLookup leaves out the unavailable SlotTimes instead of answering available=false"
    )

    def reshape(self, entries: list[Any]) -> list[Any]:
        return [e for e in entries if isinstance(e, dict) and e.get("available")]


@profile
class BalExtraEntry(_BalRewrite):
    name = "bal-extra-entry"
    summary = "BatchAvailabilityLookup answers the first SlotTime twice (one entry too many)"

    def reshape(self, entries: list[Any]) -> list[Any]:
        return entries[:1] + entries if entries else entries


@profile
class BalNoEcho(_BalRewrite):
    name = "bal-no-echo"
    summary = "BatchAvailabilityLookup answers without echoing the SlotTimes (only the available flags)"

    def reshape(self, entries: list[Any]) -> list[Any]:
        return [
            {k: v for k, v in e.items() if k not in ("slot_time", "slotTime")} if isinstance(e, dict) else e
            for e in entries
        ]


@profile
class BalReverseOrder(_BalRewrite):
    name = "bal-reverse-order"
    summary = "BatchAvailabilityLookup answers the SlotTimes in reverse order (still echoed)"

    def reshape(self, entries: list[Any]) -> list[Any]:
        return list(reversed(entries))


@profile
class CheckNoEcho(AnswerRewrite):
    name = "check-no-echo"
    summary = "CheckAvailability answers count_available without echoing the slot"
    default_methods = frozenset({"CheckAvailability"})

    def rewrite_json(self, method: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in answer.items() if k != "slot"}
