"""Transport errors a person can act on (issue 10, item 8): TLS mistakes over gRPC and REST end as one
"cannot reach …: why" line and a hint, exit 3, with no gRPC C-core log lines on stderr.

``bookcheck run`` runs in-process (:func:`bookcheck.cli.main`) for the messages and exit codes, and as a
child process where C-core's logging is checked (it is decided when ``grpc`` is first imported, and the
in-process reference servers of this module import it first). The servers run here, on 127.0.0.1, with
certificates made by ``openssl``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bookcheck.cli import main
from harness.results import ExitCode

from .conftest import PASSWORD, USER, reference_server  # noqa: TID252

ROOT = Path(__file__).resolve().parents[2]
#: a C-core log line: "I1130 06:26:03.516203    4332 ssl_transport_security.cc:2563] Handshake failed …"
CORE_LOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [\w./-]+:\d+\]", re.MULTILINE)


def _certificate(directory: Path, name: str, san: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}"]
        + ["-addext", f"subjectAltName={san}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@dataclass(frozen=True)
class Servers:
    """The reference server three ways: TLS with a certificate for 127.0.0.1, TLS with a certificate for
    another host name, and plain. Each serves REST and gRPC."""

    cert: Path
    other_cert: Path
    tls_rest: str
    tls_grpc: str
    other_grpc: str
    plain_rest: str
    plain_grpc: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, feed_path: Path) -> Iterator[Servers]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = _certificate(d, "127.0.0.1", "IP:127.0.0.1")
    other_cert, other_key = _certificate(d, "other.example", "DNS:other.example")
    with (
        reference_server(feed_path, tls_cert=str(cert), tls_key=str(key), grpc_port=0) as tls,
        reference_server(feed_path, tls_cert=str(other_cert), tls_key=str(other_key), grpc_port=0) as other,
        reference_server(feed_path, grpc_port=0) as plain,
    ):
        yield Servers(
            cert=cert,
            other_cert=other_cert,
            tls_rest=tls.rest_url,
            tls_grpc=tls.extra_urls[0],
            other_grpc=other.extra_urls[0],
            plain_rest=plain.rest_url,
            plain_grpc=plain.extra_urls[0],
        )


def _argv(target: str, *flags: str) -> list[str]:
    """``run --target TARGET``, health only, with the server's credentials."""
    creds = ["--user", USER, "--password", PASSWORD]
    return ["run", "--target", target, *creds, "--scenario", "health/ok", "--timeout", "5", *flags]


def _child(target: str, *flags: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``bookcheck run`` in a child process, with no GRPC_* or BOOKCHECK_* variable but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRPC_", "BOOKCHECK_"))}
    argv = [sys.executable, "-m", "bookcheck", *_argv(target, *flags)]
    proc = subprocess.run(
        argv, cwd=ROOT, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def bookcheck(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``bookcheck run`` in this process: exit code, stdout, stderr."""

    def go(target: str, *flags: str) -> tuple[int, str, str]:
        code = main(_argv(target, *flags))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return go


def _assert_one_reason(code: int, out: str, err: str, reason: str, hint: str) -> None:
    """Exit 3; "cannot reach URL: <reason>" on one line, then the hint; a few lines in all; no C-core log
    line (in-process, C-core writes to the process's stderr, not to ``capsys``: the child test checks)."""
    assert code == ExitCode.UNREACHABLE, (out, err)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) <= 4, lines
    cannot = [line for line in lines if "cannot reach" in line]
    assert len(cannot) == 1 and reason in cannot[0], lines
    assert any(line.strip().startswith("hint:") and hint in line for line in lines), lines
    assert not CORE_LOG.search(err) and "ssl_transport_security" not in err, err
    assert "TimeoutError" not in out + err and "Traceback" not in err, err


def test_grpcs_with_an_untrusted_certificate_names_it_without_core_logging(servers: Servers) -> None:
    """A child process: C-core's log lines would show here (see the last test)."""
    code, out, err = _child(servers.tls_grpc, "-q")
    _assert_one_reason(code, out, err, "certificate is not trusted: self-signed certificate", "--ca-file")


def test_grpcs_with_a_certificate_for_another_host_says_so(
    servers: Servers, bookcheck: Callable[..., tuple[int, str, str]]
) -> None:
    code, out, err = bookcheck(servers.other_grpc, "-q", "--ca-file", str(servers.other_cert))
    _assert_one_reason(code, out, err, "certificate is not valid for this host 127.0.0.1", "host name")


def test_grpcs_against_a_plain_port_hints_at_grpc(
    servers: Servers, bookcheck: Callable[..., tuple[int, str, str]]
) -> None:
    code, out, err = bookcheck(servers.plain_grpc.replace("grpc://", "grpcs://"), "-q")
    _assert_one_reason(code, out, err, "the port does not speak TLS", "try grpc://")


def test_grpc_against_a_tls_port_hints_at_grpcs(
    servers: Servers, bookcheck: Callable[..., tuple[int, str, str]]
) -> None:
    code, out, err = bookcheck(servers.tls_grpc.replace("grpcs://", "grpc://"), "-q")
    _assert_one_reason(code, out, err, "the port speaks TLS", "try grpcs://")


def test_http_against_a_tls_port_hints_at_https(
    servers: Servers, bookcheck: Callable[..., tuple[int, str, str]]
) -> None:
    """aiohttp reports a plain request to a TLS port as "ServerDisconnectedError: Server disconnected"."""
    code, out, err = bookcheck(servers.tls_rest.replace("https://", "http://"), "-q")
    _assert_one_reason(code, out, err, "Server disconnected", "try https://")


def test_grpcs_accepts_the_certificate_given_with_ca_file_or_any_with_insecure(
    servers: Servers, bookcheck: Callable[..., tuple[int, str, str]]
) -> None:
    code, out, err = bookcheck(servers.tls_grpc, "-q", "--ca-file", str(servers.cert))
    assert code == ExitCode.OK, (out, err)
    for target in (servers.tls_grpc, servers.other_grpc):  # self-signed; and for another host name
        code, out, err = bookcheck(target, "-q", "--insecure")
        assert code == ExitCode.OK, (target, out, err)


def test_a_refused_grpc_port_says_connection_refused(
    servers: Servers, bookcheck: Callable[..., tuple[int, str, str]]
) -> None:
    """Nothing listens: "connection refused" (not a timeout after the channel gave up)."""
    with _closed_port() as port:
        code, out, err = bookcheck(f"grpcs://127.0.0.1:{port}", "-q")
    _assert_one_reason(code, out, err, "connection refused", "is the server running")


def test_the_users_own_grpc_verbosity_is_kept(servers: Servers) -> None:
    """GRPC_VERBOSITY set by the user wins: C-core then logs the failed handshakes as it always does
    (which also shows that the check for C-core lines above can fail)."""
    code, _, err = _child(servers.tls_grpc, "-q", env={"GRPC_VERBOSITY": "INFO"})
    assert code == ExitCode.UNREACHABLE
    assert CORE_LOG.search(err), err


class _closed_port:  # noqa: N801 - used as a context manager, like a function
    """A port on 127.0.0.1 that nothing listens on while the block runs (bound, never listening)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
