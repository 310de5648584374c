"""``bookcheck serve`` in a process of its own, as every benchmark starts it: on free ports, this checkout
importable, its output drained (a full pipe would stall the server), ready when it prints its ready line.

    served = start_serve("--feed", str(feed), "--fault", "overbook", prefix=["taskset", "-c", "0"])
    ... served.rest_url, served.grpc_address ...
    served.stop()
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
#: the server's first line once it listens: "listening on http://H:P" (and " and grpc://H:P" with gRPC)
READY = re.compile(r"listening on (http://\S+)(?: and grpc://(\S+))?")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    rest_url: str
    #: host:port of the gRPC endpoint (``--grpc-port 0``), else None
    grpc_address: str | None
    #: reads the server's output until it exits, then closes the pipe
    drain: threading.Thread

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.drain.join(10)


def start_serve(
    *flags: str,
    prefix: Sequence[str] = (),
    entry: Sequence[str] = ("-m", "bookcheck"),
    ready_sec: float = 600.0,
) -> Served:
    """``[prefix] python <entry> serve --port 0 <flags>``; raises SystemExit with the server's last words
    when it exits, or is not ready within ``ready_sec`` (a large feed takes minutes to load)."""
    cmd = [*prefix, sys.executable, *entry, "serve", "--port", "0", *flags]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    watchdog = threading.Timer(ready_sec, proc.kill)  # a silent server ends the loop below
    watchdog.start()
    said: list[str] = []
    try:
        for line in proc.stdout:
            found = READY.search(line)
            if found:
                drain = threading.Thread(target=_drain, args=(proc.stdout,), daemon=True)
                drain.start()  # a full pipe would stall the server
                return Served(proc, found.group(1), found.group(2), drain)
            said = [*said[-4:], line.rstrip()]
    finally:
        watchdog.cancel()
    proc.kill()
    proc.wait(10)
    proc.stdout.close()
    raise SystemExit(f"bookcheck serve {' '.join(flags)} did not start:\n" + "\n".join(said))


def _drain(pipe: IO[str]) -> None:
    with pipe:
        pipe.read()
