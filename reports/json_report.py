"""The JSON report: ``RunResult.to_dict()`` plus a ``summary`` block, validated by a published schema.

The document is the result record itself (so ``RunResult.from_dict`` reads it back; unknown keys such as
``summary`` are ignored there) with the figures every other report prints, precomputed for dashboards. The
layout is versioned by ``schema_version`` (``harness.results.SCHEMA_VERSION``) and described field by field
in ``reports/report.schema.json`` (JSON Schema draft 2020-12).
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

from harness.results import RunResult

from . import facts

SCHEMA_RESOURCE = "report.schema.json"


class ReportSchemaError(ValueError):
    """A document does not match the published report schema; the message names the path and the problem."""


def build(result: RunResult) -> dict[str, Any]:
    """The report document: a pure function of ``result`` (no clock, no host names)."""
    doc = _finite(result.to_dict())
    doc["summary"] = facts.summary(result)
    return doc  # type: ignore[no-any-return]


def render(result: RunResult) -> str:
    """The report as text: indented, non-ASCII kept, stable key order, ending with a newline."""
    return json.dumps(build(result), indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def _finite(value: Any) -> Any:
    """NaN/Infinity are not JSON: a float that is not finite (a broken timer) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


@cache
def schema() -> dict[str, Any]:
    """The published schema, read from the installed package."""
    text = resources.files(__package__).joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def errors(doc: Any) -> list[str]:
    """Every way ``doc`` departs from the schema, as 'path: message' lines (empty when valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    found = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]


def validate(doc: Any) -> None:
    """Raise :class:`ReportSchemaError` naming the first problem (and how many more) when ``doc`` is not a
    valid report; return quietly otherwise. For tests and for partners who post-process reports."""
    problems = errors(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ReportSchemaError(f"not a valid bookcheck report: {problems[0]}{more}")
