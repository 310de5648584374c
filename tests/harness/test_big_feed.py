"""Big feeds (issue 10, item 9): streamed, with progress, and read only once the target answers.

The feed here is ~30,000 slots (~7 MB, above ``STREAM_FROM_BYTES``, so it takes the streaming path); the
190 MB figure is measured by ``bench/big_feed.py``, never in CI.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import socket
from pathlib import Path

import orjson
import pytest

from bookcheck.cli import main
from booking_protocol.feed import (
    STREAM_FROM_BYTES,
    FeedError,
    LoadProgress,
    iter_feed_document,
    load_availability_feed,
)
from harness.results import ExitCode

from .conftest import PASSWORD, USER, reference_server  # noqa: TID252

#: far ahead, so every slot is in the future for the command line's real clock
START = dt.date(2031, 3, 3)


@pytest.fixture(scope="module")
def big_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mock_server.datagen import generate_availability_feed

    path = tmp_path_factory.mktemp("bigfeed") / "availability.json"
    path.write_bytes(orjson.dumps(generate_availability_feed(seed=3, merchants=36, days=30, start=START)))
    assert path.stat().st_size >= STREAM_FROM_BYTES  # else this module would not test the stream
    return path


def _counts(lines: list[str]) -> list[int]:
    return [int(re.sub(r"\D", "", line.split(" slots")[0])) for line in lines]


def test_a_big_feed_is_streamed_with_progress_and_reads_as_the_whole_document(big_feed: Path) -> None:
    out = io.StringIO()
    progress = LoadProgress(out, quiet_for=0.0, every=0.0)  # every call prints: shows when they come
    slots = load_availability_feed(big_feed, progress=progress)
    progress.done(len(slots))
    assert slots == list(iter_feed_document(json.loads(big_feed.read_bytes()), str(big_feed)))
    assert len(slots) > 25_000
    *reading, last = out.getvalue().splitlines()
    assert all(line.startswith("reading feed: ") and line.endswith(" slots…") for line in reading)
    counts = _counts(reading)
    assert len(counts) >= 5 and counts == sorted(counts), counts  # called while reading, not once at the end
    assert counts[0] < len(slots) and counts[-1] == len(slots)
    assert re.fullmatch(rf"read feed: {len(slots):,} slots in \d+\.\d s", last), last
    first_of: dict[str, str] = {}
    for s in slots:  # one object per id: the memory a big feed saves
        assert s.merchant_id is first_of.setdefault(s.merchant_id, s.merchant_id)


def test_a_bad_record_of_a_big_feed_is_named_as_the_whole_document_reader_names_it(
    big_feed: Path, tmp_path: Path
) -> None:
    doc = json.loads(big_feed.read_bytes())
    last_group = doc["service_availability"][-1]["availability"]
    last_group[-1]["duration_sec"] = "an hour"
    bad = tmp_path / "availability.json"
    bad.write_bytes(orjson.dumps(doc))
    with pytest.raises(FeedError) as raised:
        load_availability_feed(bad)
    n = len(doc["service_availability"]) - 1
    assert raised.value.record == f"$.service_availability[{n}].availability[{len(last_group) - 1}]"
    assert "duration_sec must be an integer" in str(raised.value)


def test_an_unreachable_target_is_reported_before_a_big_feed_is_read(
    big_feed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The feed ends in garbage: had it been read, the run would end with its error (exit 2)."""
    feed = tmp_path / "availability.json"
    feed.write_bytes(big_feed.read_bytes() + b" garbage")
    with socket.socket() as closed:  # bound, not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        target = f"http://127.0.0.1:{closed.getsockname()[1]}"
        junit = tmp_path / "j.xml"
        argv = ["run", "--target", target, "--feed", str(feed), "--scenario", "create-booking/echo"]
        code = main([*argv, "--report", f"junit:{junit}"])
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert code == ExitCode.UNREACHABLE, lines
    assert lines == [
        f"wrote junit report: {junit}",
        f"bookcheck run: cannot reach {target}: connection refused",
        "  hint: is the server running, and is the host and port right?",
    ]
    assert "cannot reach" in junit.read_text() and "<error" in junit.read_text()


def test_a_run_with_a_streamed_feed_passes_against_the_reference_server(
    big_feed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with reference_server(big_feed, clock=None) as server:
        code = main(
            ["run", "--target", server.rest_url, "--user", USER, "--password", PASSWORD, "-q"]
            + ["--feed", str(big_feed), "--scenario", "create-booking/echo", "--scenario", "bal/*"]
        )
    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.out + captured.err
