"""Starting and stopping the reference server: ServerConfig, start_server, serve_in_thread.

``ServerConfig`` mirrors the ``bookcheck serve`` flags one to one. :func:`start_server` loads the inventory
(``--feed``, or the generated default inventory of :mod:`mock_server.datagen`) and, when the feed's
directory has them, the services, merchants and offers files (payments, offers, online sessions: §3.12,
§3.13), builds the domain service,
the application layer and the REST adapter, and listens; the returned :class:`RunningServer` knows its
real URL (``--port 0`` picks a free port) and its ``ready_line``::

    listening on http://127.0.0.1:54321

:func:`serve_in_thread` runs the same thing on its own event loop in a background thread, for tests, the
demo command and the harness tests::

    with serve_in_thread(ServerConfig(port=0, feed=path)) as server:
        urllib.request.urlopen(server.rest_url + "/v3/HealthCheck")

Start-up problems (feed, certificate, port) raise :class:`ServerStartError` with a one-line message.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson
import yaml
from aiohttp import web

from booking_protocol.commerce import Catalogue
from booking_protocol.commercefeed import (
    MERCHANTS_FILE,
    OFFERS_FILE,
    SERVICES_FILE,
    OwnedPaymentOption,
    load_payment_fixtures,
)
from booking_protocol.commercefeed import load_catalogue as read_catalogue
from booking_protocol.errors import UsageError
from booking_protocol.feed import FeedError, FeedSlot, iter_feed_document, parse_record, resolve_feed_path
from booking_protocol.jsonstream import StreamError, iter_events
from booking_protocol.openapi import openapi_bytes
from mock_server.app import AppOptions, BookingApp, TransportLimits
from mock_server.domain import BookingService, DomainConfig, DuplicateSlot, InvalidArgument, Inventory
from mock_server.rest import RestAdapter, RestOptions
from mock_server.rest.connections import LimitedRunner

READY_TIMEOUT_SEC = 60.0


class ServerStartError(UsageError, RuntimeError):
    """The server cannot start (feed, certificate, port): ``str()`` is one line naming the problem; exit 2."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    feed: str | None = None
    seed: int = 0
    user: str | None = None
    password: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    lease_ttl_sec: int = 600
    cancel_cutoff_sec: int = 0
    async_confirm_after_sec: float = 5.0
    async_outcome: Literal["confirmed", "declined"] = "confirmed"
    list_bookings: Literal["all", "active"] = "all"
    # allowed choices (§11 column 3); the defaults are column 2
    json_names: Literal["snake", "camel"] = "snake"
    int64_json: Literal["string", "number"] = "string"
    unknown_booking_status: Literal[404, 400] = 404
    unknown_user: Literal["empty", "404"] = "empty"
    recancel: Literal["failure", "echo"] = "failure"
    invalid_slot: Literal["unavailable", "400"] = "unavailable"
    same_user_rebook: Literal["reject", "allow", "overlapping"] = "reject"
    token_reuse: Literal["replay", "refuse"] = "replay"
    replay_state: Literal["current", "original"] = "current"
    health_body: Literal["json", "text", "empty"] = "json"
    unknown_method_status: Literal[404, 501] = 404
    grpc_port: int | None = None
    faults: tuple[str, ...] = ()
    # payments (§3.12; used only when the feed directory has services/merchants/offers files)
    #: D40: refund on cancel of a prepaid booking: as the services feed says, always in full, or never
    refund_policy: Literal["feed", "full", "none"] = "feed"
    #: D47: simulated processor delay of a CreateBooking with a payment token or payment option (ms)
    payment_latency_ms: int = 0
    #: D42/D44: a payment fixtures file whose ``user_payment_options`` test users own from the start
    payment_fixtures: str | None = None
    #: where to write the generated inventory as an availability feed (only without ``feed``)
    write_feed: str | None = None
    # limits of both transports (issue 16; TransportLimits, docs/server.md "Limits")
    max_body_bytes: int = 1024 * 1024
    idle_timeout_sec: float = 60.0
    header_timeout_sec: float = 10.0
    body_timeout_sec: float = 30.0
    max_connections: int = 256
    #: tests only: the domain clock (epoch seconds); None = real time
    clock: Callable[[], float] | None = field(default=None, compare=False, repr=False)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    def domain_config(self, catalogue: Catalogue | None = None) -> DomainConfig:
        """The domain's switches; ``catalogue`` is what :func:`load_catalogue` read beside the feed."""
        return DomainConfig(
            lease_ttl_sec=self.lease_ttl_sec,
            cancel_cutoff_sec=self.cancel_cutoff_sec,
            async_confirm_after_sec=self.async_confirm_after_sec,
            async_outcome=self.async_outcome,
            list_bookings=self.list_bookings,
            recancel=self.recancel,
            invalid_slot=self.invalid_slot,
            same_user_rebook=self.same_user_rebook,
            token_reuse=self.token_reuse,
            replay_state=self.replay_state,
            catalogue=catalogue,
            refund_policy=self.refund_policy,
        )

    def app_options(self) -> AppOptions:
        return AppOptions(
            unknown_booking_status=self.unknown_booking_status,
            unknown_user=self.unknown_user,
            payment_latency_ms=self.payment_latency_ms,
        )

    def limits(self) -> TransportLimits:
        return TransportLimits(
            max_body=self.max_body_bytes,
            idle_timeout_sec=self.idle_timeout_sec,
            header_timeout_sec=self.header_timeout_sec,
            body_timeout_sec=self.body_timeout_sec,
            max_connections=self.max_connections,
        )

    def rest_options(self) -> RestOptions:
        return RestOptions(
            user=self.user,
            password=self.password,
            json_names=self.json_names,
            int64_json=self.int64_json,
            health_body=self.health_body,
            unknown_method_status=self.unknown_method_status,
            max_body=self.max_body_bytes,
            body_timeout_sec=self.body_timeout_sec,
            openapi=openapi_bytes(),
        )


