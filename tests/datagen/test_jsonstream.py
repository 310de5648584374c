"""The streaming reader behind validate-feed (over ijson): same values as json.loads, at any buffer size."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from booking_protocol.jsonstream import StreamError, iter_events

TOP = frozenset({"service_availability"})
NESTED = frozenset({"availability"})


def rebuild(data: bytes, buf_size: int = 1 << 16) -> dict[str, Any]:
    """The document put back together from the events (records into their lists)."""
    doc: dict[str, Any] = {}
    groups: list[Any] = []
    for ev in iter_events(io.BytesIO(data), TOP, NESTED, buf_size=buf_size):
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


@pytest.mark.parametrize("buf_size", [1, 2, 7, 64, 1 << 16])
def test_events_rebuild_the_document_at_any_buffer_size(buf_size: int) -> None:
    """Records, keys, strings and numbers cut by the parser's buffer boundaries come out whole."""
    doc = {
        "metadata": {"nonce": "123", "generation_timestamp": 1795996800},
        "service_availability": [
            {
                "availability": [
                    {"start_sec": 1234567890, "name": 'Café ☕ "quoted"'},
                    {"x": [1, 2.5, None, True, False, -0.125e-3, 2**63 - 1, -(2**62)]},
                    {"long": "y" * 300, "nested": {"deep": [{"k": []}, {}]}},
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
        got = rebuild(text.encode(), buf_size)
        assert got == doc
        assert type(got["service_availability"][0]["availability"][1]["x"][1]) is float  # not Decimal


def test_a_byte_order_mark_is_skipped() -> None:
    doc = {"availability": [{"a": "é"}]}
    for buf_size in (1, 2, 1 << 16):
        assert rebuild(b"\xef\xbb\xbf" + json.dumps(doc).encode(), buf_size) == doc


def test_lone_service_availability_and_empty_document() -> None:
    lone = {"availability": [{"a": 1}, {"b": 2}]}
    assert rebuild(json.dumps(lone).encode()) == lone
    assert rebuild(b" {} ") == {}


def test_generated_feed_streams_like_json_loads(feeds_dir: Path) -> None:
    data = (feeds_dir / "availability.json").read_bytes()
    assert rebuild(data, 4096) == json.loads(data)


@pytest.mark.parametrize(
    ("text", "bad_at", "problem"),
    [
        (b'{"a": [1,}', 9, "unallowed token"),
        (b'{"a": 1} x', 9, "trailing garbage"),
        (b'{"a"\n:\n tru}', 10, "invalid string"),
        (b'{"service_availability": [{"availability": [{"x": 1}\n\n  {"y": 2}]}]}', 56, "expect ',' or ']'"),
        (b'{"a": "\xff"}', 7, "invalid bytes in UTF8"),
        (b'{"a": [0, 18446744073709551616]}', 30, "integer overflow"),  # yajl: int64 only
    ],
)
def test_syntax_errors_name_the_bytes_that_hold_them(text: bytes, bad_at: int, problem: str) -> None:
    """yajl gives no offset; the reported range is the buffer being parsed, so it must hold the error."""
    for buf_size in (3, 1 << 16):
        with pytest.raises(StreamError) as info:
            list(iter_events(io.BytesIO(text), TOP, NESTED, buf_size=buf_size))
        start, end = (int(n) for n in info.value.where.removeprefix("bytes ").split("-"))
        assert start <= bad_at < end, (buf_size, info.value.where)
        assert end - start <= buf_size
        assert problem in info.value.problem
        assert info.value.problem.startswith("not valid JSON: ")
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", [b"", b'{"a": 1', b'{"service_availability": [{"availability": [{"x"'])
def test_a_cut_off_document_is_reported_at_its_end(text: bytes) -> None:
    with pytest.raises(StreamError) as info:
        list(iter_events(io.BytesIO(text), TOP, NESTED, buf_size=4))
    assert info.value.where == f"byte {len(text)}"
    assert info.value.problem == "not valid JSON: parse error: premature EOF"


def test_a_document_that_is_no_object_is_a_stream_error() -> None:
    with pytest.raises(StreamError, match="not a JSON object"):
        list(iter_events(io.BytesIO(b"[1, 2]"), TOP, NESTED))
