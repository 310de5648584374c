"""Fixtures for the server room: small explicit feeds, a real server on 127.0.0.1:0, a tiny HTTP client."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from srvhelpers import Client, Serve, feed_doc  # noqa: E402

from mock_server.domain import FakeClock  # noqa: E402
from mock_server.server import RunningServer, ServerConfig, serve_in_thread  # noqa: E402


@pytest.fixture
def feed_path(tmp_path: Path) -> Path:
    p = tmp_path / "availability.json"
    p.write_text(json.dumps(feed_doc()))
    return p


@pytest.fixture
def serve(feed_path: Path) -> Iterator[Serve]:
    """``serve(**config_overrides)`` starts a server on the test feed (stopped at teardown)."""
    stack: list[Any] = []

    def start(**overrides: Any) -> tuple[RunningServer, Client]:
        cfg = replace(ServerConfig(port=0, feed=str(feed_path)), **overrides)
        cm = serve_in_thread(cfg)
        server = cm.__enter__()
        stack.append(cm)
        return server, Client(server.rest_url, cfg.user, cfg.password)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def client(serve: Serve) -> Client:
    return serve()[1]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())
