"""gRPC target: bookcheck's own gRPC form of v3 (spec §11 "gRPC form").

Requests are built from the same JSON bodies as over REST (``json_format.ParseDict``) and responses turned
back into dicts with ``MessageToDict(preserving_proto_field_name=True)`` before normalisation, so checks see
the same dict shape for both transports. The gRPC status code is mapped to its HTTP equivalent (§11 table)
for the checks; the Exchange keeps the numeric gRPC code and its name, as ``harness.results`` documents.
Health uses ``grpc.health.v1.Health/Check`` for the service name
``ext.maps.booking.partner.v3.BookingService``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import grpc
from google.protobuf import json_format

from booking_protocol import booking_pb2
from booking_protocol.errors import TargetUnreachable
from harness.evidence import redact_headers
from harness.normalize import normalize
from harness.results import Exchange, HttpMessage
from harness.target_base import GRPC_SERVICE, GRPC_TO_HTTP, Reply, TargetOptions, auth_header


class GrpcTarget:
    transport = "grpc"

    def __init__(self, opts: TargetOptions) -> None:
        self.opts = opts
        parts = urlsplit(opts.url)
        self.secure = parts.scheme.lower() == "grpcs"
        self.hostport = parts.netloc.rsplit("@", 1)[-1]
        self.url = f"{parts.scheme}://{self.hostport}"
        self._channel: Any = None

    def _get_channel(self) -> Any:
        if self._channel is None:
            if self.secure:
                root = None
                if self.opts.ca_file:
                    with open(self.opts.ca_file, "rb") as fh:
                        root = fh.read()
                creds = grpc.ssl_channel_credentials(root_certificates=root)
                self._channel = grpc.aio.secure_channel(self.hostport, creds)
            else:
                self._channel = grpc.aio.insecure_channel(self.hostport)
        return self._channel

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
        channel = self._get_channel()
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
        return self._reply(operation, request, resp, code, name, details, elapsed)

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
        channel = self._get_channel()
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout=min(self.opts.timeout, 5.0))
        except (TimeoutError, grpc.aio.AioRpcError) as exc:
            raise TargetUnreachable(
                f"cannot reach {self.url}: no gRPC connection ({type(exc).__name__})"
            ) from None

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
