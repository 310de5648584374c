"""The ``--fault`` argument grammar: ``NAME[=ARGS][@Method[,Method...]]``.

Examples::

    overbook
    latency=fixed:200ms@BatchAvailabilityLookup
    latency=lognormal:median=100ms,sigma=0.5
    error-rate=0.1@CreateBooking
    business-as-http-error=409@CreateLease

The method list (after the *last* ``@``) limits a profile to those methods of :data:`mock_server.app.METHODS`.
Every problem is a :class:`FaultSpecError` whose ``str()`` is one line naming it, so ``bookcheck serve`` can
print it as a usage error (exit 2) and never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mock_server.app import METHODS


class FaultSpecError(ValueError):
    """A ``--fault`` value that cannot be used; ``str()`` is one line."""


@dataclass(frozen=True)
class FaultSpec:
    """One parsed ``--fault`` value. ``args`` is the raw text after ``=`` ("" when absent)."""

    text: str
    name: str
    args: str
    methods: frozenset[str] | None  # None: the profile's own default methods


_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_DURATION = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>ms|s|m)?")


def split_spec(text: str) -> FaultSpec:
    """Split the text into name, raw args and methods (the profile validates its args itself)."""
    raw = text.strip()
    if not raw:
        raise FaultSpecError("an empty --fault value")
    body, at, method_part = raw.rpartition("@") if "@" in raw else (raw, "", "")
    methods: frozenset[str] | None = None
    if at:
        names = [m.strip() for m in method_part.split(",") if m.strip()]
        if not names:
            raise FaultSpecError(f"--fault {raw!r}: nothing after '@' (give a method, e.g. @CreateBooking)")
        by_lower = {m.lower(): m for m in METHODS}
        unknown = [m for m in names if m.lower() not in by_lower]
        if unknown:
            raise FaultSpecError(
                f"--fault {raw!r}: unknown method {unknown[0]!r} (methods: {', '.join(METHODS)})"
            )
        methods = frozenset(by_lower[m.lower()] for m in names)
    name, _, args = body.partition("=")
    name = name.strip().lower()
    if not _NAME.fullmatch(name):
        raise FaultSpecError(f"--fault {raw!r}: {name!r} is not a profile name")
    return FaultSpec(text=raw, name=name, args=args.strip(), methods=methods)


def parse_duration(text: str, where: str) -> float:
    """``200ms``, ``1.5s``, ``2m`` or a bare number of seconds → seconds."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise FaultSpecError(f"{where}: {text!r} is not a duration (e.g. 200ms, 1.5s)")
    value = float(m["num"])
    unit = m["unit"] or "s"
    return value / 1000.0 if unit == "ms" else value * 60.0 if unit == "m" else value


def parse_rate(text: str, where: str) -> float:
    """A probability: ``0.1``, ``10%``."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise FaultSpecError(f"{where}: {text!r} is not a rate (0..1, or a percentage like 10%)") from None
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{where}: the rate {text!r} must lie between 0 and 1 (0% and 100%)")
    return value


def parse_int(text: str, where: str, *, minimum: int = 0) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise FaultSpecError(f"{where}: {text!r} is not an integer") from None
    if value < minimum:
        raise FaultSpecError(f"{where}: {value} is below the minimum {minimum}")
    return value


def parse_keywords(text: str, where: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """``a=1,b=2`` → ``{"a": "1", "b": "2"}``; unknown keys are an error."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in allowed:
            raise FaultSpecError(f"{where}: {part!r} is not one of {', '.join(k + '=…' for k in allowed)}")
        out[key] = value.strip()
    return out
