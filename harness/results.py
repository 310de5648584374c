"""Result records: the only thing the runner hands to report writers.

Everything here is frozen, built from plain values, and round-trips through ``to_dict``/``from_dict``, so
results can cross process boundaries (``--workers``, pytest-xdist) and be written by any report format
without the writer knowing about targets, scenarios or the runner.

Vocabulary
    * A **rule** is one normative sentence of the spec, from ``scenarios/rules.yaml`` (id, level, section).
    * A **check** is one evaluation of one rule at one step of one scenario: a :class:`CheckResult`.
    * A **deviation** is a check whose status is FAIL or WARN; it carries its evidence: the exchanges that
      matter (earlier steps included), expected and actual, and a command that reproduces it.
    * An :class:`Exchange` is one request and its response (or the transport error instead of one), with
      credentials already redacted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from booking_protocol.errors import ExitCode as ExitCode  # re-exported: reports import it from here

#: Version of the JSON report layout; bump on any incompatible change (see reports/report.schema.json).
SCHEMA_VERSION = "1.0"


class Status(str, enum.Enum):  # noqa: UP042  (StrEnum would change str(); writers rely on .value)
    """Outcome of a check or a scenario.

    PASS   the rule held.
    FAIL   an error-level rule (MUST) was broken: a deviation that fails the run.
    WARN   a warning-level rule (SHOULD) was broken: a deviation that fails the run only with
           --fail-on warning.
    SKIP   not tested because the target profile does not claim the capability, or the feed is too small; the
           reason is always given.
    ERROR  the harness or the target broke so that the rule could not be judged (bad scenario file, timeout
           of the harness itself, refused connection).
    """

    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"
    ERROR = "ERROR"


class Severity(str, enum.Enum):  # noqa: UP042  (as Status)
    """Severity of a rule, from its spec keyword: MUST -> error, SHOULD -> warning, MAY -> info."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @classmethod
    def from_level(cls, level: str) -> Severity:
        return {
            "MUST": cls.ERROR,
            "MUST NOT": cls.ERROR,
            "SHOULD": cls.WARNING,
            "SHOULD NOT": cls.WARNING,
            "MAY": cls.INFO,
        }[level.upper()]


#: How a gRPC status code (``HttpMessage.status`` of a gRPC response) reads as an HTTP status: the mapping of
#: spec §4 / §11 "gRPC form". Checks and reports judge both transports alike through it.
GRPC_TO_HTTP = {
    0: 200,
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}


@dataclass(frozen=True)
class HttpMessage:
    """One side of an exchange, as it travelled. ``body`` is the decoded JSON when it parsed, else text."""

    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # request side
    method: str | None = None  # HTTP verb, or "grpc"
    url: str | None = None  # full URL, or grpc://host:port/package.Service/Method
    # response side
    status: int | None = None  # HTTP status; for gRPC the numeric status code
    status_text: str | None = None  # HTTP reason, or the gRPC code name (e.g. "NOT_FOUND")


@dataclass(frozen=True)
class Exchange:
    """One call: the request, the response (None if the transport failed) and how long it took."""

    operation: str  # spec operation, e.g. "CreateBooking", "HealthCheck"
    transport: str  # "rest" or "grpc"
    request: HttpMessage
    response: HttpMessage | None
    elapsed_ms: float
    error: str | None = None  # transport error text when there is no response (timeout, reset, ...)
    scenario_id: str = ""
    step: str = ""
    sent_at: float | None = None  # epoch seconds (run clock) when sent: replays keep waits and overlap


@dataclass(frozen=True)
class CheckResult:
    rule_id: str
    status: Status
    severity: Severity
    spec: str  # the spec section the rule enforces, e.g. "§3.2" or "§11 D8"
    scenario_id: str
    step: str
    message: str  # one line a partner can act on
    expected: str | None = None
    actual: str | None = None
    exchanges: tuple[Exchange, ...] = ()
    reproduce: str | None = None  # a shell command (curl / grpcurl) that replays the decisive request
    elapsed_ms: float | None = None
    baselined: bool = False  # a known deviation listed in --baseline: reported, does not fail the run

    @property
    def is_deviation(self) -> bool:
        return self.status in (Status.FAIL, Status.WARN)

    def fails_run(self, fail_on: str = "error") -> bool:
        """THE verdict rule for one check, asked by every output (exit code, console, JSON, JUnit, HTML,
        pytest plugin): an error-level deviation fails the run, a warning-level one only with
        ``--fail-on warning``, and a baselined (known) deviation never does."""
        if self.baselined:
            return False
        return self.status == Status.FAIL or (fail_on == "warning" and self.status == Status.WARN)


