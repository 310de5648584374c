"""``bookcheck serve --grpc-port 0`` as a process: the ready line names both endpoints, one state."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpcroom_helpers import basic, next_start, rest_booking_body

from booking_protocol import booking_pb2 as pb
from booking_protocol import booking_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
#: The serve sub-command exactly as bookcheck/cli.py composes it, without depending on the other rooms.
RUNNER = (
    "import argparse, sys; from mock_server import cli; p = argparse.ArgumentParser(prog='bookcheck'); "
    "s = p.add_subparsers(); cli.register(s); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
)
TIMEOUT = 30


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )


def _first_line(proc: subprocess.Popen[str]) -> str:
    box: list[str] = []
    reader = threading.Thread(
        target=lambda: box.append(proc.stdout.readline() if proc.stdout else ""), daemon=True
    )
    reader.start()
    reader.join(TIMEOUT)
    if not box:
        proc.kill()
        pytest.fail("no ready line in time")
    return box[0]


def test_ready_line_names_both_endpoints_sharing_one_state(feed: Path) -> None:
    proc = _spawn("--port", "0", "--grpc-port", "0", "--feed", str(feed), "--user", "u", "--password", "p")
    try:
        line = _first_line(proc)
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+) and grpc://(127\.0\.0\.1:\d+)\n", line)
        assert m, line
        rest_url, target = m.groups()
        start = next_start()
        request = urllib.request.Request(
            f"{rest_url}/v3/CreateBooking",
            data=json.dumps(rest_booking_body(start, "u-proc", "t-proc")).encode(),
            headers={"Authorization": basic("u", "p")[0][1], "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            booking_id = json.loads(response.read())["booking"]["booking_id"]
        with grpc.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="ext.maps.booking.partner.v3.BookingService"),
                timeout=10,
                metadata=basic("u", "p"),
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            got = booking_pb2_grpc.BookingServiceStub(channel).GetBookingStatus(
                pb.GetBookingStatusRequest(booking_id=booking_id), timeout=10, metadata=basic("u", "p")
            )
            assert got.booking_status == pb.CONFIRMED
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_without_grpc_port_there_is_no_grpc_endpoint(feed: Path) -> None:
    proc = _spawn("--port", "0", "--feed", str(feed))
    try:
        assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+\n", _first_line(proc))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