def _load_feed_file(path: str) -> Inventory:
    """The inventory of a feed file: same slots and same errors as ``load_availability_feed``.

    A million-record JSON document costs well over 1 GiB as Python objects, so the common layout is read
    as a stream (``ijson``, through the adapter that ``validate-feed`` uses): each availability record is
    parsed and dropped. Anything unusual (invalid JSON, another layout, duplicate keys) starts over with
    the whole document in memory, which also yields the reader's exact error.
    """
    p = resolve_feed_path(path)
    name = str(p)
    try:
        with p.open("rb") as fh:
            inventory = Inventory()
            try:
                inventory.add_records(_stream_feed(fh, name))
                return inventory
            except _NotStreamable:
                pass
        del inventory
        gc.collect()
        raw = p.read_bytes()
    except OSError as exc:
        raise FeedError(name, "", f"cannot read the feed: {exc.strerror or exc}") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FeedError(name, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}") from None
    del raw
    inventory = Inventory()
    inventory.add_records(iter_feed_document(doc, name))
    return inventory


class _NotStreamable(Exception):
    """The streaming reader met something it leaves to the whole-document reader."""


_STREAM_TOP = frozenset({"service_availability"})
_STREAM_NESTED = frozenset({"availability"})
#: Top-level keys of the layouts that only the whole-document reader handles (a lone ServiceAvailability,
#: lowerCamelCase names).
_OTHER_LAYOUTS = frozenset({"availability", "serviceAvailability"})


