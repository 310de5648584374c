"""Transport chaos: the partner is slow, flaky or silent, but never *wrong*.

These are for client developers (and for the latency rules of the catalogue): ``latency`` (fixed, uniform,
log-normal), ``error-rate`` (HTTP 5xx / gRPC UNAVAILABLE), ``drop`` (the connection is closed without an
answer; gRPC clients see UNAVAILABLE) and ``hang`` (no answer until the client gives up or the server stops).
Each one may be limited to methods with ``@Method``. Random choices come from the plan's seeded generator,
so ``bookcheck serve --seed N`` replays the same sequence for the same sequence of requests.

Every delay is interruptible by the server's shutdown, and a hung REST request is released as soon as its
client disconnects, so nothing outlives the server.
"""

from __future__ import annotations

import math
from typing import Any

from mock_server.app import AppError, ErrorCode

from .base import DROP, REST_REQUEST, Fault, Handler, profile
from .spec import FaultSpecError, parse_duration, parse_keywords, parse_rate

#: Longest single injected delay unless ``max=`` says otherwise (a log-normal tail is unbounded).
DEFAULT_MAX_DELAY_SEC = 60.0
#: How often a hung request looks whether its REST client is still there.
HANG_POLL_SEC = 0.2

_ERROR_CODES = {
    429: ErrorCode.RESOURCE_EXHAUSTED,
    500: ErrorCode.INTERNAL,
    503: ErrorCode.UNAVAILABLE,
    504: ErrorCode.DEADLINE_EXCEEDED,
}


@profile
class Latency(Fault):
    name = "latency"
    kind = "chaos"
    summary = "delay answers: a fixed time, uniform between two times, or log-normal around a median"
    args_help = "fixed:200ms | 200ms | uniform:100ms..2s | lognormal:median=100ms,sigma=0.5[,max=30s]"

    dist = "fixed"
    low = high = 0.0
    median = 0.0
    sigma = 0.0
    cap = DEFAULT_MAX_DELAY_SEC

    def configure(self, args: str) -> None:
        where = self.where()
        if not args:
            raise FaultSpecError(
                f"{where}: give a delay, e.g. latency=fixed:200ms or latency=uniform:100ms..2s"
            )
        kind, colon, rest = args.partition(":")
        if not colon:
            kind, rest = "fixed", args
        kind = kind.strip().lower()
        if kind == "fixed":
            self.low = self.high = parse_duration(rest, where)
        elif kind == "uniform":
            lo, dots, hi = rest.partition("..")
            if not dots:
                raise FaultSpecError(f"{where}: uniform needs LOW..HIGH, e.g. uniform:100ms..2s")
            self.low, self.high = parse_duration(lo, where), parse_duration(hi, where)
            if self.high < self.low:
                raise FaultSpecError(f"{where}: {hi!r} is shorter than {lo!r}")
        elif kind == "lognormal":
            kw = parse_keywords(rest, where, ("median", "sigma", "max"))
            if "median" not in kw:
                raise FaultSpecError(
                    f"{where}: lognormal needs median=…, e.g. lognormal:median=100ms,sigma=0.5"
                )
            self.median = parse_duration(kw["median"], where)
            try:
                self.sigma = float(kw.get("sigma", "0.5"))
            except ValueError:
                raise FaultSpecError(f"{where}: sigma must be a number") from None
            if self.sigma < 0 or self.median <= 0:
                raise FaultSpecError(f"{where}: median must be > 0 and sigma >= 0")
            if "max" in kw:
                self.cap = parse_duration(kw["max"], where)
        else:
            raise FaultSpecError(f"{where}: unknown distribution {kind!r} (fixed, uniform, lognormal)")
        self.dist = kind

    def delay(self) -> float:
        if self.dist == "fixed":
            return self.low
        if self.dist == "uniform":
            return self.rng.uniform(self.low, self.high)
        return min(self.cap, self.rng.lognormvariate(math.log(self.median), self.sigma))

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        await self.plan.sleep(self.delay())
        return await call_next(request)


@profile
class SlowBal(Latency):
    name = "slow-bal"
    kind = "violation"
    summary = "BatchAvailabilityLookup answers after 1.7 s, over its 1.5 s budget (or the delay given)"
    args_help = "[DURATION] (default 1.7s)"
    default_methods = frozenset({"BatchAvailabilityLookup"})

    def configure(self, args: str) -> None:
        self.dist = "fixed"
        self.low = self.high = parse_duration(args, self.where()) if args else 1.7


@profile
class ErrorRate(Fault):
    name = "error-rate"
    kind = "chaos"
    summary = "answer a share of requests with an error: HTTP 503 / gRPC UNAVAILABLE (or 429, 500, 504)"
    args_help = "RATE[:STATUS], e.g. 0.1, 10%, 0.05:500"

    rate = 1.0
    code = ErrorCode.UNAVAILABLE

    def configure(self, args: str) -> None:
        if not args:
            raise FaultSpecError(f"{self.where()}: give a rate, e.g. error-rate=0.1 or error-rate=10%:500")
        rate, colon, status = args.partition(":")
        self.rate = parse_rate(rate, self.where())
        if colon:
            try:
                self.code = _ERROR_CODES[int(status)]
            except (ValueError, KeyError):
                raise FaultSpecError(
                    f"{self.where()}: the status must be one of {', '.join(map(str, _ERROR_CODES))}"
                ) from None

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if self.rng.random() < self.rate:
            raise AppError(self.code, f"injected error (--fault {self.spec.text})")
        return await call_next(request)


class _RatedFault(Fault):
    kind = "chaos"
    args_help = "[RATE] (default 1 = every request)"
    rate = 1.0

    def configure(self, args: str) -> None:
        self.rate = parse_rate(args, self.where()) if args else 1.0

    def hit(self) -> bool:
        return self.rate >= 1.0 or self.rng.random() < self.rate


@profile
class Drop(_RatedFault):
    name = "drop"
    summary = (
        "close the connection without an answer (REST: the TCP connection is aborted; gRPC: the call "
        "fails with UNAVAILABLE, as a dropped connection does); the request is not executed"
    )

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not self.hit():
            return await call_next(request)
        box = DROP.get()
        if box is not None:
            box.drop = True
        raise AppError(ErrorCode.UNAVAILABLE, f"connection dropped (--fault {self.spec.text})")


@profile
class Hang(_RatedFault):
    name = "hang"
    summary = (
        "never answer: hold the request until the client gives up (disconnects, or its gRPC deadline "
        "passes) or the server shuts down; the request is not executed"
    )

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        if not self.hit():
            return await call_next(request)
        rest = REST_REQUEST.get()
        while await self.plan.sleep(HANG_POLL_SEC):
            if rest is not None and _client_gone(rest):
                break
        box = DROP.get()
        if box is not None:
            box.drop = True
        raise AppError(ErrorCode.UNAVAILABLE, f"no answer (--fault {self.spec.text})")


def _client_gone(request: Any) -> bool:
    transport = getattr(request, "transport", None)
    return transport is None or transport.is_closing()
