"""The machinery every fault profile shares: the :class:`Fault` base class, the profile registry and the
:class:`FaultPlan` that installs a set of faults into a running server.

Where a fault acts (one of, or both):

- **the application layer** (:meth:`Fault.intercept`): an interceptor of :class:`mock_server.app.BookingApp`,
  so REST and gRPC see the same misbehaviour. It reaches the domain only through its public API
  (``app.service``: the inventory's slots and their counters, ``get_booking``, ``list_bookings`` …).
- **the REST adapter** (:meth:`Fault.rest_before` / :meth:`Fault.rest_after`): an aiohttp middleware, for
  what only exists on the HTTP wire (credentials, malformed bodies, content types, the JSON shape of an
  answer, a dropped TCP connection).

The REST middleware also publishes the request it serves in :data:`REST_REQUEST` (a context variable), so an
application-layer fault can tell REST from gRPC and see whether the HTTP client is still connected.

Imports go one way: :mod:`.rest`, :mod:`.chaos`, :mod:`.violations` and :mod:`.registry` import this module,
never the reverse. The REST middleware is built by :mod:`.rest`, which hands its builder to
:meth:`FaultPlan.use_rest_middleware` when it is imported (the package imports it), so this module needs
neither aiohttp nor the REST adapter.

Bounds: every wait a fault adds (latency, hang) ends at the latest when :meth:`FaultPlan.close` runs, which
the server calls first when it shuts down; no task outlives the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mock_server.app import METHODS, AppError, BookingApp, ErrorCode

from .spec import FaultSpec, FaultSpecError, split_spec

Handler = Callable[[Any], Awaitable[Any]]
#: Builds the aiohttp middleware of a plan (:func:`mock_server.faults.rest.make_middleware`).
MiddlewareFactory = Callable[["FaultPlan"], Any]

#: The aiohttp request being served (None over gRPC): set by the REST middleware.
REST_REQUEST: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "bookcheck_fault_rest_request", default=None
)


@dataclass
class DropBox:
    """Set by a fault that wants the REST connection dropped instead of answered."""

    drop: bool = False


DROP: contextvars.ContextVar[DropBox | None] = contextvars.ContextVar("bookcheck_fault_drop", default=None)


class Fault:
    """One active fault profile. Subclasses set the class attributes and override what they need."""

    #: profile name as given to ``--fault``
    name: ClassVar[str] = ""
    #: one line for ``--help`` and docs/faults.md
    summary: ClassVar[str] = ""
    #: the argument syntax ("" when the profile takes none)
    args_help: ClassVar[str] = ""
    #: "chaos" (transport trouble a client must survive) or "violation" (breaks a catalogue rule)
    kind: ClassVar[str] = "violation"
    #: methods it applies to unless ``@Method`` says otherwise (None: every method)
    default_methods: ClassVar[frozenset[str] | None] = None
    #: transports on which the misbehaviour is visible
    transports: ClassVar[tuple[str, ...]] = ("rest", "grpc")
    #: which layer(s) it acts in
    app_level: ClassVar[bool] = True
    rest_level: ClassVar[bool] = False

    def __init__(self, spec: FaultSpec, plan: FaultPlan) -> None:
        self.spec = spec
        self.plan = plan
        self.methods: frozenset[str] | None = (
            spec.methods if spec.methods is not None else self.default_methods
        )
        self.configure(spec.args)

    # -- configuration ------------------------------------------------------------------------------------

    def configure(self, args: str) -> None:
        """Parse the text after ``=``; the default accepts none."""
        if args:
            raise FaultSpecError(f"--fault {self.spec.text!r}: {self.name} takes no arguments")

    def where(self) -> str:
        return f"--fault {self.spec.text!r}"

    def applies(self, method: str) -> bool:
        return self.methods is None or method in self.methods

    def applies_rest(self, method: str | None) -> bool:
        """For REST hooks: ``method`` is None for a path that names no served method."""
        if self.methods is None:
            return True
        return method is not None and method in self.methods

    # -- shortcuts to the server --------------------------------------------------------------------------

    @property
    def app(self) -> BookingApp:
        assert self.plan.app is not None, "the fault plan is not installed"
        return self.plan.app

    @property
    def rng(self) -> random.Random:
        return self.plan.rng_for(self)

    # -- hooks --------------------------------------------------------------------------------------------

    async def intercept(self, method: str, request: Any, call_next: Handler) -> Any:
        return await call_next(request)

    async def rest_before(self, request: Any) -> Any:
        """Return the request to serve (possibly a clone), or a response to send instead."""
        return request

    async def rest_after(self, request: Any, method: str | None, response: Any) -> Any:
        """Return the response to send (``method`` is the served method, None for an unknown path)."""
        return response


PROFILES: dict[str, type[Fault]] = {}


def profile(cls: type[Fault]) -> type[Fault]:
    """Register a :class:`Fault` subclass under its ``name``."""
    if not cls.name or cls.name in PROFILES:
        raise ValueError(f"fault profile {cls.name!r} is unnamed or registered twice")
    PROFILES[cls.name] = cls
    return cls


def usage_names() -> str:
    return ", ".join(sorted(PROFILES))


@dataclass
class FaultPlan:
    """The faults of one server, in ``--fault`` order (the first one is the outermost)."""

    faults: list[Fault] = field(default_factory=list)
    seed: int = 0
    user: str | None = None
    password: str | None = None
    app: BookingApp | None = None
    _rngs: dict[int, random.Random] = field(default_factory=dict)
    _shutdown: asyncio.Event | None = None
    _closed: bool = False
    #: set by :mod:`.rest` when it is imported: the builder of the REST middleware
    _rest_middleware_factory: ClassVar[MiddlewareFactory | None] = None

    @classmethod
    def use_rest_middleware(cls, factory: MiddlewareFactory) -> None:
        """Called once by :mod:`.rest`: how :meth:`rest_middleware` builds the aiohttp middleware."""
        cls._rest_middleware_factory = factory

    # -- randomness and shutdown --------------------------------------------------------------------------

    def rng_for(self, fault: Fault) -> random.Random:
        """One generator per fault, seeded from ``--seed`` and its position: runs are reproducible."""
        key = id(fault)
        if key not in self._rngs:
            index = self.faults.index(fault) if fault in self.faults else len(self._rngs)
            self._rngs[key] = random.Random(f"bookcheck-fault:{self.seed}:{index}:{fault.spec.text}")
        return self._rngs[key]

    @property
    def shutdown(self) -> asyncio.Event:
        if self._shutdown is None:
            self._shutdown = asyncio.Event()
            if self._closed:
                self._shutdown.set()
        return self._shutdown

    @property
    def closed(self) -> bool:
        return self._closed

    async def sleep(self, seconds: float) -> bool:
        """Sleep, but wake up at shutdown; True when the whole time passed."""
        if seconds <= 0:
            return not self._closed
        try:
            await asyncio.wait_for(self.shutdown.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        """Release every wait (called by the server before it stops listening)."""
        self._closed = True
        if self._shutdown is not None:
            self._shutdown.set()

    # -- installation -------------------------------------------------------------------------------------

    @property
    def has_rest_faults(self) -> bool:
        return any(f.rest_level for f in self.faults)

    def install(self, app: BookingApp) -> None:
        """Add one application-layer interceptor per fault to ``app``."""
        self.app = app
        for fault in self.faults:
            if fault.app_level:
                app.add_interceptor(_interceptor(fault))

    def rest_middleware(self) -> Any:
        """The aiohttp middleware of the REST-level faults (also publishes :data:`REST_REQUEST`)."""
        factory = type(self)._rest_middleware_factory
        if factory is None:
            raise RuntimeError(
                "import mock_server.faults (or .faults.rest) before building a REST middleware"
            )
        return factory(self)


def _interceptor(fault: Fault) -> Callable[[str, Any, Handler], Awaitable[Any]]:
    async def intercept(method: str, request: Any, call_next: Handler) -> Any:
        if not fault.applies(method):
            return await call_next(request)
        return await fault.intercept(method, request, call_next)

    intercept.__name__ = f"fault_{fault.name.replace('-', '_')}"
    return intercept


def parse_faults(
    specs: tuple[str, ...] | list[str], *, seed: int = 0, user: str | None = None, password: str | None = None
) -> FaultPlan:
    """Build the plan of ``--fault`` values. Raises :class:`FaultSpecError` (one line) on a bad value."""
    plan = FaultPlan(seed=seed, user=user, password=password)
    for text in specs:
        spec = split_spec(text)
        cls = PROFILES.get(spec.name)
        if cls is None:
            raise FaultSpecError(
                f"--fault {spec.text!r}: unknown profile {spec.name!r}; valid: {usage_names()}"
            )
        plan.faults.append(cls(spec, plan))
    return plan


def check_spec(text: str) -> str:
    """Validate one ``--fault`` value (for argparse ``type=``); returns it unchanged."""
    parse_faults([text])
    return text


def method_error(code: ErrorCode, message: str, http: int | None = None) -> AppError:
    return AppError(code, message, http=http)


__all__ = [
    "DROP",
    "METHODS",
    "REST_REQUEST",
    "DropBox",
    "Fault",
    "FaultPlan",
    "PROFILES",
    "check_spec",
    "parse_faults",
    "profile",
    "usage_names",
]
