"""``bookcheck serve`` as a process: ready line, clean shutdown, one-line start errors; TLS."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from srvhelpers import Client, Serve

ROOT = Path(__file__).resolve().parents[2]
#: ``bookcheck`` itself: start-up errors reach its one error-to-exit-code mapping (bookcheck/cli.py).
RUNNER = "import sys; from bookcheck.cli import main; sys.exit(main(sys.argv[1:]))"


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def _first_line(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    box: list[str] = []
    t = threading.Thread(
        target=lambda: box.append(proc.stdout.readline() if proc.stdout else ""), daemon=True
    )
    t.start()
    t.join(timeout)
    if not box:
        proc.kill()
        pytest.fail("no ready line in time")
    return box[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ready_line_then_clean_shutdown(feed_path: Path, sig: signal.Signals) -> None:
    proc = _spawn(
        "--port", "0", "--feed", str(feed_path), "--user", "u", "--password", "p", "--lease-ttl-sec", "600"
    )
    try:
        line = _first_line(proc)
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert m, line
        c = Client(m.group(1), "u", "p")
        assert c.request("/v3/HealthCheck", verb="GET").status == 200
        assert c.request("/v3/HealthCheck", verb="GET", auth=False).status == 401
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out == "" and "Traceback" not in err


def test_default_inventory_is_generated() -> None:
    proc = _spawn("--port", "0", "--seed", "3")
    try:
        line = _first_line(proc, timeout=60)
        url = line.split()[-1]
        c = Client(url)
        assert c.request("/v3/HealthCheck", verb="GET").status == 200
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0


def _run_fail(*args: str) -> tuple[int, str, str]:
    proc = _spawn(*args)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_bad_feed_names_file_record_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"service_availability": [{"availability": [{"merchant_id": "m", "service_id": "s"}]}]})
    )
    code, out, err = _run_fail("--port", "0", "--feed", str(bad))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(bad) in err and "availability[0]" in err and "start_sec" in err


def test_missing_feed_file(tmp_path: Path) -> None:
    code, _, err = _run_fail("--port", "0", "--feed", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err and len(err.strip().splitlines()) == 1


def test_port_in_use_is_one_line(feed_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = _run_fail("--port", str(port), "--feed", str(feed_path))
    assert code == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and "already in use" in err and str(port) in err


def test_bad_certificate_is_one_line(feed_path: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    code, _, err = _run_fail(
        "--port", "0", "--feed", str(feed_path), "--tls-cert", str(junk), "--tls-key", str(junk)
    )
    assert code == 2 and "junk.pem" in err and err.strip().count("\n") == 0


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return str(cert), str(key)


def test_tls(serve: Serve, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server, _ = serve(tls_cert=cert, tls_key=key, user="u", password="p")
    assert server.rest_url.startswith("https://127.0.0.1:") and server.ready_line.startswith(
        "listening on https://"
    )
    ctx = ssl.create_default_context(cafile=cert)
    c = Client(server.rest_url, "u", "p", context=ctx)
    assert c.request("/v3/HealthCheck", verb="GET").status == 200
    assert c.request("/v3/HealthCheck", verb="GET", auth=False).status == 401
    plain = Client(server.rest_url.replace("https", "http"), "u", "p")
    with pytest.raises(Exception):  # noqa: B017 - a plain HTTP client cannot talk to the TLS port
        plain.request("/v3/HealthCheck", verb="GET")


def test_grpc_port_joins_the_ready_line(serve: Serve) -> None:
    server, c = serve(grpc_port=0)
    assert re.fullmatch(
        r"listening on http://127\.0\.0\.1:\d+ and grpc://127\.0\.0\.1:\d+", server.ready_line
    )
    assert c.request("/v3/HealthCheck", verb="GET").status == 200


def test_fault_profiles_are_wired(serve: Serve) -> None:
    server, c = serve(faults=("unknown-method-200",))
    assert c.call("NoSuchMethod", {}).status == 200  # the fault's documented misbehaviour
    assert c.request("/v3/HealthCheck", verb="GET").status == 200


def test_bad_fault_is_one_line(feed_path: Path) -> None:
    code, _, err = _run_fail("--port", "0", "--feed", str(feed_path), "--fault", "no-such-fault")
    assert code == 2 and "--fault" in err and "no-such-fault" in err and err.strip().count("\n") == 0
