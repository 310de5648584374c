"""End to end, as a user runs it: ``bookcheck serve --fault NAME`` in one process, ``bookcheck run`` in
another, over loopback. The run exits 1 and names the broken rule; a bad ``--fault`` is a one-line usage
error with exit code 2. (The in-process matrix covers every profile; this proves the commands wire it up.)
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from faultrun import FEED_SEED, PASSWORD, USER

from mock_server.datagen import generate_availability_feed

ROOT = Path(__file__).resolve().parents[2]
BOOKCHECK = [sys.executable, "-m", "bookcheck"]
START_TIMEOUT = 60.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feed") / "availability.json"
    path.write_text(
        json.dumps(generate_availability_feed(seed=FEED_SEED, merchants=3, days=3)), encoding="utf-8"
    )
    return path


@contextmanager
def serve(feed: Path, *args: str) -> Iterator[str]:
    """``bookcheck serve`` on ephemeral ports; yields its ready line; stops it (SIGTERM) afterwards."""
    cmd = [*BOOKCHECK, "serve", "--port", "0", "--feed", str(feed), "--user", USER, "--password", PASSWORD]
    errors = feed.parent / f"serve-{os.getpid()}-{id(args)}.err"
    with (
        errors.open("w") as err,
        subprocess.Popen(
            [*cmd, *args], stdout=subprocess.PIPE, stderr=err, text=True, env=_env(), cwd=ROOT
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
            line = proc.stdout.readline() if ready else ""
            assert "listening on" in line, f"serve did not start: {line!r} {errors.read_text()}"
            yield line.strip()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def run_against(url: str, feed: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        *BOOKCHECK,
        "run",
        "--target",
        url,
        "--feed",
        str(feed),
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--no-color",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=_env(), cwd=ROOT)


def _url(ready: str, scheme: str) -> str:
    return next(word for word in ready.split() if word.startswith(scheme + "://"))


def test_unknown_fault_is_a_one_line_usage_error() -> None:
    proc = subprocess.run(
        [*BOOKCHECK, "serve", "--port", "0", "--fault", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert "unknown profile 'nope'" in last and "overbook" in last and "latency" in last
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("fault", "rule"),
    [
        ("overbook", "create-booking/full-slot-unavailable"),
        ("no-auth", "auth/missing-credentials"),
        ("sticky-failure", "create-booking/failed-retry"),
    ],
)
def test_run_against_a_faulty_server_exits_1_and_names_the_rule(feed: Path, fault: str, rule: str) -> None:
    with serve(feed, "--fault", fault) as ready:
        result = run_against(_url(ready, "http"), feed)
    assert result.returncode == 1, result.stdout + result.stderr
    assert rule in result.stdout


def test_run_over_grpc_against_a_faulty_server_exits_1_and_names_the_rule(feed: Path) -> None:
    with serve(feed, "--grpc-port", "0", "--fault", "replay-new-booking") as ready:
        result = run_against(_url(ready, "grpc"), feed)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "create-booking/idempotent-replay" in result.stdout


def test_clean_server_run_exits_0(feed: Path) -> None:
    with serve(feed) as ready:
        result = run_against(_url(ready, "http"), feed)
    assert result.returncode == 0, result.stdout + result.stderr
