"""Scenarios: data (YAML files under ``scenarios/``) plus a registered Python escape hatch.

A scenario file is validated against ``scenarios/scenario.schema.json`` when loaded; every problem is a
:class:`ScenarioFileError` naming the file, the JSON path and what is wrong (exit code 2). Then the loader
checks what the schema cannot: check names exist, generic checks name a catalogued rule, ``like:`` refers to
an earlier slot, step ids are unique, ``python:`` names a registered function.

The escape hatch (races, clocks, loops over ``--num-slots``) is a coroutine registered with
:func:`~harness.scenario_base.python_scenario` (in :mod:`harness.python_scenarios`); it receives the same
:class:`harness.runner.ScenarioRun` as data scenarios and produces the same records.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

import harness.payment_scenarios  # noqa: F401  (registers the payment, offer and virtual-session scenarios)
import harness.python_scenarios  # noqa: F401  (registers the escape-hatch scenarios in scenario_base)
from booking_protocol.errors import UsageError
from harness import checks
from harness.catalogue import SCENARIOS_DIR, rules_by_id
from harness.inventory import SlotRequirement
from harness.scenario_base import PYTHON_SCENARIOS, PythonScenario, python_scenario

SCHEMA_FILE = SCENARIOS_DIR / "scenario.schema.json"
CAPABILITIES = (
    "bal",
    "check_availability",
    "leases",
    "get_booking_status",
    "list_bookings",
    "party_size_change",
)


class ScenarioFileError(UsageError, ValueError):
    """A scenario file that cannot be used: ``file: path: problem``."""


@dataclass(frozen=True)
class Expectation:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Step:
    id: str
    call: str
    request: Any = None
    raw: str | None = None
    path: str | None = None
    auth: str = "default"
    times: int | str | None = None
    concurrent: int | str | None = None
    expect: tuple[Expectation, ...] = ()
    #: the step only prepares the scenario (a setup booking, a fill): when one of its checks fails, the
    #: scenario stops with "precondition failed" and its own rules are not judged (see ScenarioRun)
    precondition: bool = False


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    spec: tuple[str, ...] = ()
    suites: tuple[str, ...] = ("default",)
    requires: tuple[str, ...] = ()
    transports: tuple[str, ...] = ("rest", "grpc")
    needs_credentials: bool = False
    slots: tuple[SlotRequirement, ...] = ()
    steps: tuple[Step, ...] = ()
    python: str | None = None
    source: str = ""


@functools.lru_cache(maxsize=1)
def _schema_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _path(parts: Iterable[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def parse_scenarios(doc: Any, source: str) -> list[Scenario]:
    errors = sorted(_schema_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise ScenarioFileError(f"{source}: {_path(e.absolute_path)}: {e.message[:300]}")
    rules = rules_by_id()
    out: list[Scenario] = []
    for si, raw in enumerate(doc["scenarios"]):
        where = f"{source}: $.scenarios[{si}]"
        slots: list[SlotRequirement] = []
        for name, spec in (raw.get("slots") or {}).items():
            lo, hi = spec.get("spots", [1, 1_000_000])
            if spec.get("like") and spec["like"] not in [s.name for s in slots]:
                raise ScenarioFileError(f"{where}.slots.{name}: like {spec['like']!r} is not an earlier slot")
            if lo > hi:
                raise ScenarioFileError(f"{where}.slots.{name}: spots [{lo}, {hi}] is empty")
            slots.append(
                SlotRequirement(
                    name=name,
                    spots_min=lo,
                    spots_max=hi,
                    mode=spec.get("mode", "sync"),
                    like=spec.get("like"),
                    differ=spec.get("differ", "start"),
                )
            )
        steps: list[Step] = []
        seen: set[str] = set()
        for ti, st in enumerate(raw.get("steps") or []):
            swhere = f"{where}.steps[{ti}]"
            if st["id"] in seen:
                raise ScenarioFileError(f"{swhere}.id: step id {st['id']!r} is used twice")
            seen.add(st["id"])
            exps: list[Expectation] = []
            for ei, e in enumerate(st.get("expect") or []):
                name, args = (e, {}) if isinstance(e, str) else next(iter(e.items()))
                args = args or {}
                reg = checks.REGISTRY.get(name)
                if reg is None:
                    raise ScenarioFileError(
                        f"{swhere}.expect[{ei}]: unknown check {name!r} "
                        f"(known: {', '.join(sorted(checks.REGISTRY))})"
                    )
                if "rule" in args and args["rule"] not in rules:
                    raise ScenarioFileError(
                        f"{swhere}.expect[{ei}]: rule {args['rule']!r} is not in rules.yaml"
                    )
                if reg.generic_rule and "rule" not in args:
                    raise ScenarioFileError(f"{swhere}.expect[{ei}]: check {name!r} needs a 'rule' argument")
                if "rule" in args and not reg.generic_rule and args["rule"] not in reg.rules:
                    raise ScenarioFileError(
                        f"{swhere}.expect[{ei}]: check {name!r} cannot report rule {args['rule']!r}"
                    )
                exps.append(Expectation(name, dict(args)))
            steps.append(
                Step(
                    id=st["id"],
                    call=st["call"],
                    request=st.get("request"),
                    raw=st.get("raw"),
                    path=st.get("path"),
                    auth=st.get("auth", "default"),
                    times=st.get("times"),
                    concurrent=st.get("concurrent"),
                    expect=tuple(exps),
                    precondition=bool(st.get("precondition", False)),
                )
            )
        py = raw.get("python")
        if py is not None and py not in PYTHON_SCENARIOS:
            raise ScenarioFileError(f"{where}.python: no registered Python scenario {py!r}")
        out.append(
            Scenario(
                id=raw["id"],
                title=raw["title"],
                spec=tuple(raw.get("spec") or ()),
                suites=tuple(raw.get("suites") or ("default",)),
                requires=tuple(raw.get("requires") or ()),
                transports=tuple(raw.get("transports") or ("rest", "grpc")),
                needs_credentials=bool(raw.get("needs_credentials", False)),
                slots=tuple(slots),
                steps=tuple(steps),
                python=py,
                source=source,
            )
        )
    return out


def load_scenario_file(path: Path) -> list[Scenario]:
    """Parse and validate one scenario file (cached while the file is unchanged)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return list(_load_cached(str(path), mtime))


