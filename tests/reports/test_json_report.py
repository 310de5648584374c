"""The JSON report validates against the published schema, round-trips, and its summary is right."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from harness import results
from harness.results import RunResult
from reports import json_report, write_report

SCHEMA_PATH = Path(json_report.__file__).with_name("report.schema.json")


def test_schema_is_a_valid_draft_2020_12_schema_pinned_to_the_results_version() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"]["const"] == results.SCHEMA_VERSION


def _described(node: object, path: str = "") -> list[str]:
    """Paths of schema properties that lack a description."""
    missing: list[str] = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if "description" not in sub:
                missing.append(f"{path}/{name}")
        for key, sub in node.items():
            missing += _described(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            missing += _described(sub, f"{path}/{i}")
    return missing


def test_every_schema_field_is_described() -> None:
    assert _described(json_report.schema()) == []


@pytest.mark.parametrize(
    ("record", "definition"),
    [
        (results.RunResult, None),
        (results.ScenarioResult, "scenario"),
        (results.CheckResult, "check"),
        (results.Exchange, "exchange"),
        (results.HttpMessage, "httpMessage"),
        (results.Rule, "rule"),
        (results.CreatedResource, "createdResource"),
        (results.MethodStats, "methodStats"),
        (results.BaselineOutcome, "baseline"),
    ],
)
def test_schema_covers_every_field_of_the_result_records(record: type, definition: str | None) -> None:
    """A field added to harness/results.py without a schema entry is caught here, not by a partner."""
    schema = json_report.schema()
    node = schema if definition is None else schema["$defs"][definition]
    names = {f.name for f in dataclasses.fields(record)}
    assert set(node["properties"]) - {"summary"} == names


@pytest.mark.parametrize("fixture", ["passing_run", "troubled_run"])
def test_report_validates_and_round_trips(fixture: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(fixture)
    doc = json.loads(json_report.render(result))
    json_report.validate(doc)
    assert doc["schema_version"] == results.SCHEMA_VERSION
    assert RunResult.from_dict(doc) == result


def test_written_file_validates_and_keeps_non_ascii(troubled_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "report.json"
    write_report("json", str(path), troubled_run)
    text = path.read_text(encoding="utf-8")
    assert "Café Zürich — 予約 ✓" in text
    json_report.validate(json.loads(text))


def test_summary_counts(troubled_run: RunResult) -> None:
    summary = json_report.build(troubled_run)["summary"]
    assert summary["scenarios"] == {"PASS": 1, "FAIL": 2, "WARN": 1, "SKIP": 2, "ERROR": 2, "total": 8}
    assert summary["checks"] == {"PASS": 3, "FAIL": 2, "WARN": 1, "SKIP": 1, "ERROR": 1, "total": 8}
    assert summary["deviations"] == {
        "error": 2,
        "warning": 1,
        "info": 0,
        "total": 3,
        "baselined": 1,
        "failing": 1,
    }
    assert summary["rules"] == {
        "catalogue": 9,
        "satisfied": 2,
        "failed": 3,
        "errored": 1,
        "skipped": 1,
        "not_exercised": 1,
        "excluded": 1,
    }
    assert summary["created"] == {"total": 3, "cleaned_up": 2, "left_behind": 1}
    assert summary["baseline"] == {"accepted": 1, "stale": 1}
    assert (summary["verdict"], summary["exit_code"], summary["exit_code_name"]) == ("FAIL", 1, "DEVIATIONS")


def test_failing_count_follows_fail_on(troubled_run: RunResult) -> None:
    strict = dataclasses.replace(troubled_run, fail_on="warning")
    assert json_report.build(strict)["summary"]["deviations"]["failing"] == 2


def test_report_is_a_pure_function_of_the_result(troubled_run: RunResult) -> None:
    assert json_report.render(troubled_run) == json_report.render(RunResult.from_dict(troubled_run.to_dict()))


def test_non_finite_numbers_become_null_and_still_validate(passing_run: RunResult) -> None:
    broken = dataclasses.replace(passing_run, duration_ms=float("nan"))
    doc = json.loads(json_report.render(broken))
    assert doc["duration_ms"] is None
    json_report.validate(doc)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(schema_version="0.9"), "schema_version"),
        (lambda d: d["scenarios"][0].update(status="BROKEN"), "scenarios/0/status"),
        (lambda d: d["summary"].pop("verdict"), "summary"),
        (lambda d: d.update(surprise=1), "(root)"),
        (lambda d: d["scenarios"][0]["checks"][1].update(severity="fatal"), "scenarios/0/checks/1/severity"),
    ],
)
def test_validate_rejects_a_broken_document_naming_the_place(
    troubled_run: RunResult, mutate: object, where: str
) -> None:
    doc = copy.deepcopy(json_report.build(troubled_run))
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(
        json_report.ReportSchemaError, match="^not a valid bookcheck report: " + re.escape(where)
    ):
        json_report.validate(doc)
