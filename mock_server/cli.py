"""``bookcheck serve``: run the reference booking server until SIGINT/SIGTERM.

Prints exactly one line on stdout when it accepts requests (``listening on http://HOST:PORT``), so scripts
can wait for it. Start-up problems (feed, TLS files, port) are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from typing import Any

from booking_protocol.errors import ExitCode, UsageError
from mock_server.server import ServerConfig, start_server


def _int_choice(*allowed: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(map(str, allowed))}") from None
        if value not in allowed:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(map(str, allowed))}")
        return value

    return parse


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0..65535 (0 = any free port)")
    return value


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the reference booking server (REST/JSON)",
        description=(
            "Run bookcheck's reference Booking Server API v3 server: an in-memory, faithful partner built "
            "from an availability feed. Defaults follow column 2 of the spec's decision table (§11); the "
            "'allowed choice' options switch to other behaviours the spec allows (column 3). "
            "See docs/server.md."
        ),
    )
    net = p.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    net.add_argument(
        "--port",
        type=_port,
        default=8080,
        help="port to listen on; 0 picks a free port, shown in the ready line (default 8080)",
    )
    net.add_argument(
        "--grpc-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="also serve bookcheck's gRPC form of the API on this port, same state "
        "(0 = any free port; default: REST only)",
    )
    net.add_argument("--user", help="HTTP Basic user name required on every path, HealthCheck included (D19)")
    net.add_argument("--password", help="HTTP Basic password (with --user)")
    net.add_argument(
        "--tls-cert", metavar="FILE", help="PEM certificate (chain): serve HTTPS instead of HTTP"
    )
    net.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert")

    inv = p.add_argument_group("inventory and behaviour")
    inv.add_argument(
        "--feed",
        metavar="PATH",
        help="availability feed in Google's JSON layout (a file, or a directory holding "
        "availability.json); services.json, merchants.json and offers.json in the same directory (as "
        "'bookcheck generate' writes them) switch on payments, offers and online sessions; default: a "
        "generated inventory of 6 merchants over 30 days, without payments",
    )
    inv.add_argument("--seed", type=int, default=0, help="seed of the generated inventory (default 0)")
    inv.add_argument(
        "--write-feed",
        metavar="PATH",
        help="write the generated inventory (no --feed) to PATH as an availability feed in Google's layout, "
        "so 'bookcheck run --feed PATH' uses the same slots",
    )
    inv.add_argument(
        "--lease-ttl-sec",
        type=_non_negative_int,
        default=600,
        metavar="SEC",
        help="longest lease hold; longer requested expiries are shortened to now + this (default 600)",
    )
    inv.add_argument(
        "--cancel-cutoff-sec",
        type=_non_negative_int,
        default=0,
        metavar="SEC",
        help="cancels later than start - N seconds fail with OUTSIDE_CANCELLATION_WINDOW "
        "(default 0 = until the slot starts; D21)",
    )
    inv.add_argument(
        "--async-confirm-after-sec",
        type=_non_negative,
        default=5.0,
        metavar="SEC",
        help="a booking on an asynchronous slot is PENDING_MERCHANT_CONFIRMATION for this long, "
        "then takes --async-outcome (default 5; D18)",
    )
    inv.add_argument(
        "--async-outcome",
        choices=("confirmed", "declined"),
        default="confirmed",
        help="final status of asynchronous bookings; 'declined' (DECLINED_BY_MERCHANT) frees "
        "the spot (default confirmed)",
    )
    inv.add_argument(
        "--list-bookings",
        choices=("all", "active"),
        default="all",
        help="ListBookings returns all the user's bookings, cancelled ones as CANCELED, or only "
        "live future ones (default all; D7)",
    )

    pay = p.add_argument_group(
        "payments (only with services/merchants files beside --feed; see docs/payments.md)",
        "Payments go through a simulated processor: test tokens decide the outcome, nothing leaves the "
        "machine, and what it charged, held and refunded is at GET /_bookcheck/ledger (same credentials).",
    )
    pay.add_argument(
        "--refund-policy",
        choices=("feed", "full", "none"),
        default="feed",
        help="cancelling a prepaid booking: refund as the services feed says (its refund_condition list, "
        "else in full until min_advance_online_canceling, else in full), always in full, or never (the "
        "booking then stays PREPAYMENT_PROVIDED); a refund shows as PREPAYMENT_REFUNDED (default feed; D40)",
    )
    pay.add_argument(
        "--payment-fixtures",
        metavar="FILE",
        help="give test users the packs and memberships FILE lists under user_payment_options, as if "
        "bought before the server started (the payment fixtures format of 'bookcheck run'; an entry may add "
        "current_count, valid_start_sec, valid_end_sec; one without merchant_id is given at every merchant "
        "selling its payment_option_id, {merchant_id} in its id replaced). 'bookcheck generate' writes "
        "payment-fixtures.yaml with an owned pack and a used-up one (D42/D44)",
    )
    pay.add_argument(
        "--payment-latency-ms",
        type=_non_negative_int,
        default=0,
        metavar="MS",
        help="make each CreateBooking that carries a payment token or a pack/membership wait this long for "
        "the simulated processor, as a real gateway would (Google allows 15 s for these; default 0; D47)",
    )

    alt = p.add_argument_group("allowed choices (§11 column 3; defaults are column 2)")
    alt.add_argument(
        "--json-names",
        choices=("snake", "camel"),
        default="snake",
        help="field names in responses (D13; requests accept both)",
    )
    alt.add_argument(
        "--int64-json",
        choices=("string", "number"),
        default="string",
        help="int64 values in responses (D12; requests accept both)",
    )
    alt.add_argument(
        "--unknown-booking-status",
        type=_int_choice(404, 400),
        default=404,
        metavar="{404,400}",
        help="HTTP status for an unknown booking_id in UpdateBooking/GetBookingStatus (D5)",
    )
    alt.add_argument(
        "--unknown-user",
        choices=("empty", "404"),
        default="empty",
        help="ListBookings for a user with no bookings: empty list or 404 (D6)",
    )
    alt.add_argument(
        "--recancel",
        choices=("failure", "echo"),
        default="failure",
        help="cancel of a cancelled booking: BOOKING_ALREADY_CANCELLED, or 200 with the booking "
        "still CANCELED (D8)",
    )
    alt.add_argument(
        "--invalid-slot",
        choices=("unavailable", "400"),
        default="unavailable",
        help="CreateBooking/CreateLease/reschedule to a slot a known service does not have: "
        "200 + SLOT_UNAVAILABLE or HTTP 400 (D9)",
    )
    alt.add_argument(
        "--same-user-rebook",
        choices=("reject", "allow", "overlapping"),
        default="reject",
        help="same user, same slot, new token: SLOT_ALREADY_BOOKED_BY_USER, a new booking, or "
        "OVERLAPPING_RESERVATION (D10)",
    )
    alt.add_argument(
        "--token-reuse",
        choices=("replay", "refuse"),
        default="replay",
        help="a used idempotency token with another slot, user or party size: the token's booking, or "
        "HTTP 400 (D24)",
    )
    alt.add_argument(
        "--replay-state",
        choices=("current", "original"),
        default="current",
        help="a token resent after its booking was cancelled or rescheduled: the booking as it is now, or "
        "as first answered (D26)",
    )
    alt.add_argument(
        "--health-body",
        choices=("json", "text", "empty"),
        default="json",
        help='HealthCheck body: {"status":"SERVING"}, text "200", or none (§3.10)',
    )
    alt.add_argument(
        "--unknown-method-status",
        type=_int_choice(404, 501),
        default=404,
        metavar="{404,501}",
        help="HTTP status for a path that is not a served method (§4)",
    )
    lim = p.add_argument_group("limits (both transports; see docs/server.md, 'Limits')")
    lim.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=1024 * 1024,
        metavar="N",
        help="largest request body, before and after gzip/deflate (413), and largest gRPC "
        "message (RESOURCE_EXHAUSTED) (default 1048576 = 1 MiB)",
    )
    lim.add_argument(
        "--idle-timeout-sec",
        type=_positive,
        default=60.0,
        metavar="SEC",
        help="close a connection that waits this long for a request (default 60)",
    )
    lim.add_argument(
        "--header-timeout-sec",
        type=_positive,
        default=10.0,
        metavar="SEC",
        help="close a connection whose request headers (gRPC: handshake) take longer (default 10)",
    )
    lim.add_argument(
        "--body-timeout-sec",
        type=_positive,
        default=30.0,
        metavar="SEC",
        help="answer 408 when a request body takes longer to arrive (default 30)",
    )
    lim.add_argument(
        "--max-connections",
        type=_positive_int,
        default=256,
        metavar="N",
        help="open connections per transport; more are refused (REST: 503) (default 256)",
    )
    dev = p.add_argument_group("fault profiles (for testing clients and the harness itself)")
    dev.add_argument(
        "--fault",
        dest="faults",
        action="append",
        default=[],
        metavar="NAME[=ARGS][@Method,...]",
        help="switch on a documented misbehaviour (latency, errors, one spec violation); "
        "repeatable; see docs/faults.md",
    )
    p.set_defaults(func=run_serve)
    _register_openapi(subparsers)


def _register_openapi(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "openapi",
        help="write the OpenAPI 3.1 document of the REST API",
        description=(
            "Write the OpenAPI 3.1 document of Booking Server API v3's REST form: every method, its request "
            "and response bodies (generated from booking.proto, like the JSON Schemas), the error body, HTTP "
            "Basic auth, and links between operations for stateful tools. Point Schemathesis, Prism, "
            "Postman or Insomnia at it. The reference server serves the same document at GET /openapi.json."
        ),
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument(
        "--server-url",
        metavar="URL",
        help="base URL to put in the document's 'servers', e.g. http://127.0.0.1:8080",
    )
    p.set_defaults(func=run_openapi)


def run_openapi(args: argparse.Namespace) -> int:
    """Write the document; one line on stderr and exit 2 when the file cannot be written."""
    import json

    from booking_protocol.openapi import build_document

    text = json.dumps(build_document(args.server_url), indent=2) + "\n"
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote the OpenAPI 3.1 document to {args.output}", file=sys.stderr)
    return 0


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host,
        port=args.port,
        feed=args.feed,
        seed=args.seed,
        write_feed=args.write_feed,
        user=args.user,
        password=args.password,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        lease_ttl_sec=args.lease_ttl_sec,
        cancel_cutoff_sec=args.cancel_cutoff_sec,
        async_confirm_after_sec=args.async_confirm_after_sec,
        async_outcome=args.async_outcome,
        list_bookings=args.list_bookings,
        json_names=args.json_names,
        int64_json=args.int64_json,
        unknown_booking_status=args.unknown_booking_status,
        unknown_user=args.unknown_user,
        recancel=args.recancel,
        invalid_slot=args.invalid_slot,
        same_user_rebook=args.same_user_rebook,
        token_reuse=args.token_reuse,
        replay_state=args.replay_state,
        health_body=args.health_body,
        unknown_method_status=args.unknown_method_status,
        grpc_port=args.grpc_port,
        faults=tuple(args.faults),
        refund_policy=args.refund_policy,
        payment_latency_ms=args.payment_latency_ms,
        payment_fixtures=args.payment_fixtures,
        max_body_bytes=args.max_body_bytes,
        idle_timeout_sec=args.idle_timeout_sec,
        header_timeout_sec=args.header_timeout_sec,
        body_timeout_sec=args.body_timeout_sec,
        max_connections=args.max_connections,
    )


def _tune_gc() -> None:
    """The inventory is loaded once and lives forever: move it out of the collector's sight, and collect
    young objects less often. Without this, full collections walk every slot and booking, and a server
    with a large state stalls for tens of milliseconds at a time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


