"""Preflight (D30): a target that cannot be judged ends as one setup error with a hint, a booking server that
misbehaves is let through to be judged. Real servers on 127.0.0.1: the reference server with wrong settings,
and a plain ``python -m http.server``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from booking_protocol.feed import FeedSlot
from harness.errors import TargetUnreachable, UsageError
from harness.preflight import SetupError, preflight
from harness.targets import Credentials, TargetOptions, make_target

from .conftest import PASSWORD, USER  # noqa: TID252

GOOD = Credentials(USER, PASSWORD)


def _check(url: str, *, credentials: Credentials | None = GOOD, feed: Sequence[FeedSlot] = ()) -> None:
    async def go() -> None:
        target = make_target(TargetOptions(url=url, credentials=credentials, timeout=5.0))
        try:
            await preflight(target, has_credentials=credentials is not None, feed=feed)
        finally:
            await target.close()

    asyncio.run(go())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def plain_web_server(tmp_path: Any) -> Iterator[str]:
    """``python3 -m http.server``: answers GET with files and POST with 501, in HTML."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_correct_server_with_its_own_feed_passes(
    reference: Callable[..., Any], feed_slots: list[FeedSlot]
) -> None:
    with reference() as server:
        _check(server.rest_url, feed=feed_slots)


def test_wrong_password_is_one_setup_error_naming_the_credentials(reference: Callable[..., Any]) -> None:
    with reference() as server, pytest.raises(SetupError) as err:
        _check(server.rest_url, credentials=Credentials(USER, "not-the-password"))
    assert "refuses the credentials" in err.value.problem and "--user/--password" in err.value.hint
    assert isinstance(err.value, UsageError)


def test_missing_credentials_are_named(reference: Callable[..., Any]) -> None:
    with reference() as server, pytest.raises(SetupError) as err:
        _check(server.rest_url, credentials=None)
    assert "requires credentials" in err.value.problem


def test_wrong_base_path_is_one_setup_error(reference: Callable[..., Any]) -> None:
    with reference() as server, pytest.raises(SetupError) as err:
        _check(server.rest_url + "/partner-api")
    assert "404" in err.value.problem and "/v3/<Method>" in err.value.hint
    with reference() as server, pytest.raises(SetupError) as err:
        _check(server.rest_url + "/v3")
    assert "remove the trailing /v3" in err.value.hint


def test_a_plain_web_server_is_not_a_booking_server(tmp_path: Any) -> None:
    """GET /v3/HealthCheck answers 404 and POST 501, both in HTML: one setup error, not a base-path one."""
    (tmp_path / "index.html").write_text("<html>hello</html>")
    with plain_web_server(tmp_path) as url, pytest.raises(SetupError) as err:
        _check(url)
    assert "does not look like a booking server" in err.value.problem


def test_a_feed_of_another_merchant_is_one_setup_error(
    reference: Callable[..., Any], feed_slots: list[FeedSlot]
) -> None:
    foreign = [dataclasses.replace(s, merchant_id="someone-else-" + s.merchant_id) for s in feed_slots[:200]]
    with reference() as server, pytest.raises(SetupError) as err:
        _check(server.rest_url, feed=foreign)
    assert "none of 20 open slots of the feed" in err.value.problem and "--merchant" in err.value.hint


def test_nothing_listening_is_unreachable() -> None:
    with pytest.raises(TargetUnreachable) as err:
        _check(f"http://127.0.0.1:{_free_port()}")
    assert "cannot reach" in str(err.value) and "hint:" in str(err.value)


def test_a_server_that_answers_500_is_judged_not_refused(reference: Callable[..., Any]) -> None:
    """D30: a booking server that breaks rules passes the preflight (its deviations are reported as usual)."""
    with reference(faults=("error-rate=1.0@BatchAvailabilityLookup,HealthCheck",)) as server:
        _check(server.rest_url)
