"""Helpers of the load room: the reference server in a thread, the argv of a load run."""

from __future__ import annotations

import contextlib
import datetime
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mock_server.server import RunningServer, ServerConfig, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "loadtest", "s3cret-load"
START = datetime.date(2031, 1, 6)  # far ahead: no slot is ever in the past, whatever the machine date


@contextlib.contextmanager
def served(feed: Path, *faults: str, **options: Any) -> Iterator[RunningServer]:
    config = ServerConfig(
        port=0, feed=str(feed), user=USER, password=PASSWORD, faults=tuple(faults), **options
    )
    with serve_in_thread(config) as server:
        yield server


def load_argv(url: str, feed: Path, tmp: Path, *extra: str) -> list[str]:
    return [
        "load",
        "--target",
        url,
        "--feed",
        str(feed),
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--report",
        f"json:{tmp / 'load.json'}",
        "--report",
        f"junit:{tmp / 'load.xml'}",
        "--report",
        f"html:{tmp / 'load.html'}",
        "--seed",
        "1",
        *extra,
    ]


def python_m_bookcheck() -> list[str]:
    return [sys.executable, "-m", "bookcheck"]
