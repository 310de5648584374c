"""What every target shares: the operations, the Reply that checks read, the Target protocol, and the options
and credentials a target is built from.

Both transports (:mod:`harness.targets` for REST, :mod:`harness.grpc_target` for gRPC) import this module,
and gRPC imports nothing of REST, so there is no import cycle between them; ``make_target`` picks one.
"""

from __future__ import annotations

import base64
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from harness.evidence import WRONG_PASSWORD, WRONG_USER
from harness.results import Exchange

OPERATIONS = (
    "HealthCheck",
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateLease",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
)
GRPC_SERVICE = "ext.maps.booking.partner.v3.BookingService"


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()


WRONG_CREDENTIALS = Credentials(WRONG_USER, WRONG_PASSWORD)


@dataclass(frozen=True)
class Reply:
    """One answer as the checks see it."""

    exchange: Exchange
    status: int | None  # HTTP status (or the HTTP equivalent of the gRPC code); None: no response
    body: Any  # normalised body (dict) when it parsed as JSON, else the raw text / None
    raw: Any  # the body as received (decoded JSON, or text)
    is_json: bool
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def data(self) -> dict[str, Any]:
        """The normalised body as a dict ({} when it is not a JSON object)."""
        return self.body if isinstance(self.body, dict) else {}

    @property
    def elapsed_ms(self) -> float:
        return self.exchange.elapsed_ms


class Target(Protocol):
    transport: str
    url: str

    async def call(
        self,
        operation: str,
        body: Any = None,
        *,
        auth: str = "default",
        raw: bytes | None = None,
        path: str | None = None,
        timeout: float | None = None,
    ) -> Reply: ...

    async def preflight(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TargetOptions:
    url: str
    credentials: Credentials | None = None
    timeout: float = 10.0
    ca_file: str | None = None
    insecure: bool = False
    trailing_slash: bool = False  # D2: send /v3/X/ instead of /v3/X
    max_connections: int = 64


def response_message(operation: str) -> str:
    return f"{operation}Response"


def auth_header(opts: TargetOptions, auth: str) -> str | None:
    if auth == "none":
        return None
    if auth == "wrong":
        return WRONG_CREDENTIALS.basic()
    return opts.credentials.basic() if opts.credentials else None


# ------------------------------------------------------------------------------------------------------
# transport diagnosis: why a target cannot be reached, in one line a person can act on
# ------------------------------------------------------------------------------------------------------

#: ports assumed when --target gives none
DEFAULT_PORTS = {"http": 80, "https": 443, "grpc": 80, "grpcs": 443}
#: the words of a diagnosis that the hints below key on
NOT_TLS, SPEAKS_TLS, CERT_HOST, CERT_UNTRUSTED = (
    "the port does not speak TLS",
    "the port speaks TLS",
    "the TLS certificate is not valid for this host",
    "the TLS certificate is not trusted",
)


def host_port(url: str) -> tuple[str, int]:
    """Host and port of ``--target`` (credentials in the URL left out)."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 80)


def tcp_problem(url: str, timeout: float) -> str | None:
    """None when a TCP connection to the target's host and port opens within ``timeout``; else why not."""
    host, port = host_port(url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"cannot resolve the host name {host!r}"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout:g} s (connecting)"
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()


def tls_problem(url: str, *, ca_file: str | None, timeout: float, expect_tls: bool) -> str | None:
    """What one TLS handshake with Python's ``ssl`` says about the target, in one line, or None when it
    shows no TLS problem. Used to explain a gRPC channel that will not become ready (gRPC itself only says
    "failed to connect"). ``expect_tls``: the URL asks for TLS (grpcs://, https://)."""
    host, port = host_port(url)
    ctx = ssl.create_default_context(cafile=ca_file)
    if not expect_tls:  # does a plain-text port in the URL actually speak TLS?
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with ctx.wrap_socket(sock, server_hostname=host):
                return SPEAKS_TLS + " (a TLS handshake succeeded)" if not expect_tls else None
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            return f"{CERT_HOST} {host} ({exc.verify_message.rstrip('.')})"
        return f"{CERT_UNTRUSTED}: {exc.verify_message}"
    except (ssl.SSLError, ConnectionResetError, ConnectionAbortedError) as exc:
        if not expect_tls:
            return None
        reason = getattr(exc, "reason", None) or type(exc).__name__
        return f"{NOT_TLS} (TLS handshake: {reason})"
    except OSError:
        return None  # not a TLS matter: the caller reports what gRPC or the TCP check says


def transport_hint(url: str, error: str) -> str:
    """What to do about a transport ``error`` of ``url`` (the "hint:" line of exit 3)."""
    low = error.lower()
    scheme = urlsplit(url).scheme.lower()
    if scheme == "http" and ("disconnect" in low or "reset" in low or "bad status" in low):
        return "the port may speak TLS: try https:// instead of http://"
    if scheme == "https" and (
        "wrong version number" in low or "record layer" in low or NOT_TLS.lower() in low
    ):
        return "the port speaks plain HTTP: try http:// instead of https://"
    if scheme == "grpc" and SPEAKS_TLS.lower() in low:
        return "the port speaks TLS: try grpcs:// instead of grpc:// (--ca-file PEM for a private CA)"
    if scheme == "grpcs" and NOT_TLS.lower() in low:
        return "the port speaks plain gRPC: try grpc:// instead of grpcs://"
    if CERT_HOST.lower() in low or "hostname mismatch" in low:
        return "use a host name the certificate holds in --target, or --insecure for a test server"
    if "certificate" in low or "cert" in low:
        return (
            "the certificate is not trusted: give its CA with --ca-file PEM (or --insecure for a test server)"
        )
    if "resolve" in low or "name or service" in low:
        return "is the host name in --target right?"
    return "is the server running, and is the host and port right?"