#: how long a thread may hold the GIL while another one waits (CPython's default is 5 ms)
SWITCH_INTERVAL_SEC = 0.001


def _tune_thread_switching() -> None:
    """Large bodies are decoded and answered in worker threads (issue 16), which share the GIL with the
    event loop. With CPython's default 5 ms switch interval, each await of a small call (HealthCheck) can
    wait up to 5 ms for the GIL, several times per request; at 1 ms, HealthCheck's p99 under four clients
    sending 1 MiB bodies falls from ~120 ms to ~25-40 ms (bench/robustness.py). Without worker threads
    busy, nothing waits for the GIL and the setting costs nothing."""
    sys.setswitchinterval(SWITCH_INTERVAL_SEC)


async def _serve(config: ServerConfig) -> None:
    server = await start_server(config)
    _tune_gc()
    _tune_thread_switching()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(server.ready_line, flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM. Start-up problems raise :class:`ServerStartError` (a usage error: one
    line, exit 2, printed by ``bookcheck/cli.py``)."""
    if (args.user is None) != (args.password is None):
        raise UsageError("--user and --password go together")
    if args.write_feed and args.feed:
        raise UsageError("--write-feed writes the generated inventory; with --feed you already have the feed")
    asyncio.run(_serve(config_from_args(args)))
    return int(ExitCode.OK)