@dataclass(frozen=True)
class ScenarioResult:
    scenario_id: str
    title: str
    status: Status  # worst of its checks; SKIP/ERROR with ``reason`` when it did not run
    checks: tuple[CheckResult, ...] = ()
    reason: str | None = None
    duration_ms: float = 0.0
    transport: str = "rest"
    spec: tuple[str, ...] = ()
    #: every call of the scenario in the order sent, kept when it has a deviation or an error, so a
    #: reproducer can replay all the steps before the failing one (empty otherwise, to keep reports small)
    exchanges: tuple[Exchange, ...] = ()

    def failing_checks(self, fail_on: str = "error") -> list[CheckResult]:
        """The checks of this scenario that fail the run (see :meth:`CheckResult.fails_run`)."""
        return [c for c in self.checks if c.fails_run(fail_on)]

    def fails_run(self, fail_on: str = "error") -> bool:
        """A scenario fails the run when one of its checks does, or when it ended in ERROR (the harness or
        the target broke so that its rules could not be judged: never a silent pass)."""
        return self.status == Status.ERROR or bool(self.failing_checks(fail_on))


@dataclass(frozen=True)
class Rule:
    id: str
    level: str  # MUST | MUST NOT | SHOULD | SHOULD NOT | MAY
    spec: str
    text: str
    excluded: str | None = None  # reason when the rule cannot be observed over the wire
    meaning: str | None = None  # what a deviation means for a partner (Google's consequence if known)
    fix: str | None = None  # how a partner's engineer fixes it

    @property
    def severity(self) -> Severity:
        return Severity.from_level(self.level)


@dataclass(frozen=True)
class CreatedResource:
    kind: str  # "booking" or "lease"
    id: str
    scenario_id: str
    cleaned_up: bool
    note: str | None = None  # e.g. why a cleanup failed


@dataclass(frozen=True)
class BaselineOutcome:
    accepted: tuple[str, ...] = ()  # "rule_id scenario_id" keys that matched a known deviation
    stale: tuple[str, ...] = ()  # baseline entries that no longer occur (they fail the run)


@dataclass(frozen=True)
class MethodStats:
    """Per-operation figures for the console and report summaries ("CreateBooking: 42 calls, 1 failing")."""

    operation: str  # e.g. "CreateBooking"
    calls: int  # requests sent (cleanup calls excluded)
    failed_calls: int  # calls named in the evidence of an error-level deviation, or no response
    non_2xx: int  # responses with a non-2xx HTTP status (non-OK gRPC status)
    p50_ms: float
    p95_ms: float
    max_ms: float
    budget_ms: float | None = None  # the latency budget of spec §1.2, when there is one


#: the exit code of each verdict (INTERRUPTED: 130 for SIGINT, 143 for SIGTERM, see :func:`exit_code_of`)
VERDICT_EXIT = {
    "PASS": ExitCode.OK,
    "FAIL": ExitCode.DEVIATIONS,
    "SETUP ERROR": ExitCode.USAGE,
    "UNREACHABLE": ExitCode.UNREACHABLE,
    "INCONCLUSIVE": ExitCode.INCONCLUSIVE,
    "INTERRUPTED": ExitCode.INTERRUPTED,
}


def verdict_of(outcome: str, fails: bool, inconclusive: str | None) -> str:
    """The verdict of a run that ended with ``outcome`` (see :attr:`RunResult.verdict`)."""
    if outcome == "unreachable":
        return "UNREACHABLE"
    if outcome == "setup-error":
        return "SETUP ERROR"
    if outcome == "interrupted":
        return "INTERRUPTED"
    if fails:
        return "FAIL"
    return "INCONCLUSIVE" if inconclusive else "PASS"


def exit_code_of(verdict: str, reason: str | None = None) -> ExitCode:
    """The process exit code of a verdict; an interrupted run exits 143 when SIGTERM stopped it."""
    if verdict == "INTERRUPTED" and reason and "SIGTERM" in reason:
        return ExitCode.TERMINATED
    return VERDICT_EXIT[verdict]


