"""pytest plugin: the bookcheck scenarios as pytest items.

    pytest -p harness.pytest_plugin --bookcheck-target https://host/base --bookcheck-feed avail.json \\
           [--bookcheck-scenario 'create-booking/*'] [--bookcheck-baseline known.yaml] \\
           [-n auto] [--junitxml out.xml]

(With bookcheck installed the plugin is registered through the ``pytest11`` entry point, so ``-p`` is not
needed.) Without ``--bookcheck-target`` the plugin does nothing.

The options are those of ``bookcheck run`` with a ``--bookcheck-`` prefix, and they go through the same
:func:`harness.prepare.prepare` once, when the session starts: a half credential pair, a bad profile file, a
pattern that matches nothing or a feedless run that needs slots is refused with the CLI's message (pytest
prints ``ERROR: <message>`` and exits 4), not reported once per item.

Each selected scenario becomes one item named after its id. An item fails exactly when its scenario fails
the run (:meth:`harness.results.ScenarioResult.fails_run`: an error-level deviation, a warning-level one
with ``--bookcheck-fail-on warning``, a scenario in ERROR; a baselined deviation never does) or when a
baseline entry naming exactly this scenario no longer occurs (wildcard entries span scenarios, and only
``bookcheck run`` sees the whole run to call them stale). It also fails when its scenario could not run for
want of usable slots (INCONCLUSIVE: never a pass), and it is skipped with the reason when the target profile
does not claim what the scenario needs. A target that cannot be judged (preflight, spec §11 D30) fails the
first item with the reason and stops the session; Ctrl-C and SIGTERM clean up like the CLI and end the
session with exit 130 or 143. Items go through :func:`harness.runner.run` like the CLI: slots are
allocated for the whole suite in every process, so pytest-xdist workers never share a slot and verdicts
equal the CLI's.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import UsageError
from harness.interrupts import Interrupts
from harness.results import ScenarioResult, Status

if TYPE_CHECKING:  # the run machinery is imported only when --bookcheck-target is given
    from harness.config import RunConfig  # noqa: F401  (named in the StashKey below)
    from harness.prepare import RunOptions

_CONFIG = pytest.StashKey["RunConfig"]()

#: (option, RunOptions field, addoption keyword arguments), in ``--help`` order.
_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("target", "target", {"metavar": "URL", "help": "booking server to test (https://host/base, grpc://)"}),
    ("user", "user", {"help": "HTTP Basic user (or BOOKCHECK_USER)"}),
    ("password", "password", {"help": "HTTP Basic password (or BOOKCHECK_PASSWORD)"}),
    ("credentials-file", "credentials_file", {"metavar": "FILE", "help": "one line 'username:password'"}),
    ("ca-file", "ca_file", {"metavar": "PEM", "help": "CA bundle to verify the target's TLS certificate"}),
    ("insecure", "insecure", {"action": "store_true", "help": "do not verify TLS certificates"}),
    ("timeout", "timeout", {"type": float, "default": 10.0, "help": "per-call timeout in seconds"}),
    ("trailing-slash", "trailing_slash", {"action": "store_true", "help": "send /v3/Method/ (D2)"}),
    ("feed", "feed", {"metavar": "PATH", "help": "the target's availability feed"}),
    ("merchant", "merchant", {"help": "use only slots of this merchant_id"}),
    ("service", "service", {"help": "use only slots of this service_id"}),
    ("min-lead", "min_lead_sec", {"type": int, "default": 600, "metavar": "SEC", "help": "slot lead time"}),
    ("num-slots", "num_slots", {"type": int, "default": 10, "help": "slots of the google-test-client suite"}),
    ("profile", "profile", {"metavar": "FILE", "help": "target profile YAML (flags below override it)"}),
    ("availability", "availability", {"choices": ("bal", "check", "both"), "help": "availability method"}),
    ("leases", "leases", {"action": argparse.BooleanOptionalAction, "help": "the target implements leases"}),
    (
        "get-booking-status",
        "get_booking_status",
        {"action": argparse.BooleanOptionalAction, "help": "the target implements GetBookingStatus"},
    ),
    (
        "list-bookings",
        "list_bookings",
        {"action": argparse.BooleanOptionalAction, "help": "the target implements ListBookings"},
    ),
    (
        "party-size-change",
        "party_size_change",
        {"action": argparse.BooleanOptionalAction, "help": "the target accepts a party_size change"},
    ),
    ("suite", "suite", {"default": "default", "help": "default, google-test-client, smoke or all"}),
    ("scenario", "only", {"action": "append", "default": [], "metavar": "PATTERN", "help": "run only these"}),
    (
        "skip-scenario",
        "exclude",
        {"action": "append", "default": [], "metavar": "PATTERN", "help": "leave out"},
    ),
    (
        "scenario-file",
        "scenario_files",
        {"action": "append", "default": [], "help": "an extra scenario file"},
    ),
    ("seed", "seed", {"type": int, "default": 0, "help": "seed (default 0)"}),
    ("nonce", "nonce", {"help": "pin the per-run nonce in tokens and user ids"}),
    (
        "keep-bookings",
        "keep_bookings",
        {"action": "store_true", "help": "do not cancel what the run created"},
    ),
    ("fail-on", "fail_on", {"default": "error", "help": "error (default) or warning"}),
    ("baseline", "baseline", {"metavar": "FILE", "help": "known deviations (they do not fail their items)"}),
    (
        "allow-payments",
        "allow_payments",
        {"action": "store_true", "help": "run the payment scenarios (they charge the target's test gateway)"},
    ),
    ("payment-fixtures", "payment_fixtures", {"metavar": "FILE", "help": "outcome -> test token (YAML)"}),
    (
        "payment-token-command",
        "payment_token_command",
        {"metavar": "CMD", "help": "prints one fresh approving test token per call"},
    ),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bookcheck", "bookcheck conformance scenarios (the options of 'bookcheck run')")
    for name, _field, kwargs in _OPTIONS:
        group.addoption(f"--bookcheck-{name}", **kwargs)


def run_options(pc: pytest.Config) -> RunOptions:
    """The plugin's options as the same :class:`RunOptions` ``bookcheck run`` builds from its flags."""
    from harness.prepare import PROFILE_FIELDS, RunOptions

    values: dict[str, Any] = {}
    overrides: list[tuple[str, Any]] = []
    for name, field, _kwargs in _OPTIONS:
        value = pc.getoption(f"--bookcheck-{name}")
        if field in PROFILE_FIELDS:
            if value is not None:
                overrides.append((field, value))
        else:
            values[field] = tuple(value) if isinstance(value, list) else value
    return RunOptions(**values, profile_overrides=tuple(overrides), workers=1, tool_version=_tool_version())


