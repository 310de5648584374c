"""Fixtures of the harness tests: a generated feed and the reference server in-process.

To break one behaviour of the server on purpose, start it with a fault profile:
``reference(faults=("health-fail",))`` (``ServerConfig.faults``, as ``bookcheck serve --fault``;
docs/faults.md lists them). There is one way to break the server on purpose: a fault profile.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from timebase import FEED_START, pinned_clock

from booking_protocol.feed import FeedSlot, load_availability_feed
from harness.config import RunConfig
from harness.profile import TargetProfile
from harness.results import RunResult
from harness.runner import run
from harness.targets import Credentials, TargetOptions

USER, PASSWORD = "bc-user", "bc-secret-password-123"
FULL_PROFILE = TargetProfile(availability="both", leases=True, party_size_change=True)


@pytest.fixture(scope="session")
def feed_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mock_server.datagen import generate_availability_feed

    path = tmp_path_factory.mktemp("feed") / "availability.json"
    path.write_text(json.dumps(generate_availability_feed(seed=7, start=FEED_START)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def feed_slots(feed_path: Path) -> list[FeedSlot]:
    return load_availability_feed(feed_path)


@contextlib.contextmanager
def reference_server(feed_path: Path, **options: Any) -> Iterator[Any]:
    from mock_server.server import ServerConfig, serve_in_thread

    options.setdefault("clock", pinned_clock())
    cfg = ServerConfig(port=0, feed=str(feed_path), user=USER, password=PASSWORD, **options)
    with serve_in_thread(cfg) as server:
        yield server


@pytest.fixture
def reference(feed_path: Path) -> Callable[..., Any]:
    """``with reference(json_names="camel") as server: server.rest_url``"""
    return lambda **options: reference_server(feed_path, **options)


def make_config(url: str, feed: list[FeedSlot] | None, **kw: Any) -> RunConfig:
    creds = kw.pop("credentials", Credentials(USER, PASSWORD))
    target = TargetOptions(url=url, credentials=creds, timeout=kw.pop("timeout", 10.0))
    kw.setdefault("profile", FULL_PROFILE)
    kw.setdefault("seed", 1)
    kw.setdefault("clock", pinned_clock())
    return RunConfig(target=target, feed=feed, **kw)


@pytest.fixture
def run_against(feed_slots: list[FeedSlot]) -> Callable[..., RunResult]:
    def go(url: str, **kw: Any) -> RunResult:
        return run(make_config(url, feed_slots, **kw))

    return go


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def grpc_reference(feed_path: Path) -> Iterator[str]:
    """The reference server's gRPC endpoint (``serve_in_thread`` with ``grpc_port=0``)."""
    from mock_server.server import ServerConfig, serve_in_thread

    cfg = ServerConfig(
        port=0, feed=str(feed_path), user=USER, password=PASSWORD, grpc_port=0, clock=pinned_clock()
    )
    with serve_in_thread(cfg) as server:
        yield next(u for u in server.extra_urls if u.startswith("grpc"))


@pytest.fixture
def grpc_url(feed_path: Path) -> Iterator[str]:
    with grpc_reference(feed_path) as url:
        yield url