def _stream_feed(fh: IO[bytes], file: str) -> Iterator[FeedSlot]:
    """Feed slots of ``{"service_availability": [{"availability": [record, ...]}, ...], ...}``."""
    seen: set[tuple[str, str]] = set()
    streamed = False
    try:
        for ev in iter_events(fh, _STREAM_TOP, _STREAM_NESTED):
            if ev.kind == "record":
                yield from parse_record(ev.value, file, ev.path)
                continue
            if not ev.key:  # a group begins ("list"), or a group that is not an object ("value")
                if ev.kind == "value":
                    raise _NotStreamable
                continue
            if (ev.path, ev.key) in seen or (ev.path == "$" and ev.key in _OTHER_LAYOUTS):
                raise _NotStreamable  # duplicate keys or the other layouts: the whole-document reader decides
            seen.add((ev.path, ev.key))
            if ev.kind == "value" and ev.key in _STREAM_TOP | _STREAM_NESTED:
                raise _NotStreamable  # not a list where the layout has one
            streamed |= ev.path == "$" and ev.kind == "list"
    except StreamError:
        raise _NotStreamable from None
    if not streamed:
        raise _NotStreamable


def load_inventory(config: ServerConfig) -> Inventory:
    """The inventory of ``--feed``, or the generated default one. Raises :class:`ServerStartError`."""
    inventory = Inventory()
    try:
        if config.feed:
            inventory = _load_feed_file(config.feed)
        else:
            from mock_server.datagen import generate_availability_feed

            doc = generate_availability_feed(seed=config.seed)
            inventory.add_records(iter_feed_document(doc, f"<generated inventory, seed {config.seed}>"))
            if config.write_feed:
                _write_generated_feed(doc, config.write_feed)
    except FeedError as exc:
        raise ServerStartError(f"cannot load the feed: {exc}") from None
    except DuplicateSlot as exc:
        raise ServerStartError(f"cannot load the feed {config.feed or '(generated)'}: {exc}") from None
    inventory.done_loading()
    return inventory


