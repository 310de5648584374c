"""The REST/JSON adapter: one aiohttp handler for every ``/v3/<Method>`` path (spec §1, §4, §5, §6, §11).

The request path is matched case-insensitively with or without a trailing slash (D2). Every path,
including HealthCheck and unknown ones, requires HTTP Basic credentials when they are configured (D19).
Bodies are parsed with orjson and decoded by the table-driven codec; nothing in the request path touches
protobuf. Every error is a JSON body ``{"error": {"code": <http>, "status": "<CODE>", "message": "..."}}``
(D16); a request that fails this way changes no state.

One table maps wire problems to statuses:

=====================================  ======  ====================
problem                                 HTTP    status
=====================================  ======  ====================
missing/wrong credentials               401     UNAUTHENTICATED
path not a served method                404     NOT_FOUND (501 UNIMPLEMENTED by option)
wrong verb (GET for a POST method …)    405     UNIMPLEMENTED (+ ``Allow``)
body over 1 MiB (raw or inflated)       413     RESOURCE_EXHAUSTED
body not in within the body timeout     408     DEADLINE_EXCEEDED
Content-Encoding not gzip/deflate       415     INVALID_ARGUMENT
invalid gzip/deflate body               400     INVALID_ARGUMENT
malformed JSON, wrong types, missing    400     INVALID_ARGUMENT
integer of more than 20 characters      400     INVALID_ARGUMENT
two members of one oneof, a field twice 400     INVALID_ARGUMENT
unknown merchant/service                400     INVALID_ARGUMENT
unknown booking id                      404     NOT_FOUND (400 by option)
unknown lease id                        404     NOT_FOUND
=====================================  ======  ====================

Besides the ``/v3/`` methods: ``GET /openapi.json`` (the OpenAPI document) and ``GET /_bookcheck/ledger``
(the simulated payment processor's ledger, D52), both behind the same credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiohttp import web
from aiohttp.http import HttpVersion11

from mock_server.app import AppError, BookingApp, ErrorCode
from mock_server.auth import BasicCredentials
from mock_server.domain import (
    BookingResult,
    BookingView,
    ConfirmationMode,
    InvalidArgument,
    LeaseResult,
    SlotQuery,
)

from . import codec, mapping
from .body import BodyError, decoded, read_raw

MAX_BODY = 1024 * 1024
OPENAPI_PATH = "/openapi.json"
#: the simulated payment processor's ledger (D52; lower case: paths are matched case-insensitively)
LEDGER_PATH = "/_bookcheck/ledger"
#: bodies larger than this are decoded, served and encoded in a worker thread (see ``handle``)
OFFLOAD_BYTES = 64 * 1024

_JSON = "application/json"
_JSON_HEADERS = {"Content-Type": _JSON}


@dataclass(frozen=True, slots=True)
class RestOptions:
    user: str | None = None
    password: str | None = None
    json_names: Literal["snake", "camel"] = "snake"
    int64_json: Literal["string", "number"] = "string"
    health_body: Literal["json", "text", "empty"] = "json"
    unknown_method_status: Literal[404, 501] = 404
    max_body: int = MAX_BODY
    body_timeout_sec: float = 30.0
    #: the OpenAPI document served at ``GET /openapi.json`` (JSON bytes), or None
    openapi: bytes | None = field(default=None, repr=False)


def error_body(status: int, code: str, message: str) -> bytes:
    """The D16 error body."""
    return orjson.dumps({"error": {"code": status, "status": code, "message": message}})


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, body=error_body(status, code, message), content_type=_JSON, headers=headers
    )


Encoder = Callable[[Any, Any, codec.Style], dict[str, Any]]

_M = codec.message


def _bal_in(req: dict[str, Any]) -> Any:
    merchant = req.get("merchant_id")
    times = req.get("slot_time", [])
    queries = [mapping.slot_query(t, merchant, "resource_ids") for t in times]
    return queries


_ST_NAMES = {f.name: (f.camel if f.camel != f.name else f.name) for f in _M("SlotTime").fields}
_ST_INT64 = frozenset({"start_sec", "duration_sec"})
#: SlotTime keys the one-pass decoder handles: both spellings -> (canonical name, what: 0 service_id,
#: 1 start_sec, 2 duration_sec, 3 availability_tag)
_ST_SIMPLE: dict[str, tuple[str, int]] = {
    name: (canon, ("service_id", "start_sec", "duration_sec", "availability_tag").index(canon))
    for canon, camel in _ST_NAMES.items()
    if canon in ("service_id", "start_sec", "duration_sec", "availability_tag")
    for name in (canon, camel)
}
_INT64_MAX = 2**63 - 1
#: key of a request decoded by :func:`_bal_fast`: the slot times already written in the response style
_ECHOED = "slot_time_echoed"


def _bal_fast(raw: Any, style: codec.Style) -> tuple[dict[str, Any], list[SlotQuery]] | None:
    """The common BAL request (merchant_id plus slot times naming service, start, duration, tag) decoded,
    and its echo written, in one pass. Anything else (resources, enums, nulls, wrong types, unknown
    fields) returns None and takes the generic path, which also produces the exact error messages. The
    result equals the generic one (a test holds them together)."""
    if type(raw) is not dict:
        return None
    merchant: Any = None
    times: Any = None
    for key, value in raw.items():
        if key == "merchant_id" or key == "merchantId":
            merchant = value
        elif key == "slot_time" or key == "slotTime":
            times = value
        else:
            return None
    if type(merchant) is not str or not merchant or type(times) is not list:
        return None
    echoes: list[dict[str, Any]] = []
    queries: list[SlotQuery] = []
    simple = _ST_SIMPLE.get
    names = _ST_NAMES if style.camel else None
    as_str = style.int64_as_string
    for t in times:
        if type(t) is not dict:
            return None
        echo: dict[str, Any] = {}
        service_id: Any = None
        start: Any = None
        duration: Any = None
        tag = ""
        for key, value in t.items():
            spec = simple(key)
            if spec is None:
                return None
            name, what = spec
            if what == 1 or what == 2:
                if (
                    type(value) is str
                    and len(value) <= codec.MAX_INT_CHARS
                    and value.isascii()
                    and value.isdigit()
                ):
                    number = int(value)
                elif type(value) is int:
                    number = value
                else:
                    return None
                if not 0 <= number <= _INT64_MAX:
                    return None
                if what == 1:
                    start = number
                else:
                    duration = number
                if number:
                    echo[names[name] if names else name] = str(number) if as_str else number
                continue
            if type(value) is not str:
                return None
            if what == 0:
                service_id = value
            else:
                tag = value
            if value:
                echo[names[name] if names else name] = value
        if not service_id or start is None:
            return None
        queries.append(SlotQuery(merchant, service_id, start, duration, tag))
        echoes.append(echo)
    return {_ECHOED: echoes}, queries


def _echo_slot_time(t: dict[str, Any], style: codec.Style) -> dict[str, Any]:
    return codec.encode(_M("SlotTime"), t, style)


def _bal_out(req: dict[str, Any], result: list[bool], style: codec.Style) -> dict[str, Any]:
    name_sta = "slotTimeAvailability" if style.camel else "slot_time_availability"
    name_st = "slotTime" if style.camel else "slot_time"
    echoes = req.get(_ECHOED)
    if echoes is None:
        echoes = [_echo_slot_time(t, style) for t in req.get("slot_time", [])]
    return {name_sta: [{name_st: e, "available": ok} for e, ok in zip(echoes, result, strict=True)]}


def _check_out(req: dict[str, Any], count: int, style: codec.Style) -> dict[str, Any]:
    out = codec.encode(_M("CheckAvailabilityResponse"), {"slot": req.get("slot") or {}}, style)
    out["countAvailable" if style.camel else "count_available"] = count
    return out


_CAMEL = {f.name: f.camel for m in codec.MESSAGES.values() for f in m.fields}
_CONFIRMATION_UNSPECIFIED = ConfirmationMode.CONFIRMATION_MODE_UNSPECIFIED
_PAYMENT = _M("PaymentInformation")
_VIRTUAL_SESSION = _M("VirtualSessionInfo")
_UPO = _M("UserPaymentOption")


def booking_json(b: BookingView, style: codec.Style) -> dict[str, Any]:
    """A Booking's JSON object written straight from the view (the hot path of CreateBooking and
    ListBookings). Equal to ``codec.encode(Booking, mapping.booking_out(b), style)``; a test holds them
    together."""
    camel = style.camel
    n: Any = _CAMEL.__getitem__ if camel else str
    i64: Any = str if style.int64_as_string else int
    s = b.slot
    slot: dict[str, Any] = {n("merchant_id"): s.merchant_id, n("service_id"): s.service_id}
    if s.start_sec:
        slot[n("start_sec")] = i64(s.start_sec)
    if s.duration_sec:
        slot[n("duration_sec")] = i64(s.duration_sec)
    if s.availability_tag:
        slot[n("availability_tag")] = s.availability_tag
    if s.staff_id or s.room_id or s.party_size:
        res: dict[str, Any] = {}
        if s.staff_id:
            res[n("staff_id")] = s.staff_id
        if s.room_id:
            res[n("room_id")] = s.room_id
        if s.party_size:
            res[n("party_size")] = s.party_size
        slot["resources"] = res
    if s.confirmation_mode is not _CONFIRMATION_UNSPECIFIED:
        slot[n("confirmation_mode")] = s.confirmation_mode.name
    u = b.user
    fields = (
        ("user_id", u.user_id),
        ("given_name", u.given_name),
        ("family_name", u.family_name),
        ("telephone", u.telephone),
        ("email", u.email),
        ("language_code", u.language_code),
    )
    user: dict[str, Any] = {n(k): v for k, v in fields if v}
    if u.address is not None:
        a = u.address
        address = {
            n(k): v
            for k, v in (
                ("country", a.country),
                ("locality", a.locality),
                ("region", a.region),
                ("postal_code", a.postal_code),
                ("street_address", a.street_address),
            )
            if v
        }
        user["address"] = address  # a message that is set is written, even when empty (as protobuf does)
    out: dict[str, Any] = {n("booking_id"): b.booking_id, "slot": slot}
    if user:
        out[n("user_information")] = user
    out["status"] = b.status.name
    if b.payment:
        out[n("payment_information")] = codec.encode(_PAYMENT, dict(b.payment), style)
    if b.virtual_session:
        out[n("virtual_session_info")] = codec.encode(_VIRTUAL_SESSION, dict(b.virtual_session), style)
    if b.offer_id:
        out[n("offer_info")] = {n("offer_id"): b.offer_id}
    return out


def _booking_result_out(msg: str) -> Encoder:
    """Create/UpdateBookingResponse: the failure alone (D17), or the booking and, when the booking bought,
    used or got back a pack or membership, the ``user_payment_option`` it changed (D42, D43, D45)."""
    spec = _M(msg)
    upo_name = {False: "user_payment_option", True: _CAMEL["user_payment_option"]}

    def enc(_req: Any, r: BookingResult, style: codec.Style) -> dict[str, Any]:
        if r.failure is not None:
            return codec.encode(spec, {"booking_failure": mapping.failure_out(r.failure)}, style)
        assert r.booking is not None
        out = {"booking": booking_json(r.booking, style)}
        if r.user_payment_option:
            out[upo_name[style.camel]] = codec.encode(_UPO, dict(r.user_payment_option), style)
        return out

    return enc


def _lease_out(_req: Any, r: LeaseResult, style: codec.Style) -> dict[str, Any]:
    spec = _M("CreateLeaseResponse")
    if r.failure is not None:
        return codec.encode(spec, {"booking_failure": mapping.failure_out(r.failure)}, style)
    assert r.lease is not None
    return codec.encode(spec, {"lease": mapping.lease_out(r.lease)}, style)


def _status_out(_req: Any, b: Any, style: codec.Style) -> dict[str, Any]:
    return codec.encode(
        _M("GetBookingStatusResponse"),
        {
            "booking_id": b.booking_id,
            "booking_status": b.status.name,
            "prepayment_status": b.prepayment_status,
        },
        style,
    )


def _list_out(_req: Any, bookings: list[Any], style: codec.Style) -> dict[str, Any]:
    return {"bookings": [booking_json(b, style) for b in bookings]}


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    request: codec.Message
    to_domain: Callable[[dict[str, Any]], Any]
    encode: Callable[[Any, Any, codec.Style], dict[str, Any]]
    #: optional one-pass decoder of raw JSON -> (request for ``encode``, domain request), or None to fall back
    fast: Callable[[Any, codec.Style], tuple[Any, Any] | None] | None = None


ROUTES: dict[str, _Route] = {
    r.method.lower(): r
    for r in (
        _Route("BatchAvailabilityLookup", _M("BatchAvailabilityLookupRequest"), _bal_in, _bal_out, _bal_fast),
        _Route(
            "CheckAvailability",
            _M("CheckAvailabilityRequest"),
            lambda req: mapping.slot_query(req.get("slot")),
            _check_out,
        ),
        _Route("CreateLease", _M("CreateLeaseRequest"), mapping.create_lease_command, _lease_out),
        _Route(
            "CreateBooking",
            _M("CreateBookingRequest"),
            mapping.create_booking_command,
            _booking_result_out("CreateBookingResponse"),
        ),
        _Route(
            "UpdateBooking",
            _M("UpdateBookingRequest"),
            mapping.update_booking_command,
            _booking_result_out("UpdateBookingResponse"),
        ),
        _Route(
            "GetBookingStatus",
            _M("GetBookingStatusRequest"),
            lambda req: req.get("booking_id") or None,
            _status_out,
        ),
        _Route("ListBookings", _M("ListBookingsRequest"), lambda req: req.get("user_id") or None, _list_out),
    )
}


async def _continue_or_ignore(request: web.Request) -> None:
    """``Expect: 100-continue`` gets its interim answer; any other expectation is ignored, as RFC 9110
    (section 10.1.1) allows, so every answer is one of the documented ones with the JSON error body (D16)
    rather than aiohttp's text ``417 Expectation Failed``."""
    if request.version == HttpVersion11 and request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