@dataclass(frozen=True)
class RunResult:
    target: str  # redacted target URL
    transport: str
    suite: str
    seed: int
    started_at: str  # ISO 8601, UTC: metadata only, never used for a verdict
    duration_ms: float
    scenarios: tuple[ScenarioResult, ...]
    rules: tuple[Rule, ...]
    exit_code: ExitCode
    tool_version: str = "0"
    created: tuple[CreatedResource, ...] = ()
    methods: tuple[MethodStats, ...] = ()
    baseline: BaselineOutcome = BaselineOutcome()
    fail_on: str = "error"
    schema_version: str = SCHEMA_VERSION
    #: how the run ended: "completed", "setup-error" (D30: the target cannot be judged with what it was
    #: given), "unreachable", or "interrupted" (SIGINT/SIGTERM); ``reason`` says why when not completed
    outcome: str = "completed"
    reason: str | None = None
    #: why the run could judge too little to give a verdict (D29), when it could
    inconclusive: str | None = None
    #: problems of the data, never of the server: a stale feed (D28), slots the target no longer offers
    data_warnings: tuple[str, ...] = ()
    #: the ledger file of what the run created (``bookcheck cleanup LEDGER`` finishes a killed run's cleanup)
    ledger: str | None = None

    def checks(self) -> list[CheckResult]:
        return [c for s in self.scenarios for c in s.checks]

    def deviations(self) -> list[CheckResult]:
        return [c for c in self.checks() if c.is_deviation]

    def failing_checks(self) -> list[CheckResult]:
        """The deviations that fail this run under its own ``fail_on``."""
        return [c for c in self.checks() if c.fails_run(self.fail_on)]

    def fails_run(self) -> bool:
        """Deviations that fail the run: a scenario that fails it, or a stale baseline entry."""
        return any(s.fails_run(self.fail_on) for s in self.scenarios) or bool(self.baseline.stale)

    @property
    def verdict(self) -> str:
        """THE verdict of the run, in one word, from which every output and the exit code derive:
        UNREACHABLE, SETUP ERROR or INTERRUPTED when it could not finish; FAIL when deviations fail it;
        INCONCLUSIVE when it judged too little (D29: never a PASS); PASS otherwise."""
        return verdict_of(self.outcome, self.fails_run(), self.inconclusive)

    def to_dict(self) -> dict[str, Any]:
        encoded: dict[str, Any] = _encode(self)
        return encoded

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        decoded: RunResult = _decode(cls, data)
        return decoded


# ------------------------------------------------------------------------------------------------------
# (de)serialisation: enums as their values, tuples as lists; the inverse rebuilds the dataclasses
# ------------------------------------------------------------------------------------------------------


def _encode(obj: Any) -> Any:
    if isinstance(obj, enum.Enum):
        return obj.value
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _encode(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_encode(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    return obj


def _decode(cls: type, data: Any) -> Any:
    import typing

    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _decode_value(hints[f.name], data[f.name])
    return cls(**kwargs)


def _decode_value(tp: Any, value: Any) -> Any:
    import types
    import typing

    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode_value(args[0], value) if len(args) == 1 else value
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        return tuple(_decode_value(item_tp, v) for v in value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
        return _decode(tp, value)
    return value


def result_to_dict(result: Any) -> dict[str, Any]:
    """Serialise any record of this module (CheckResult, ScenarioResult, ...) to plain JSON values."""
    encoded: dict[str, Any] = _encode(result)
    return encoded


def result_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Inverse of :func:`result_to_dict` for the given record class."""
    return _decode(cls, data)


class RunListener(Protocol):
    """What the runner tells while it works (console progress, live reporters). Results only, no runner
    internals: a listener may be called from the runner's event loop and must not block for long.

    Two optional events are called on listeners that define them (the console uses them for progress):
    ``scenario_started(scenario_id: str)`` when a scenario begins, and ``cleanup_started(count: int)``
    before the run cancels the ``count`` bookings and leases it created."""

    def run_started(self, *, target: str, transport: str, suite: str, total: int) -> None: ...

    def scenario_finished(self, result: ScenarioResult) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...
