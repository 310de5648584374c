"""The benchmarks in ``bench/`` stay runnable: each imports and explains itself (``--help``), and the one
way they start the reference server works and says why when the server cannot start. (Their figures are
printed by running them; no timing is asserted here.)"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = sorted(p for p in (ROOT / "bench").glob("*.py") if p.name != "benchserve.py")
sys.path.insert(0, str(ROOT / "bench"))

from benchserve import start_serve  # noqa: E402


@pytest.mark.parametrize("script", BENCHES, ids=lambda p: p.stem)
def test_every_benchmark_imports_and_explains_itself(script: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:"), proc.stdout[:500]


def test_benchserve_starts_rest_and_grpc_and_stops() -> None:
    served = start_serve("--grpc-port", "0", ready_sec=120)
    try:
        assert served.grpc_address is not None and served.grpc_address.startswith("127.0.0.1:")
        with urllib.request.urlopen(served.rest_url + "/v3/HealthCheck", timeout=10) as reply:
            assert reply.status == 200
    finally:
        served.stop()
    assert served.proc.returncode is not None


def test_benchserve_says_why_a_server_did_not_start(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-feed.json"
    with pytest.raises(SystemExit) as info:
        start_serve("--feed", str(missing), ready_sec=120)
    assert "did not start" in str(info.value) and str(missing) in str(info.value)