class RestAdapter:
    """Holds the options and serves every request through :meth:`handle`."""

    def __init__(self, app: BookingApp, options: RestOptions | None = None) -> None:
        self.app = app
        self.options = opts = options or RestOptions()
        self.style = codec.Style(
            camel=opts.json_names == "camel", int64_as_string=opts.int64_json == "string"
        )
        self._credentials = BasicCredentials.configured(opts.user, opts.password)
        self._workers: ThreadPoolExecutor | None = None

    def web_app(self) -> web.Application:
        application = web.Application(client_max_size=self.options.max_body)
        application.router.add_route("*", "/{tail:.*}", self.handle, expect_handler=_continue_or_ignore)
        application.on_cleanup.append(self._stop_workers)
        return application

    async def _stop_workers(self, _app: web.Application) -> None:
        if self._workers is not None:
            self._workers.shutdown(wait=False, cancel_futures=True)

    # -- auth ---------------------------------------------------------------------------------------------

    def _authorized(self, header: str | None) -> bool:
        return self._credentials is None or self._credentials.accepts(header)

    # -- the handler --------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # the credentials first: nothing of the body is read, let alone inflated, for a stranger
        if not self._authorized(request.headers.get("Authorization")):
            return error_response(
                401,
                "UNAUTHENTICATED",
                "missing or wrong HTTP Basic credentials",
                {"WWW-Authenticate": 'Basic realm="bookcheck"'},
            )
        path = request.path.rstrip("/").lower()
        name = path[4:] if path.startswith("/v3/") else ""
        if name == "healthcheck":
            if request.method not in ("GET", "HEAD"):
                return error_response(
                    405,
                    "UNIMPLEMENTED",
                    f"HealthCheck takes GET, not {request.method}",
                    {"Allow": "GET, HEAD"},
                )
            return await self._health()
        route = ROUTES.get(name)
        if route is None:
            if path == OPENAPI_PATH and self.options.openapi is not None:
                return self._openapi(request)
            if path == LEDGER_PATH:
                return self._ledger(request)
            return self._unknown_method(request.path)
        if request.method != "POST":
            return error_response(
                405, "UNIMPLEMENTED", f"{route.method} takes POST, not {request.method}", {"Allow": "POST"}
            )
        try:
            raw, wbits = await read_raw(request, self.options.max_body, self.options.body_timeout_sec)
        except BodyError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if len(raw) > OFFLOAD_BYTES and not self.app.intercepted:
            # a large body costs milliseconds of inflating and tens of milliseconds of pure Python: do it
            # off the event loop, so HealthCheck and gRPC calls keep flowing (zlib even lets go of the GIL);
            # two workers bound the memory it takes at once
            return await self._offload(route, raw, wbits)
        try:
            body = decoded(raw, wbits, self.options.max_body)
        except BodyError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if len(body) > OFFLOAD_BYTES and not self.app.intercepted:
            return await self._offload(route, body, None)
        return await self._answer(route, body)

    async def _offload(self, route: _Route, raw: bytes, wbits: int | None) -> web.Response:
        loop = asyncio.get_running_loop()
        status, payload = await loop.run_in_executor(self._executor(), self._answer_direct, route, raw, wbits)
        return web.Response(status=status, body=payload, headers=_JSON_HEADERS)

    def _executor(self) -> ThreadPoolExecutor:
        if self._workers is None:
            self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bookcheck-rest")
        return self._workers

    def _decode(self, route: _Route, body: bytes) -> tuple[Any, Any]:
        """(request for the encoder, domain request). Raises InvalidArgument (400)."""
        try:
            raw = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as exc:
            raise InvalidArgument("body", f"malformed JSON: {exc}") from None
        fast = route.fast(raw, self.style) if route.fast is not None else None
        if fast is not None:
            return fast
        req = codec.decode(route.request, raw)
        return req, route.to_domain(req)

    async def _answer(self, route: _Route, body: bytes) -> web.Response:
        try:
            req, command = self._decode(route, body)
            app = self.app
            if app.intercepted:
                result = await app.call(route.method, command)
            else:  # the common case: no interceptor, no coroutine
                result = app.call_direct(route.method, command)
        except InvalidArgument as exc:
            return error_response(400, "INVALID_ARGUMENT", str(exc))
        except AppError as exc:
            return error_response(exc.http, exc.code.name, exc.message)
        return web.Response(body=orjson.dumps(route.encode(req, result, self.style)), headers=_JSON_HEADERS)

    def _answer_direct(self, route: _Route, raw: bytes, wbits: int | None) -> tuple[int, bytes]:
        """Inflate, then :meth:`_answer` without interceptors, as (status, body): runs in a worker thread."""
        try:
            req, command = self._decode(route, decoded(raw, wbits, self.options.max_body))
        except BodyError as exc:
            return exc.status, error_body(exc.status, exc.code, exc.message)
        except InvalidArgument as exc:
            return 400, error_body(400, "INVALID_ARGUMENT", str(exc))
        try:
            result = self.app.call_direct(route.method, command)
        except InvalidArgument as exc:
            return 400, error_body(400, "INVALID_ARGUMENT", str(exc))
        except AppError as exc:
            return exc.http, error_body(exc.http, exc.code.name, exc.message)
        return 200, orjson.dumps(route.encode(req, result, self.style))

    def _openapi(self, request: web.Request) -> web.Response:
        if request.method not in ("GET", "HEAD"):
            return error_response(
                405,
                "UNIMPLEMENTED",
                f"{OPENAPI_PATH} takes GET, not {request.method}",
                {"Allow": "GET, HEAD"},
            )
        assert self.options.openapi is not None
        return web.Response(body=self.options.openapi, headers=_JSON_HEADERS)

    def _ledger(self, request: web.Request) -> web.Response:
        """D52: the simulated processor's ledger, ``{"entries": [...]}``, all merchants or
        ``?merchant_id=``. For testers and bookcheck's self-test only: it is not part of the API, so it is
        not in the OpenAPI document, and it bypasses the app's interceptors (application-layer fault
        profiles never change what it says)."""
        if request.method not in ("GET", "HEAD"):
            return error_response(
                405,
                "UNIMPLEMENTED",
                f"{LEDGER_PATH} takes GET, not {request.method}",
                {"Allow": "GET, HEAD"},
            )
        entries = self.app.ledger(request.query.get("merchant_id") or None)
        return web.Response(body=orjson.dumps({"entries": entries}), headers=_JSON_HEADERS)

    async def _health(self) -> web.Response:
        try:
            await self.app.call("HealthCheck", None)
        except AppError as exc:
            return error_response(exc.http, exc.code.name, exc.message)
        body = self.options.health_body
        if body == "json":
            return web.Response(body=b'{"status":"SERVING"}', content_type=_JSON)
        if body == "text":
            return web.Response(text="200", content_type="text/plain")
        return web.Response(status=200)

    def _unknown_method(self, path: str) -> web.Response:
        message = f"{path} is not a method this server serves"
        if self.options.unknown_method_status == 501:
            return error_response(501, ErrorCode.UNIMPLEMENTED.name, message)
        return error_response(404, ErrorCode.NOT_FOUND.name, message)
