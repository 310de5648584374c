"""The pytest plugin runs the same scenarios as pytest items, with pytest-xdist and --junitxml."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import PASSWORD, USER  # noqa: TID252


def _plugin_args() -> list[str]:
    """``-p harness.pytest_plugin`` unless the installed package already registers it (pytest11 entry point):
    registering the module twice under two names is an error."""
    from importlib.metadata import entry_points

    installed = any(ep.value == "harness.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "harness.pytest_plugin"]


def _pytest(tmp_path: Path, url: str, feed: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *_plugin_args(),
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            str(tmp_path / "pytest.ini"),
            "--bookcheck-target",
            url,
            "--bookcheck-feed",
            str(feed),
            "--bookcheck-user",
            USER,
            "--bookcheck-password",
            PASSWORD,
            "--junitxml",
            str(tmp_path / "junit.xml"),
            "-q",
            *extra,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )


def test_scenarios_run_as_pytest_items_with_xdist(
    reference: Callable[..., Any], feed_path: Path, tmp_path: Path
) -> None:
    with reference() as server:
        proc = _pytest(tmp_path, server.rest_url, feed_path, "-n", "2", "-k", "create-booking or health")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    names = {c.get("name") for c in cases}
    assert {"create-booking/echo", "create-booking/idempotent-replay", "health/ok"} <= names


def test_a_deviation_fails_its_item(reference: Callable[..., Any], feed_path: Path, tmp_path: Path) -> None:
    with reference(faults=("health-fail",)) as server:  # HealthCheck answers 503, the rest works
        proc = _pytest(tmp_path, server.rest_url, feed_path, "-k", "health or echo")
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "health/ok" in proc.stdout and "HTTP 200" in proc.stdout
    assert "1 failed" in proc.stdout
