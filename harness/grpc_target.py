"""gRPC target: bookcheck's own gRPC form of v3 (spec §11 "gRPC form").

Requests are built from the same JSON bodies as over REST (``json_format.ParseDict``) and responses turned
back into dicts with ``MessageToDict(preserving_proto_field_name=True)`` before normalisation, so checks see
the same dict shape for both transports. The gRPC status code is mapped to its HTTP equivalent (§11 table)
for the checks; the Exchange keeps the numeric gRPC code and its name, as ``harness.results`` documents.
Health uses ``grpc.health.v1.Health/Check`` for the service name
``ext.maps.booking.partner.v3.BookingService``.

A channel that cannot connect is a transport error, as a refused REST connection is: the Reply has no
status and ``exchange.error`` says why in one line (a certificate, TLS against a plain port, refused), found
by one handshake with Python's ``ssl`` since gRPC only says "failed to connect to all addresses". gRPC's
C-core logging is kept at ERROR (:func:`import_grpc_quietly`).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import ssl
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import json_format

from booking_protocol import booking_pb2
from booking_protocol.errors import TargetUnreachable
from harness.evidence import redact_headers
from harness.normalize import normalize
from harness.results import GRPC_TO_HTTP, Exchange, HttpMessage
from harness.target_base import (
    GRPC_SERVICE,
    Reply,
    TargetOptions,
    auth_header,
    host_port,
    tcp_problem,
    tls_problem,
    transport_hint,
)

#: gRPC's UNAVAILABLE: what a channel that cannot connect answers (and what a server may answer itself)
UNAVAILABLE = 14
#: longest wait for a connection in the preflight and the diagnosis (the call timeout may be longer)
CONNECT_WAIT_SEC = 5.0


def import_grpc_quietly() -> Any:
    """``import grpc`` with gRPC's C-core logging at ERROR: its INFO lines (a failed TLS handshake, logged
    again every second while the channel retries) would reach stderr, where the harness says what went
    wrong in one line instead. C-core reads ``GRPC_VERBOSITY`` once, when ``grpc`` is imported; the
    variable is set for that import only, so child processes see the environment unchanged. A value the
    user set is kept (e.g. ``GRPC_VERBOSITY=debug`` with ``GRPC_TRACE``), and so is a ``grpc`` already
    imported in this process. ``bookcheck serve`` never imports this module, so the reference server's
    logging is not affected; where one process runs both (``bookcheck demo``), whichever imports ``grpc``
    first decides."""
    if "grpc" in sys.modules or "GRPC_VERBOSITY" in os.environ:
        return importlib.import_module("grpc")
    os.environ["GRPC_VERBOSITY"] = "ERROR"
    try:
        return importlib.import_module("grpc")
    finally:
        os.environ.pop("GRPC_VERBOSITY", None)


grpc = import_grpc_quietly()


class GrpcTarget:
    transport = "grpc"

    def __init__(self, opts: TargetOptions) -> None:
        self.opts = opts
        parts = urlsplit(opts.url)
        self.secure = parts.scheme.lower() == "grpcs"
        self.hostport = parts.netloc.rsplit("@", 1)[-1]
        self.url = f"{parts.scheme}://{self.hostport}"
        self._channel: Any = None
        self._problem: str | None = None

    async def _get_channel(self) -> Any:
        if self._channel is None:
            if not self.secure:
                self._channel = grpc.aio.insecure_channel(self.hostport)
                return self._channel
            root, options = None, []
            if self.opts.insecure:  # accept whatever certificate the server shows: trust it for this channel
                root, name = await asyncio.to_thread(server_certificate, self.opts.url, self._connect_wait)
                options = [("grpc.ssl_target_name_override", name)] if name else []
            elif self.opts.ca_file:
                with open(self.opts.ca_file, "rb") as fh:
                    root = fh.read()
            creds = grpc.ssl_channel_credentials(root_certificates=root)
            if self._channel is None:  # another call may have made it while the certificate was fetched
                self._channel = grpc.aio.secure_channel(self.hostport, creds, options=options)
        return self._channel

    @property
    def _connect_wait(self) -> float:
        return min(self.opts.timeout, CONNECT_WAIT_SEC)

    async def connection_problem(self, details: str = "") -> str | None:
        """Why the channel cannot connect, in one line, or None when it is connected (then an UNAVAILABLE
        came from the server). Found once per target: a refused TCP connection, then what a TLS handshake
        says (untrusted or mismatched certificate, TLS against a plain port or the reverse)."""
        channel = await self._get_channel()
        if channel.get_state(try_to_connect=False) == grpc.ChannelConnectivity.READY:
            return None
        if self._problem is None:
            wait, url, secure = self._connect_wait, self.opts.url, self.secure
            problem = await asyncio.to_thread(tcp_problem, url, wait)
            if problem is None and not (secure and self.opts.insecure):
                ca = self.opts.ca_file
                problem = await asyncio.to_thread(
                    lambda: tls_problem(url, ca_file=ca, timeout=wait, expect_tls=secure)
                )
            self._problem = problem or f"no gRPC connection ({_first_line(details) or 'channel not ready'})"
        return self._problem

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
        channel = await self._get_channel()
        metadata: list[tuple[str, str]] = []
        authz = auth_header(self.opts, auth)
        if authz:
            metadata.append(("authorization", authz))
        if operation == "HealthCheck":
            return await self._health(channel, metadata, auth, timeout)
        method_path = path.replace("/v3/", f"/{GRPC_SERVICE}/") if path else f"/{GRPC_SERVICE}/{operation}"
        url = f"{self.url}{method_path}"
        req_cls = getattr(booking_pb2, f"{operation}Request", None)
        resp_cls = getattr(booking_pb2, f"{operation}Response", None)
        headers = redact_headers(dict(metadata), auth_mode=auth)
        request = HttpMessage(headers=headers, body=body, method="grpc", url=url)
        if raw is not None:
            raise ValueError("raw (non-JSON) bodies cannot be sent over gRPC")
        if req_cls is None or resp_cls is None:
            # unknown method: send an empty message; the server should answer UNIMPLEMENTED
            serializer: Any = lambda _m: b""  # noqa: E731
            deserializer: Any = lambda b: b  # noqa: E731
            msg: Any = None
        else:
            msg = json_format.ParseDict(body or {}, req_cls(), ignore_unknown_fields=False)
            serializer, deserializer = req_cls.SerializeToString, resp_cls.FromString
        rpc = channel.unary_unary(
            method_path, request_serializer=serializer, response_deserializer=deserializer
        )
        t0 = time.perf_counter()
        try:
            resp = await rpc(msg, metadata=metadata or None, timeout=timeout or self.opts.timeout)
            elapsed = (time.perf_counter() - t0) * 1000.0
            code, name, details = 0, "OK", ""
        except grpc.aio.AioRpcError as exc:
            elapsed = (time.perf_counter() - t0) * 1000.0
            code, name, details = exc.code().value[0], exc.code().name, exc.details() or ""
            resp = None
            unreachable = await self._unreachable(operation, request, code, details, elapsed)
            if unreachable is not None:
                return unreachable
        return self._reply(operation, request, resp, code, name, details, elapsed)

    async def _unreachable(
        self, operation: str, request: HttpMessage, code: int, details: str, elapsed: float
    ) -> Reply | None:
        """An UNAVAILABLE of a channel that is not connected is a transport error (no status, the reason
        in ``exchange.error``), as a refused REST connection is; an UNAVAILABLE the server sent is not."""
        if code != UNAVAILABLE:
            return None
        problem = await self.connection_problem(details)
        if problem is None:
            return None
        ex = Exchange(
            operation=operation,
            transport="grpc",
            request=request,
            response=None,
            elapsed_ms=elapsed,
            error=problem,
        )
        return Reply(exchange=ex, status=None, body=None, raw=None, is_json=False)

    def _reply(
        self,
        operation: str,
        request: HttpMessage,
        resp: Any,
        code: int,
        name: str,
        details: str,
        elapsed: float,
    ) -> Reply:
        decoded: Any = None
        if resp is not None and not isinstance(resp, bytes):
            decoded = json_format.MessageToDict(resp, preserving_proto_field_name=True)
        elif code != 0:
            decoded = details or None
        response = HttpMessage(headers={}, body=decoded, status=code, status_text=name)
        ex = Exchange(
            operation=operation, transport="grpc", request=request, response=response, elapsed_ms=elapsed
        )
        is_json = isinstance(decoded, dict)
        norm = normalize(decoded, f"{operation}Response") if is_json else decoded
        return Reply(
            exchange=ex,
            status=GRPC_TO_HTTP.get(code, 500),
            body=norm,
            raw=decoded,
            is_json=is_json,
            content_type="application/grpc",
        )

    async def _health(
        self, channel: Any, metadata: list[tuple[str, str]], auth: str, timeout: float | None
    ) -> Reply:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(channel)
        url = f"{self.url}/grpc.health.v1.Health/Check"
        body = {"service": GRPC_SERVICE}
        request = HttpMessage(
            headers=redact_headers(dict(metadata), auth_mode=auth), body=body, method="grpc", url=url
        )
        t0 = time.perf_counter()
        try:
            resp = await stub.Check(
                health_pb2.HealthCheckRequest(service=GRPC_SERVICE),
                metadata=metadata or None,
                timeout=timeout or self.opts.timeout,
            )
            elapsed = (time.perf_counter() - t0) * 1000.0
        except grpc.aio.AioRpcError as exc:
            elapsed = (time.perf_counter() - t0) * 1000.0
            code = exc.code().value[0]
            unreachable = await self._unreachable("HealthCheck", request, code, exc.details() or "", elapsed)
            if unreachable is not None:
                return unreachable
            response = HttpMessage(
                headers={}, body=exc.details(), status=exc.code().value[0], status_text=exc.code().name
            )
            ex = Exchange(
                operation="HealthCheck",
                transport="grpc",
                request=request,
                response=response,
                elapsed_ms=elapsed,
            )
            return Reply(
                exchange=ex,
                status=GRPC_TO_HTTP.get(exc.code().value[0], 500),
                body=exc.details(),
                raw=exc.details(),
                is_json=False,
            )
        decoded = json_format.MessageToDict(resp, preserving_proto_field_name=True)
        serving = resp.status == health_pb2.HealthCheckResponse.SERVING
        response = HttpMessage(headers={}, body=decoded, status=0, status_text="OK")
        ex = Exchange(
            operation="HealthCheck", transport="grpc", request=request, response=response, elapsed_ms=elapsed
        )
        return Reply(exchange=ex, status=200 if serving else 503, body=decoded, raw=decoded, is_json=True)

    async def preflight(self) -> None:
        """Raise :class:`TargetUnreachable` ("cannot reach URL: why" and a hint) unless the channel connects
        within a few seconds. A channel that fails (TRANSIENT_FAILURE) is diagnosed at once."""
        channel = await self._get_channel()
        deadline = time.monotonic() + self._connect_wait
        state = channel.get_state(try_to_connect=True)
        while state != grpc.ChannelConnectivity.READY:
            left = deadline - time.monotonic()
            if state == grpc.ChannelConnectivity.TRANSIENT_FAILURE or left <= 0:
                break
            try:
                await asyncio.wait_for(channel.wait_for_state_change(state), timeout=left)
            except TimeoutError:
                break
            state = channel.get_state(try_to_connect=True)
        if state == grpc.ChannelConnectivity.READY:
            return
        problem = await self.connection_problem() or "no gRPC connection"
        hint = transport_hint(self.url, problem)
        raise TargetUnreachable(f"cannot reach {self.url}: {problem}\n  hint: {hint}")

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


def server_certificate(url: str, timeout: float) -> tuple[bytes | None, str]:
    """The certificate the server at ``url`` shows (PEM) and a name it holds, for ``--insecure``: trusted
    as the channel's only root, with that name as the expected host, gRPC accepts that certificate (and
    no other). ``(None, "")`` when none could be fetched: the channel then fails and is diagnosed."""
    host, port = host_port(url)
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except (OSError, ValueError):
        return None, ""
    ctx = ssl.create_default_context(cadata=pem)
    ctx.check_hostname = False
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the server's own certificate as the trust anchor
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with ctx.wrap_socket(sock, server_hostname=host) as tls:
                cert = tls.getpeercert() or {}
    except (OSError, ValueError):
        return pem.encode(), ""
    return pem.encode(), _a_name(cert, host)


def _a_name(cert: dict[str, Any], host: str) -> str:
    """The host itself when the certificate holds it, else its first DNS or IP name, else its CN."""
    names = [str(v) for k, v in cert.get("subjectAltName", ()) if k in ("DNS", "IP Address")]
    if host in names or not names:
        subject = dict(x[0] for x in cert.get("subject", ()) if x)
        return host if host in names else str(subject.get("commonName", ""))
    first = names[0]
    return "bookcheck." + first[2:] if first.startswith("*.") else first


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""
