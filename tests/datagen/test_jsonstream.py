"""The streaming reader behind validate-feed: same values as json.loads, at any buffer size."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from mock_server.datagen import jsonstream
from mock_server.datagen.jsonstream import StreamError, iter_events

TOP = frozenset({"service_availability"})
NESTED = frozenset({"availability"})


def rebuild(data: bytes) -> dict[str, Any]:
    """The document put back together from the events (records into their lists)."""
    doc: dict[str, Any] = {}
    groups: list[Any] = []
    for ev in iter_events(io.BytesIO(data), TOP, NESTED):
        if ev.path == "$":
            doc[ev.key] = ev.value if ev.kind == "value" else (groups if ev.key in TOP else [])
        elif ev.kind == "record":
            target = (
                doc["availability"] if ev.path.startswith("$.availability") else groups[-1]["availability"]
            )
            target.append(ev.value)
        elif ev.kind == "list":
            if ev.key:
                groups[-1][ev.key] = []
            else:
                groups.append({})
        elif ev.key:
            groups[-1][ev.key] = ev.value
        else:
            groups.append(ev.value)
    return doc


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
def test_events_rebuild_the_document_at_any_chunk_size(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(jsonstream, "_CHUNK", chunk)
    doc = {
        "metadata": {"nonce": "123", "generation_timestamp": 1795996800},
        "service_availability": [
            {
                "availability": [
                    {"start_sec": 1234567890, "name": 'Café ☕ "quoted"'},
                    {"x": [1, 2.5, None]},
                ],
                "start_timestamp_restrict": 5,
            },
            {},
            7,
            {"availability": []},
        ],
        "trailing": 123456789,
    }
    for text in (json.dumps(doc), json.dumps(doc, indent=3), json.dumps(doc, ensure_ascii=False)):
        assert rebuild(text.encode()) == doc


def test_lone_service_availability_and_empty_document() -> None:
    lone = {"availability": [{"a": 1}, {"b": 2}]}
    assert rebuild(json.dumps(lone).encode()) == lone
    assert rebuild(b" {} ") == {}


def test_generated_feed_streams_like_json_loads(feeds_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "_CHUNK", 4096)
    data = (feeds_dir / "availability.json").read_bytes()
    assert rebuild(data) == json.loads(data)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b'{"a": [1,}', "line 1 column 10"),
        (b'{"a": 1} x', "line 1 column 10"),
        (b"", "line 1 column 1"),
        (b'{"a"\n:\n tru}', "line 3 column 2"),
        (b'{"service_availability": [{"availability": [{"x": 1}\n\n  {"y": 2}]}]}', "line 3 column 3"),
    ],
)
def test_syntax_errors_name_line_and_column(text: bytes, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for chunk in (3, 1 << 20):
        monkeypatch.setattr(jsonstream, "_CHUNK", chunk)
        with pytest.raises(StreamError) as info:
            list(iter_events(io.BytesIO(text), TOP, NESTED))
        assert info.value.where == where, chunk