def _write_generated_feed(doc: dict[str, object], path: str) -> None:
    """``--write-feed``: the generated inventory as an availability feed in Google's layout, so that
    ``bookcheck run --feed PATH`` uses exactly the slots this server has."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(orjson.dumps(doc))
        tmp.replace(target)
    except OSError as exc:
        raise ServerStartError(f"--write-feed {path}: cannot write: {exc.strerror or exc}") from None


#: the files beside the availability feed that turn on payments, offers and online sessions (D52)
COMMERCE_FILES = (SERVICES_FILE, MERCHANTS_FILE, OFFERS_FILE)


def load_catalogue(config: ServerConfig) -> Catalogue | None:
    """The services, merchants and offers files in the feed's directory, or None when it has none (then
    payment information is echoed and nothing is charged, as before). Raises :class:`ServerStartError`."""
    if not config.feed:
        return None
    directory = resolve_feed_path(config.feed).parent
    if not any((directory / name).is_file() for name in COMMERCE_FILES):
        return None
    try:
        return read_catalogue(directory)
    except FeedError as exc:
        raise ServerStartError(f"cannot load the services, merchants or offers file: {exc}") from None


def build_app(config: ServerConfig, inventory: Inventory | None = None) -> BookingApp:
    catalogue = load_catalogue(config)
    service = BookingService(
        inventory if inventory is not None else load_inventory(config),
        config=config.domain_config(catalogue),
        clock=config.clock,
    )
    if config.payment_fixtures:
        seed_owned_options(service, config.payment_fixtures, catalogue)
    return BookingApp(service, config.app_options())


#: keys of a fixtures file's ``user_payment_options`` entry that only the reference server reads: the
#: state it seeds the option in (the harness learns counts from the answers, never from the file)
OWNED_STATE_KEYS = ("current_count", "valid_start_sec", "valid_end_sec")
#: in an entry without merchant_id, replaced by each merchant that sells the option
MERCHANT_PLACEHOLDER = "{merchant_id}"


def seed_owned_options(service: BookingService, path: str, catalogue: Catalogue | None) -> int:
    """D42/D44: give test users the packs and memberships ``user_payment_options`` of the fixtures file
    lists (``--payment-fixtures``), as if bought before the server started; returns how many. An entry
    without merchant_id stands for every merchant that sells its payment_option_id (``{merchant_id}`` in its
    id is replaced by the merchant's id, as the harness does). Raises :class:`ServerStartError`."""
    where = f"--payment-fixtures {path}"
    if catalogue is None:
        raise ServerStartError(f"{where}: owned payment options need a merchants file beside --feed")
    try:
        owned = load_payment_fixtures(path).user_payment_options
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (FeedError, OSError, yaml.YAMLError) as exc:
        raise ServerStartError(f"{where}: {exc}") from None
    entries = raw.get("user_payment_options") or [] if isinstance(raw, dict) else []
    seeded = 0
    for i, option in enumerate(owned):
        at = f"{where}: user_payment_options[{i}]"
        state = _owned_state(entries[i] if i < len(entries) else {}, at)
        for merchant_id in _owned_merchants(option, catalogue, at):
            upo_id = option.user_payment_option_id.replace(MERCHANT_PLACEHOLDER, merchant_id)
            try:
                service.seed_user_payment_option(
                    option.user_id,
                    merchant_id,
                    option.payment_option_id,
                    user_payment_option_id=upo_id,
                    **state,
                )
            except InvalidArgument as exc:
                raise ServerStartError(f"{at}: {exc}") from None
            seeded += 1
    return seeded


def _owned_merchants(option: OwnedPaymentOption, catalogue: Catalogue, at: str) -> list[str]:
    if not option.payment_option_id:
        raise ServerStartError(
            f"{at}: the reference server needs payment_option_id to give the user the option"
        )
    if option.merchant_id:
        return [option.merchant_id]
    return [
        m.merchant_id
        for m in catalogue.merchants()
        if any(p.payment_option_id == option.payment_option_id for p in m.payment_options)
    ]


def _owned_state(entry: Any, at: str) -> dict[str, int | None]:
    """The optional :data:`OWNED_STATE_KEYS` of one entry, each a non-negative integer."""
    state: dict[str, int | None] = {}
    for key in OWNED_STATE_KEYS:
        value = entry.get(key) if isinstance(entry, dict) else None
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ServerStartError(f"{at}.{key}: must be a non-negative integer, got {value!r}")
        state[key] = value
    return state


def _ssl_context(config: ServerConfig) -> ssl.SSLContext | None:
    if not config.tls_cert and not config.tls_key:
        return None
    if not (config.tls_cert and config.tls_key):
        raise ServerStartError("TLS needs both --tls-cert and --tls-key")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ServerStartError(
            f"cannot use the TLS certificate {config.tls_cert} / key {config.tls_key}: "
            f"{getattr(exc, 'strerror', None) or exc}"
        ) from None
    return ctx


@dataclass
class RunningServer:
    """A started server. ``rest_url`` carries the real port; ``close()`` stops it (idempotent)."""

    app: BookingApp
    config: ServerConfig
    rest_url: str
    _runner: web.BaseRunner
    extra_urls: list[str] = field(default_factory=list)
    #: tasks still pending on the server's loop once it closed (filled by :func:`serve_in_thread`; a clean
    #: shutdown leaves none, and the tests hold it to that)
    leftover_tasks: list[str] = field(default_factory=list)
    _closers: list[Callable[[], Any]] = field(default_factory=list)
    _closed: bool = False

    @property
    def port(self) -> int:
        return int(self.rest_url.rsplit(":", 1)[1])

    @property
    def ready_line(self) -> str:
        return " and ".join(["listening on " + self.rest_url, *self.extra_urls])

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for closer in self._closers:  # in the order added: fault waits are released first
            result = closer()
            if asyncio.iscoroutine(result):
                await result
        await self._runner.cleanup()


def _listen_error(config: ServerConfig, exc: OSError) -> ServerStartError:
    if exc.errno == errno.EADDRINUSE:
        why = "the address is already in use"
    elif exc.errno == errno.EACCES:
        why = "permission denied"
    else:
        why = exc.strerror or str(exc)
    return ServerStartError(f"cannot listen on {config.host}:{config.port}: {why}")


async def start_server(config: ServerConfig, *, inventory: Inventory | None = None) -> RunningServer:
    """Load, build and listen. Raises :class:`ServerStartError` on a bad feed, certificate or port."""
    ctx = _ssl_context(config)
    plan = _fault_plan(config)
    app = build_app(config, inventory)
    adapter = RestAdapter(app, config.rest_options())
    web_app = adapter.web_app()
    if plan is not None:
        from mock_server.faults import attach

        attach(plan, app, web_app)
    runner = LimitedRunner(web_app, config.limits(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ctx)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise _listen_error(config, exc) from None
    port = runner.addresses[0][1]
    host = config.host if ":" not in config.host else f"[{config.host}]"
    scheme = "https" if ctx else "http"
    running = RunningServer(app=app, config=config, rest_url=f"{scheme}://{host}:{port}", _runner=runner)
    if plan is not None:
        running._closers.append(plan.close)  # first: every wait a fault adds ends before the transports stop
    if config.grpc_port is not None:
        try:
            await _start_grpc(running, plan)
        except BaseException:
            await running.close()
            raise
    return running


def _fault_plan(config: ServerConfig) -> Any:
    """The fault profiles of ``--fault`` (``mock_server.faults``), or None when there are none."""
    if not config.faults:
        return None
    from mock_server.faults import FaultSpecError, build_plan

    try:
        return build_plan(config)
    except FaultSpecError as exc:
        raise ServerStartError(f"bad --fault: {exc}") from None


async def _start_grpc(running: RunningServer, plan: Any) -> None:
    """The gRPC endpoint (``mock_server.grpc``) on the same loop and the same app, when grpc_port is set.

    The fault plan's gRPC interceptors are handed over here, as an argument (``plan`` may be None)."""
    config = running.config
    try:
        from mock_server.grpc.server import start_grpc_server
    except ImportError as exc:
        raise ServerStartError(f"the gRPC transport is not available: {exc}") from None
    interceptors: list[Any] = []
    if plan is not None:
        from mock_server.faults import grpc_interceptors

        interceptors = grpc_interceptors(plan)
    try:
        handle = await start_grpc_server(
            running.app, config, interceptors=interceptors, limits=config.limits()
        )
    except (OSError, ValueError) as exc:
        raise ServerStartError(f"cannot serve gRPC on {config.host}:{config.grpc_port}: {exc}") from None
    running.extra_urls.append(handle.url)
    running._closers.append(handle.stop)


@contextlib.contextmanager
def serve_in_thread(config: ServerConfig, *, inventory: Inventory | None = None) -> Iterator[RunningServer]:
    """Run the server on its own event loop in a daemon thread; yield it once it listens."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            box["server"] = await start_server(config, inventory=inventory)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
            ready.set()
            return
        stop = box["stop"] = asyncio.Event()
        ready.set()
        await stop.wait()
        await box["server"].close()
        me = asyncio.current_task()
        box["server"].leftover_tasks.extend(repr(t) for t in asyncio.all_tasks() if t is not me)

    thread = threading.Thread(
        target=loop.run_until_complete, args=(main(),), name="bookcheck-server", daemon=True
    )
    thread.start()
    try:
        if not ready.wait(READY_TIMEOUT_SEC):
            raise ServerStartError(f"the server did not start within {READY_TIMEOUT_SEC:.0f} s")
        if "error" in box:
            raise box["error"]
        yield box["server"]
    finally:
        if "stop" in box:
            loop.call_soon_threadsafe(box["stop"].set)
        thread.join(timeout=30)
        if not thread.is_alive():
            loop.close()
