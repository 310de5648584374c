"""Run preparation: the one place that turns what a command received into a validated :class:`RunConfig`.

``bookcheck run``, ``demo``, ``explore``, ``load`` and the pytest plugin all call :func:`prepare`; none of
them reads credentials, loads a profile or a feed, or refuses a run on its own. So a mistake gets the same
one-line :class:`~harness.errors.UsageError` (exit 2) whichever way bookcheck was started, and a run that
could not judge is refused the same way everywhere.

    options = RunOptions(target="https://partner.example/api", feed="availability.json", user="u")
    config = prepare(options)   # UsageError on any bad flag, file or combination
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from booking_protocol.commerce import Catalogue
from booking_protocol.commercefeed import load_catalogue, load_payment_fixtures
from booking_protocol.errors import TargetUnreachable
from booking_protocol.feed import (
    STREAM_FROM_BYTES,
    FeedSlot,
    LoadProgress,
    load_availability_feed,
    resolve_feed_path,
)
from harness.baseline import load_baseline
from harness.config import RunConfig
from harness.errors import UsageError
from harness.evidence import redact_url
from harness.paytokens import PaymentTokens, check_command
from harness.profile import TargetProfile, load_profile
from harness.scenario import load_scenarios
from harness.selection import select_scenarios
from harness.target_base import tcp_problem, transport_hint
from harness.targets import Credentials, TargetOptions

#: The profile fields a command may set one by one (flags such as ``--leases``), over ``--profile FILE``.
PROFILE_FIELDS = ("availability", "leases", "get_booking_status", "list_bookings", "party_size_change")
#: URL schemes a target may have: REST over http(s), gRPC over grpc(s).
SCHEMES = ("http", "https", "grpc", "grpcs")
SUITES = ("default", "google-test-client", "smoke", "all")


@dataclass(frozen=True)
class RunOptions:
    """What a command asked for, as plain values (flags of ``run``, options of the pytest plugin, …).

    ``None`` means "not given". Nothing here has been checked yet: :func:`prepare` does that."""

    target: str | None = None
    user: str | None = None
    password: str | None = None
    credentials_file: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    timeout: float = 10.0
    trailing_slash: bool = False
    feed: str | None = None
    merchant: str | None = None
    service: str | None = None
    min_lead_sec: int = 600
    num_slots: int = 10
    profile: str | None = None
    profile_overrides: tuple[tuple[str, Any], ...] = ()
    suite: str = "default"
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    scenario_files: tuple[str, ...] = ()
    seed: int = 0
    nonce: str | None = None
    workers: int = 4
    keep_bookings: bool = False
    fail_on: str = "error"
    baseline: str | None = None
    tool_version: str = "0"
    #: ``explore`` and ``load`` run no scenarios: no selection, no pattern or feed-need checks
    needs_scenarios: bool = True
    #: no progress lines on stderr (``-q``)
    quiet: bool = False
    #: ``--allow-payments``: the payment scenarios may charge the target's test gateway (D48)
    allow_payments: bool = False
    #: ``--payment-fixtures FILE``: outcome -> test token (needs ``allow_payments``)
    payment_fixtures: str | None = None
    #: ``--payment-token-command CMD``: prints one fresh approving token per call (needs ``allow_payments``)
    payment_token_command: str | None = None


def prepare(
    options: RunOptions,
    *,
    env: Mapping[str, str] | None = None,
    base_profile: TargetProfile | None = None,
    feed_slots: Sequence[FeedSlot] | None = None,
) -> RunConfig:
    """Validate ``options`` and build the run's configuration. Raises :class:`UsageError` (one line).

    ``env`` defaults to the process environment (for ``BOOKCHECK_USER``/``BOOKCHECK_PASSWORD``);
    ``base_profile`` is the profile before ``--profile`` and the flags (``demo`` starts from "claims
    everything"); ``feed_slots`` is an already loaded feed (``demo`` generates its own)."""
    if options.target is None:
        raise UsageError("--target is required (https://host/base, http://host:port or grpc://host:port)")
    target = _target_options(options, read_credentials(options, env))
    profile = build_profile(options, base_profile)
    if options.profile and target_transport(options.target) not in profile.transports:
        raise UsageError(
            f"--target {options.target!r} is {target_transport(options.target)}, but the profile says the "
            f"target serves {', '.join(profile.transports)}"
        )
    if options.suite not in SUITES:
        raise UsageError(f"--suite {options.suite!r}: expected one of {', '.join(SUITES)}")
    if options.fail_on not in ("error", "warning"):
        raise UsageError(f"--fail-on {options.fail_on!r}: expected error or warning")
    for f in options.scenario_files:
        if not Path(f).is_file():
            raise UsageError(f"--scenario-file {f}: no such file")
    reach_before_reading(target, options.feed if feed_slots is None else None)
    feed = list(feed_slots) if feed_slots is not None else load_feed(options.feed, quiet=options.quiet)
    if feed is not None:
        check_filters(feed, options.merchant, options.service)
    catalogue = load_catalogue(options.feed) if options.feed else Catalogue()
    config = RunConfig(
        target=target,
        feed=feed,
        profile=profile,
        suite=options.suite,
        seed=options.seed,
        workers=options.workers,
        nonce=options.nonce,
        keep_bookings=options.keep_bookings,
        fail_on=options.fail_on,
        baseline=load_baseline(options.baseline) if options.baseline else None,
        only=tuple(options.only),
        exclude=tuple(options.exclude),
        scenario_files=tuple(options.scenario_files),
        num_slots=options.num_slots,
        merchant=options.merchant,
        service=options.service,
        min_lead_sec=options.min_lead_sec,
        tool_version=options.tool_version,
        catalogue=catalogue,
        payments=payment_tokens(options),
    )
    if options.needs_scenarios:
        check_scenario_patterns(config)
        check_feed_given(config)
    return config


# ------------------------------------------------------------------------------------------------------
# the pieces (public: each is the only implementation of its rule)
# ------------------------------------------------------------------------------------------------------


def read_credentials(options: RunOptions, env: Mapping[str, str] | None = None) -> Credentials | None:
    """One precedence: ``--user``/``--password``, then ``--credentials-file``, then the environment
    (``BOOKCHECK_USER``/``BOOKCHECK_PASSWORD``). Half a pair is a usage error, never a silent guess."""
    env = os.environ if env is None else env
    if options.user is not None or options.password is not None:
        if options.user is None or options.password is None:
            raise UsageError("--user and --password go together")
        return Credentials(options.user, options.password)
    if options.credentials_file:
        return _credentials_from_file(options.credentials_file)
    user, password = env.get("BOOKCHECK_USER"), env.get("BOOKCHECK_PASSWORD")
    if user is not None or password is not None:
        if user is None or password is None:
            raise UsageError("set both BOOKCHECK_USER and BOOKCHECK_PASSWORD")
        return Credentials(user, password)
    return None


def _credentials_from_file(path: str) -> Credentials:
    """Google's test client reads one line ``username:password`` (a final newline is fine). Nothing else
    is silently removed: a Windows line ending or whitespace at either end of the line would reach the
    server as part of the user name or password when Google's client reads the same file, so bookcheck
    refuses the file and says how to fix it rather than pass where Google's client fails."""
    where = f"--credentials-file {path}"
    try:  # bytes, not text mode: text mode would turn \r\n into \n and hide it
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text; expected one line 'username:password'") from None
    if "\r" in text:
        raise UsageError(
            f"{where}: the file has a Windows line ending (\\r\\n); Google's test client would read the \\r "
            f"as the last character of the password. Save it with a Unix line ending (e.g. dos2unix {path})"
        )
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    if len(lines) != 1 or ":" not in lines[0]:
        raise UsageError(f"{where}: expected one line 'username:password' (found {len(lines)} lines)")
    line = lines[0]
    if line != line.strip():
        side = "leading" if line[:1].isspace() else "trailing"
        raise UsageError(
            f"{where}: the line has {side} whitespace; Google's test client would read it as part of the "
            f"{'user name' if side == 'leading' else 'password'}. Remove it (the line must be exactly "
            "username:password)"
        )
    user, _, password = line.partition(":")
    return Credentials(user, password)


def payment_tokens(options: RunOptions) -> PaymentTokens:
    """The payment scenarios' token sources (D48). A token source without ``--allow-payments`` is refused
    rather than ignored: whoever gave tokens meant payments to run, and a silent skip would hide that they
    did not. ``--allow-payments`` alone is accepted (the scenarios are skipped with the reason)."""
    fixtures, command = options.payment_fixtures, options.payment_token_command
    if (fixtures or command) and not options.allow_payments:
        flag = "--payment-fixtures" if fixtures else "--payment-token-command"
        raise UsageError(
            f"{flag} needs --allow-payments: payment scenarios charge the target's test gateway, so they "
            "run only when you allow it explicitly"
        )
    if command is not None:
        problem = check_command(command)
        if problem is not None:
            raise UsageError(f"--payment-token-command {command!r}: {problem}")
    if fixtures is not None and not Path(fixtures).is_file():
        raise UsageError(f"--payment-fixtures {fixtures}: no such file")
    return PaymentTokens(
        allowed=options.allow_payments,
        fixtures=load_payment_fixtures(fixtures) if fixtures else None,  # CommerceFeedError: a UsageError
        command=command,
    )


def build_profile(options: RunOptions, base: TargetProfile | None = None) -> TargetProfile:
    """``base`` (default: the plain profile), replaced by ``--profile FILE``, then the single flags."""
    profile = base or TargetProfile()
    if options.profile:
        profile = load_profile(options.profile)
    changes = {k: v for k, v in options.profile_overrides if v is not None}
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise UsageError(f"unknown profile field {unknown[0]!r}; known: {', '.join(PROFILE_FIELDS)}")
    return replace(profile, **changes)


def load_feed(path: str | None, *, quiet: bool = False) -> list[FeedSlot] | None:
    """The partner's availability feed (a file, or a directory holding ``availability.json``).

    A big feed is read as a stream (:func:`~booking_protocol.feed.load_availability_feed`), and while it
    loads for more than a second "reading feed: 412,000 slots…" goes to stderr every 2 s (not with
    ``quiet``), so a 190 MB feed is not ten silent seconds."""
    if not path:
        return None
    progress = None if quiet else LoadProgress(sys.stderr)
    feed: list[FeedSlot] = load_availability_feed(path, progress=progress)  # FeedError: a UsageError
    if progress is not None:
        progress.done(len(feed))
    return feed


#: a feed this big takes seconds to read: the target is reached first (see :func:`reach_before_reading`)
REACH_FIRST_BYTES = STREAM_FROM_BYTES
#: longest wait for the TCP connection of :func:`reach_before_reading`
REACH_WAIT_SEC = 5.0


def reach_before_reading(target: TargetOptions, feed: str | None) -> None:
    """Before a big feed is read, open one TCP connection to the target, so that a target that is down is
    reported at once (exit 3), not after the seconds spent reading the feed. Raises
    :class:`TargetUnreachable` ("cannot reach URL: why" and a hint).

    A small feed is read first, as before: a mistake in it (or in a flag checked after it) is then a usage
    error (exit 2) whatever the state of the target, and the preflight judges the target."""
    if not feed:
        return
    try:
        size = resolve_feed_path(feed).stat().st_size
    except OSError:
        return  # load_feed says what is wrong with the path
    if size < REACH_FIRST_BYTES:
        return
    problem = tcp_problem(target.url, min(target.timeout, REACH_WAIT_SEC))
    if problem is not None:
        hint = transport_hint(target.url, problem)
        raise TargetUnreachable(f"cannot reach {redact_url(target.url)}: {problem}\n  hint: {hint}")


def check_filters(feed: Sequence[FeedSlot], merchant: str | None, service: str | None) -> None:
    """A ``--merchant`` or ``--service`` that matches no slot of the feed is a typo: say which ids exist."""
    for flag, value, ids in (
        ("--merchant", merchant, {s.merchant_id for s in feed}),
        ("--service", service, {s.service_id for s in feed if merchant is None or s.merchant_id == merchant}),
    ):
        if value is not None and value not in ids:
            known = sorted(ids)
            shown = ", ".join(known[:8]) + (f" and {len(known) - 8} more" if len(known) > 8 else "")
            raise UsageError(f"{flag} {value!r} matches no slot of the feed (it has: {shown or 'none'})")


def target_transport(url: str) -> str:
    """``grpc`` for grpc:// and grpcs:// targets, else ``rest``."""
    return "grpc" if url.lower().startswith("grpc") else "rest"


def _target_options(options: RunOptions, credentials: Credentials | None) -> TargetOptions:
    url = options.target or ""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise UsageError(
            f"--target {url!r}: expected https://host/base, http://host:port, grpc://host:port "
            "or grpcs://host:port"
        )
    if options.ca_file and not Path(options.ca_file).is_file():
        raise UsageError(f"--ca-file {options.ca_file}: no such file")
    return TargetOptions(
        url=url,
        credentials=credentials,
        timeout=options.timeout,
        ca_file=options.ca_file,
        insecure=options.insecure,
        trailing_slash=options.trailing_slash,
    )


def check_scenario_patterns(config: RunConfig) -> None:
    """A ``--scenario``/``--skip-scenario`` pattern that matches no scenario is a typo, not an empty run."""
    ids = [s.id for s in (config.scenarios or load_scenarios(config.scenario_files))]
    for flag, patterns in (("--scenario", config.only), ("--skip-scenario", config.exclude)):
        for p in patterns:
            if not any(fnmatch.fnmatchcase(i, p) for i in ids):
                raise UsageError(
                    f"{flag} {p!r} matches no scenario (see 'bookcheck rules' and scenarios/*.yaml; ids look "
                    "like 'create-booking/echo')"
                )


def check_feed_given(config: RunConfig) -> None:
    """Refuse a run that would skip most of its flows for want of a feed: without one every scenario that
    books a slot is skipped, and health and auth checks alone must not read as a green verdict."""
    if config.feed:
        return
    _, selected = select_scenarios(config)
    needing = [s.id for s in selected if s.slots]
    if needing:
        raise UsageError(
            f"--feed is required: {len(needing)} of the {len(selected)} selected scenarios book slots taken "
            "from your availability feed (Google's JSON layout). Give --feed PATH, or select only scenarios "
            "that need no slots, e.g. --scenario 'auth/*' --scenario 'health/*'"
        )


__all__ = [
    "PROFILE_FIELDS",
    "RunOptions",
    "SUITES",
    "build_profile",
    "check_feed_given",
    "check_filters",
    "check_scenario_patterns",
    "load_feed",
    "payment_tokens",
    "prepare",
    "reach_before_reading",
    "read_credentials",
    "target_transport",
]
