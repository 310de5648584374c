"""No verdict depends on the machine's date.

The fault matrix once failed on some dates only (`capacity-off-by-one`: its feed started "tomorrow", so which
slot each scenario got moved with the calendar). These tests run date-sensitive parts of the suite in child
processes under libfaketime at the dates of the house issue: the EU and US clock changes, 29 February and the
turn of the year. ``scripts/any-date`` runs the *whole* suite the same way (figures in the notes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the environment of every any-date child, as in ``scripts/any-date`` (reasons there): only the calendar
#: moves, threads waiting for the GIL do not spin, and ``time.sleep`` avoids a libfaketime bug (see
#: tests/support/faketime/sitecustomize.py)
FAKETIME_ENV = {
    "TZ": "UTC",
    "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    "PYTHONPATH": str(ROOT / "tests" / "support" / "faketime"),
}
DATES = (
    "2027-03-28 00:30:00",
    "2027-10-31 00:30:00",
    "2027-11-07 06:30:00",
    "2028-02-29 12:00:00",
    "2026-12-31 23:30:00",
)
#: date-sensitive tests: the fault that exposed the bug, the clean runs over both transports, lease expiry
SELECTION = (
    "tests/selftest/test_matrix.py::test_fault_breaks_exactly_its_rules_over_rest[capacity-off-by-one]",
    "tests/selftest/test_matrix.py::test_fault_breaks_exactly_its_rules_over_rest[overbook]",
    "tests/selftest/test_matrix.py::test_clean_server_has_no_deviation",
)


def _faketime() -> str:
    path = shutil.which("faketime")
    assert path, "libfaketime is missing: scripts/check installs the Debian package 'faketime'"
    return path


def test_faketime_moves_the_clock_of_a_child_process() -> None:
    """The tool itself works here: otherwise the test below would prove nothing."""
    out = subprocess.run(
        [
            _faketime(),
            "-f",
            "@2028-02-29 12:00:00",
            sys.executable,
            "-c",
            "import time; print(int(time.time()))",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **FAKETIME_ENV},
        check=True,
    )
    assert int(out.stdout) // 60 == 1835438400 // 60


def test_threads_waiting_under_faketime_do_not_spin() -> None:
    """Two busy threads in one process use one core, as without libfaketime.

    With libfaketime's monotonic fix on, a thread waiting for the GIL times out at once and spins; every
    xdist worker then burned two cores and the whole-suite runs starved into request timeouts. This fails if
    FAKETIME_ENV loses the setting that prevents it.
    """
    child = (
        "import threading, time\n"
        "def spin():\n"
        "    end = time.monotonic() + 1.0\n"
        "    while time.monotonic() < end: pass\n"
        "wall, cpu = time.monotonic(), time.process_time()\n"
        "t = threading.Thread(target=spin); t.start(); spin(); t.join()\n"
        "print(time.process_time() - cpu, time.monotonic() - wall)\n"
    )
    out = subprocess.run(
        [_faketime(), "-f", "@2027-03-28 00:30:00", sys.executable, "-c", child],
        capture_output=True,
        text=True,
        env={**os.environ, **FAKETIME_ENV},
        check=True,
    )
    cpu, wall = map(float, out.stdout.split())
    # one core's worth (about 1.0) without the spin; about 1.5 or more with it. A busy machine only lowers it.
    assert cpu / wall < 1.25, f"{cpu:.2f} s of CPU in {wall:.2f} s: threads waiting for the GIL spin"


@pytest.mark.parametrize("when", DATES)
def test_date_sensitive_tests_pass_on(when: str) -> None:
    proc = subprocess.run(
        [
            _faketime(),
            "-f",
            f"@{when}",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            *SELECTION,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **FAKETIME_ENV},
        timeout=300,
    )
    tail = "\n".join(proc.stdout.splitlines()[-15:])
    assert proc.returncode == 0, f"under faketime {when} UTC:\n{tail}\n{proc.stderr[-2000:]}"
    assert " passed" in proc.stdout and "failed" not in proc.stdout.splitlines()[-1], tail