@functools.lru_cache(maxsize=64)
def _load_cached(path_text: str, _mtime_ns: int) -> tuple[Scenario, ...]:
    path = Path(path_text)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        raise ScenarioFileError(f"{path}: {where}not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return tuple(parse_scenarios(doc, str(path)))


def default_scenario_files() -> list[Path]:
    # scenario files are the YAML files of scenarios/ itself; other data (the load mix) lives in subfolders
    return sorted(p for p in SCENARIOS_DIR.glob("*.yaml") if p.name != "rules.yaml")


def load_scenarios(extra: Iterable[str | Path] = (), *, include_default: bool = True) -> list[Scenario]:
    files = default_scenario_files() if include_default else []
    files += [Path(p) for p in extra]
    out: list[Scenario] = []
    ids: dict[str, str] = {}
    for f in files:
        for s in load_scenario_file(f):
            if s.id in ids:
                raise ScenarioFileError(f"{f}: scenario id {s.id!r} is already defined in {ids[s.id]}")
            ids[s.id] = str(f)
            out.append(s)
    return sorted(out, key=lambda s: s.id)


__all__ = [
    "CAPABILITIES",
    "PYTHON_SCENARIOS",
    "Expectation",
    "PythonScenario",
    "Scenario",
    "ScenarioFileError",
    "Step",
    "load_scenario_file",
    "load_scenarios",
    "parse_scenarios",
    "python_scenario",
]
