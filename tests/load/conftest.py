"""Fixtures of the load room: a generated feed with pinned dates (helpers live in loadhelpers.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # loadhelpers

from loadhelpers import START  # noqa: E402

from booking_protocol.feed import FeedSlot, load_availability_feed  # noqa: E402
from mock_server.datagen import generate_availability_feed  # noqa: E402


@pytest.fixture(scope="session")
def feed_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 merchants x 7 days (about 2,000 slots): room for a few hundred bookings without exhausting it."""
    path = tmp_path_factory.mktemp("load-feed") / "availability.json"
    path.write_text(json.dumps(generate_availability_feed(seed=7, merchants=6, days=7, start=START)))
    return path


@pytest.fixture(scope="session")
def feed_slots(feed_path: Path) -> list[FeedSlot]:
    return list(load_availability_feed(feed_path))
