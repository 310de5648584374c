"""Fixtures of the datagen room: small generated feeds, written once per test session (per xdist worker)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server.datagen.writer import write_feeds

#: A fixed, far-future first day: the files are byte-identical on every day the tests run.
START = dt.date(2030, 1, 7)
LOCALES = ("en_US", "de_DE", "ja_JP", "fr_FR")
VERTICALS = ("beauty", "dining", "fitness", "spa")


MakeFeeds = Callable[..., Path]


def _generate(out: Path, *, seed: int = 11, merchants: int = 8, days: int = 30) -> Path:
    write_feeds(
        out, seed=seed, merchants=merchants, days=days, start=START, verticals=VERTICALS, locales=LOCALES
    )
    return out


@pytest.fixture(scope="session")
def make_feeds() -> MakeFeeds:
    """``make_feeds(out, seed=11, merchants=8, days=30)``: the feeds of the session fixture, other options."""
    return _generate


@pytest.fixture(scope="session")
def feed_options() -> dict[str, Any]:
    """The options behind ``feeds_dir`` (for tests that rebuild the merchant plans)."""
    return {"seed": 11, "merchants": 8, "start": START, "verticals": VERTICALS, "locales": LOCALES}


@pytest.fixture(scope="session")
def feeds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """merchants.json, services.json, availability.json: 8 merchants of all four verticals, four locales."""
    return _generate(tmp_path_factory.mktemp("feeds"))
