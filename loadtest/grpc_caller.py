"""gRPC calls from a Locust worker: grpcio under gevent, each call reported to Locust's ``request`` event.

Request bodies are the same proto3 JSON the REST user sends, turned into messages with protobuf's own
``json_format``; gRPC status codes become HTTP statuses with the harness's table (spec §11 gRPC form).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import grpc
import grpc.experimental.gevent
from google.protobuf import json_format
from locust.env import Environment

from booking_protocol import booking_pb2
from harness.targets import GRPC_SERVICE, GRPC_TO_HTTP
from loadtest.flows import Answer
from loadtest.plan import LoadPlan

grpc.experimental.gevent.init_gevent()


class GrpcCaller:
    def __init__(self, plan: LoadPlan, environment: Environment) -> None:
        parts = urlsplit(plan.target)
        address = parts.netloc
        if parts.scheme == "grpcs":
            root = open(plan.ca_file, "rb").read() if plan.ca_file else None  # noqa: SIM115
            self.channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root))
        else:
            self.channel = grpc.insecure_channel(address)
        self.environment, self.timeout = environment, plan.timeout
        auth = plan.basic_auth()
        self.metadata = [("authorization", auth)] if auth else []
        self.rpcs: dict[str, Any] = {}

    def rpc(self, method: str) -> Any:
        if method not in self.rpcs:
            if method == "HealthCheck":
                from grpc_health.v1 import health_pb2

                path = "/grpc.health.v1.Health/Check"
                req, resp = health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
            else:
                path = f"/{GRPC_SERVICE}/{method}"
                req = getattr(booking_pb2, f"{method}Request")
                resp = getattr(booking_pb2, f"{method}Response")
            call = self.channel.unary_unary(
                path, request_serializer=req.SerializeToString, response_deserializer=resp.FromString
            )
            self.rpcs[method] = (call, req)
        return self.rpcs[method]

    def call(self, method: str, body: dict[str, Any] | None) -> Answer:
        call, req_cls = self.rpc(method)
        msg = json_format.ParseDict(body or {}, req_cls(), ignore_unknown_fields=True)
        t0 = time.perf_counter()
        exc: Exception | None = None
        try:
            resp = call(msg, metadata=self.metadata or None, timeout=self.timeout)
            data = json_format.MessageToDict(resp, preserving_proto_field_name=True)
            answer = Answer(method, 200, data, (time.perf_counter() - t0) * 1000.0)
        except grpc.RpcError as e:
            code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
            ms = (time.perf_counter() - t0) * 1000.0
            status = GRPC_TO_HTTP.get(code.value[0], 500) if code != grpc.StatusCode.UNAVAILABLE else 503
            transport = code in (grpc.StatusCode.DEADLINE_EXCEEDED,)
            answer = Answer(method, None if transport else status, {}, ms, code.name if transport else None)
            exc = e
        if exc is None and answer.cause is not None:
            exc = RuntimeError(f"booking_failure {answer.cause}")
        self.environment.events.request.fire(  # type: ignore[no-untyped-call]
            request_type="grpc",
            name=method,
            response_time=answer.ms,
            response_length=0,
            exception=exc,
            context={},
        )
        return answer
