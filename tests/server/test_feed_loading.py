"""The server's streaming feed loader reads what ``load_availability_feed`` reads and fails as it fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from booking_protocol.feed import FeedError, load_availability_feed
from mock_server.server import ServerConfig, ServerStartError, load_inventory

REC = {"merchant_id": "m", "service_id": "s", "start_sec": 100, "duration_sec": 60, "spots_open": 2}
GOOD_DOCS: list[Any] = [
    {"metadata": {"nonce": 1}, "service_availability": [], "extra": [1, {"a": None}]},
    {
        "service_availability": [
            {},
            {"start_timestamp_restrict": 1, "availability": []},
            {"availability": [REC]},
        ]
    },
    {"service_availability": [{"availability": [REC, {**REC, "start_sec": "160", "spots_total": 3}]}]},
    {"serviceAvailability": [{"availability": [REC]}, {"no_availability": True}]},
    {
        "availability": [
            REC,
            {
                "merchant_id": "m",
                "service_id": "s",
                "start_sec": 200,
                "duration_sec": 60,
                "recurrence": {"repeat_every_sec": 60, "repeat_until_sec": 400},
            },
        ]
    },
]
BAD_DOCS: list[Any] = [
    {
        "service_availability": [
            {"availability": [REC]},
            {"availability": [{**REC, "start_sec": 5}, {**REC, "merchant_id": 7}]},
        ]
    },
    {"service_availability": None},
    [1],
    {"service_availability": "x"},
    {"service_availability": [{"availability": [REC]}, 5]},
    {"service_availability": [{"availability": [REC]}, {"availability": {}}]},
    {"service_availability": [{"availability": [REC, {**REC, "start_sec": None}]}]},
    {"service_availability": [{"availability": [REC, {**REC, "duration_sec": "x"}]}]},
]


def _write(tmp_path: Path, doc: Any) -> Path:
    p = tmp_path / "availability.json"
    p.write_text(json.dumps(doc))
    return p


@pytest.mark.parametrize("doc", GOOD_DOCS)
def test_same_slots_as_the_reference_reader(tmp_path: Path, doc: Any) -> None:
    p = _write(tmp_path, doc)
    expected = sorted(s.key for s in load_availability_feed(p))
    inv = load_inventory(ServerConfig(feed=str(tmp_path)))  # a directory means DIR/availability.json
    assert sorted(s.key for s in inv) == expected


@pytest.mark.parametrize("doc", BAD_DOCS)
def test_same_error_as_the_reference_reader(tmp_path: Path, doc: Any) -> None:
    p = _write(tmp_path, doc)
    with pytest.raises(FeedError) as ref:
        load_availability_feed(p)
    with pytest.raises(ServerStartError) as ours:
        load_inventory(ServerConfig(feed=str(p)))
    assert str(ours.value) == f"cannot load the feed: {ref.value}"


def test_invalid_json_and_duplicates(tmp_path: Path) -> None:
    p = tmp_path / "f.json"
    p.write_text('{"service_availability": [')
    with pytest.raises(ServerStartError, match=r"f\.json: line 1 column \d+: not valid JSON"):
        load_inventory(ServerConfig(feed=str(p)))
    _write(tmp_path, {"availability": [REC, REC]})
    with pytest.raises(ServerStartError, match="two availability records for the same slot"):
        load_inventory(ServerConfig(feed=str(tmp_path / "availability.json")))


def test_common_layout_is_streamed_not_parsed_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mock_server.server as server_module

    def whole_document(_raw: bytes) -> Any:
        raise AssertionError("the whole document was parsed")

    monkeypatch.setattr(server_module.orjson, "loads", whole_document)
    p = _write(tmp_path, GOOD_DOCS[0] | {"service_availability": [{"availability": [REC]}]})
    assert len(load_inventory(ServerConfig(feed=str(p)))) == 1