def _tool_version() -> str:
    """The installed distribution's version (the harness never imports the ``bookcheck`` CLI package)."""
    try:
        return version("bookcheck")
    except PackageNotFoundError:
        return "0"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Prepare the run once per process; a refusal ends the session before collection, with the CLI's
    message (``ERROR: <message>``, exit 4) instead of one failure per item."""
    if not config.getoption("--bookcheck-target", None):
        return
    from harness.prepare import prepare

    try:
        config.stash[_CONFIG] = prepare(run_options(config))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


class BookcheckFailure(Exception):
    """A scenario that fails the run (its text is the item's failure report)."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario_id: str, title: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.scenario_id = scenario_id
        self.title = title

    def runtest(self) -> None:
        from harness.runner import run

        config = self.config.stash[_CONFIG]
        result = run(replace(config, only=(self.scenario_id,)), interrupts=Interrupts())
        if result.outcome == "interrupted":  # cleaned up like the CLI; stop the session with its exit code
            pytest.exit(result.reason or "interrupted", returncode=int(result.exit_code))
        if result.outcome in ("setup-error", "unreachable"):  # say it once and stop, never once per item
            self.session.shouldstop = f"bookcheck: {result.reason}"
            raise BookcheckFailure(f"{result.verdict}: {result.reason}")
        sr = next(s for s in result.scenarios if s.scenario_id == self.scenario_id)
        if result.verdict == "INCONCLUSIVE":  # its scenario could not run for want of data: never a pass
            raise BookcheckFailure(f"INCONCLUSIVE: {result.inconclusive}")
        self.user_properties.append(("bookcheck_status", sr.status.value))
        stale = [
            e.key
            for e in config.baseline or ()
            if e.scenario == self.scenario_id and e.key in result.baseline.stale
        ]
        if sr.fails_run(config.fail_on) or stale:
            raise BookcheckFailure(_describe(sr, sr.failing_checks(config.fail_on), stale))
        if sr.status == Status.SKIP:
            pytest.skip(sr.reason or "skipped")

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, BookcheckFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "bookcheck", None, f"bookcheck: {self.scenario_id}"


def _describe(sr: ScenarioResult, failing: list[Any], stale: list[str]) -> str:
    lines = [f"{sr.scenario_id}: {sr.title}"]
    if sr.reason:
        lines.append(f"  {sr.reason}")
    for c in failing:
        lines.append(f"  {c.status.value} {c.rule_id} ({c.spec}) at step {c.step}: {c.message}")
        lines.append(f"    expected: {c.expected}")
        lines.append(f"    actual:   {c.actual}")
        if c.reproduce:
            lines.append(f"    reproduce: {c.reproduce}")
    lines += [f"  STALE baseline entry no longer occurs: {key}" for key in stale]
    return "\n".join(lines)


class BookcheckSuite(pytest.Collector):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.selection import select_scenarios

        _allocated, selected = select_scenarios(self.config.stash[_CONFIG])
        for s in selected:
            yield ScenarioItem.from_parent(self, name=s.id, scenario_id=s.id, title=s.title)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if _CONFIG not in config.stash:
        return
    suite = BookcheckSuite.from_parent(session, name="bookcheck")
    items.extend(suite.collect())
