"""validate-feed: each seeded fault of a broken feed is reported with its file, JSON path and rule."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from mock_server.datagen.validate import Finding, UsageError, _fast_ok, _validator, validate_paths

ROWS = "$.service_availability[0].availability"


def _load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _save(path: Path, doc: Any) -> None:
    path.write_bytes(orjson.dumps(doc))


@pytest.fixture()
def broken(feeds_dir: Path, tmp_path: Path) -> Path:
    """A copy of the generated feeds to break."""
    out = tmp_path / "broken"
    shutil.copytree(feeds_dir, out)
    return out


def _edit(path: Path, change: Any) -> None:
    doc = _load(path)
    change(doc)
    _save(path, doc)


def _rows(doc: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = doc["service_availability"][0]["availability"]
    return rows


def _only(findings: list[Finding], rule: str) -> list[tuple[str, str]]:
    return [(Path(f.file).name, f.path) for f in findings if f.rule == rule]


def test_each_seeded_fault_is_reported_with_its_path(broken: Path) -> None:
    def break_availability(doc: Any) -> None:
        rows = _rows(doc)
        del rows[0]["start_sec"]  # missing field
        rows[1]["spots_total"] = "many"  # wrong type
        rows[2]["spots_open"] = rows[2]["spots_total"] + 1  # open > total
        rows[3]["merchant_id"] = "ghost-0001"  # unknown merchant
        rows[4]["service_id"] = "ghost-service"  # unknown service
        rows[5]["confirmation_mode"] = "MAYBE"  # bad enum

    def break_services(doc: Any) -> None:
        first = doc["service"][0]
        doc["service"].append({**copy.deepcopy(first), "service_id": "never-available"})  # no availability
        doc["service"][1]["price"] = {"price_micros": 5}  # currency missing

    def break_merchants(doc: Any) -> None:
        doc["merchant"][1]["geo"]["latitude"] = 123.0  # out of range
        del doc["merchant"][2]["name"]  # missing field

    _edit(broken / "availability.json", break_availability)
    _edit(broken / "services.json", break_services)
    _edit(broken / "merchants.json", break_merchants)
    report = validate_paths([broken])
    assert not report.valid
    n_services = len(_load(broken / "services.json")["service"])
    assert _only(report.findings, "schema/required") == [
        ("merchants.json", "$.merchant[2]"),
        ("services.json", "$.service[1].price"),
        ("availability.json", f"{ROWS}[0]"),
    ]
    assert _only(report.findings, "schema/type") == [("availability.json", f"{ROWS}[1].spots_total")]
    assert _only(report.findings, "schema/maximum") == [("merchants.json", "$.merchant[1].geo.latitude")]
    assert _only(report.findings, "schema/enum") == [("availability.json", f"{ROWS}[5].confirmation_mode")]
    assert _only(report.findings, "availability/spots-open-exceeds-total") == [
        ("availability.json", f"{ROWS}[2].spots_open")
    ]
    assert _only(report.findings, "availability/unknown-merchant") == [
        ("availability.json", f"{ROWS}[3].merchant_id")
    ]
    assert _only(report.findings, "availability/unknown-service") == [
        ("availability.json", f"{ROWS}[4].service_id")
    ]
    assert _only(report.findings, "service/no-availability") == [
        ("services.json", f"$.service[{n_services - 1}]")
    ]
    messages = {f.rule: str(f) for f in report.findings}
    assert "is greater than spots_total" in messages["availability/spots-open-exceeds-total"]
    assert "'start_sec' is required" in next(str(f) for f in report.findings if f.path == f"{ROWS}[0]")


def test_short_availability_fails_the_30_day_rule(tmp_path: Path, make_feeds: Any) -> None:
    short = make_feeds(tmp_path / "short", merchants=3, days=10)
    report = validate_paths([short])
    horizon = [f for f in report.findings if f.rule == "service/availability-horizon"]
    assert horizon and all(f.path.startswith("$.service[") for f in horizon)
    assert "30 days" in horizon[0].message
    assert validate_paths([short], min_days=10).valid


def test_duplicates_and_unknown_merchant_of_a_service(broken: Path) -> None:
    _edit(broken / "merchants.json", lambda d: d["merchant"].append(copy.deepcopy(d["merchant"][0])))
    _edit(
        broken / "services.json", lambda d: d["service"].append({**d["service"][0], "merchant_id": "nobody"})
    )
    report = validate_paths([broken])
    assert _only(report.findings, "merchant/duplicate-id") == [
        ("merchants.json", "$.merchant[8].merchant_id")
    ]
    unknown = _only(report.findings, "service/unknown-merchant")
    assert len(unknown) == 1 and unknown[0][1].endswith(".merchant_id")


def test_duplicate_slot_is_only_a_warning(broken: Path) -> None:
    # duplicates are found within a merchant's block of consecutive rows
    _edit(broken / "availability.json", lambda d: _rows(d).insert(2, copy.deepcopy(_rows(d)[0])))
    report = validate_paths([broken])
    assert report.valid and [f.rule for f in report.warnings] == ["availability/duplicate-slot"]


def test_single_files_camel_case_and_string_int64_are_accepted(feeds_dir: Path, tmp_path: Path) -> None:
    doc = _load(feeds_dir / "availability.json")
    row = _rows(doc)[0]
    camel = {
        "merchantId": row["merchant_id"],
        "serviceId": row["service_id"],
        "startSec": str(row["start_sec"]),
        "durationSec": str(row["duration_sec"]),
        "spotsTotal": 2,
        "spotsOpen": 1,
    }
    _rows(doc)[0] = camel
    path = tmp_path / "feed-of-partner.json"  # kind detected by content, not name
    _save(path, doc)
    report = validate_paths([path])
    assert report.files == {str(path): "availability"}
    assert [f for f in report.findings if f.rule != "service/availability-horizon"] == []


def test_invalid_json_and_unknown_kind_are_findings_and_missing_files_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "availability.json"
    bad.write_text('{"metadata": {,}')
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    report = validate_paths([bad, other])
    assert sorted((f.rule, f.path) for f in report.findings) == [
        ("feed/kind", "$"),
        ("json/syntax", "bytes 0-16"),  # the buffer that holds the error (yajl gives no offset)
    ]
    with pytest.raises(UsageError):
        validate_paths([tmp_path / "missing.json"])
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(UsageError):
        validate_paths([tmp_path / "empty-dir"])


def test_fast_path_only_passes_rows_the_schema_accepts(feeds_dir: Path) -> None:
    record_schema = _validator("availability", "Availability")
    base = _rows(_load(feeds_dir / "availability.json"))[0]
    mutations: list[dict[str, Any]] = [base]
    for key in list(base):
        mutations.append({k: v for k, v in base.items() if k != key})
        bad: Any
        for bad in (None, True, False, -1, 0, 1.0, "", "x", 1.5, [], {}):
            mutations.append({**base, key: bad})
    for bad in (None, True, -1, "x", 1.5, 2.0, []):
        mutations.append({**base, "resources": {"party_size": bad}})
        mutations.append({**base, "resources": {"staff_id": bad}})
    mutations.append({**base, "extra_field": 1})
    for rec in mutations:
        if _fast_ok(rec):
            assert list(record_schema.iter_errors(rec)) == [], rec
    assert _fast_ok(base)
