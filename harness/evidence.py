"""Evidence: credential redaction (the ONE place it happens), which exchanges a deviation shows, and the
command that reproduces it.

Every request header set that enters an :class:`~harness.results.Exchange` goes through
:func:`redact_headers`. The configured credentials never appear in a record: the Authorization value is
replaced by a marker saying which credentials were sent, and reproducers use the ``$BOOKCHECK_USER`` /
``$BOOKCHECK_PASSWORD`` environment variables instead.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness.results import CheckResult, Exchange

#: Authorization markers stored in place of the real header value.
AUTH_CONFIGURED = "Basic <redacted: configured credentials>"
AUTH_WRONG = "Basic <redacted: deliberately wrong credentials>"
AUTH_HEADER_NAMES = ("authorization", "proxy-authorization")

#: Evidence exchanges kept per deviation.
MAX_EVIDENCE = 8

#: Credentials the harness sends when a scenario tests that wrong ones are refused (not secret).
WRONG_USER = "bookcheck-wrong-user"
WRONG_PASSWORD = "bookcheck-wrong-password"


def redact_headers(headers: dict[str, str], *, auth_mode: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers.items():
        if k.lower() in AUTH_HEADER_NAMES:
            out[k] = AUTH_WRONG if auth_mode == "wrong" else AUTH_CONFIGURED
        else:
            out[k] = v
    return out


def redact_url(url: str) -> str:
    """Drop any ``user:password@`` part of a URL."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _auth_mode_of(ex: Exchange) -> str:
    for k, v in ex.request.headers.items():
        if k.lower() == "authorization":
            return "wrong" if v == AUTH_WRONG else "configured"
    return "none"


def _body_text(body: Any) -> str:
    if isinstance(body, str):
        return body
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def curl_command(ex: Exchange, *, insecure: bool = False, ca_file: str | None = None) -> str:
    parts = ["curl", "-sS", "-i"]
    if insecure:
        parts.append("-k")
    if ca_file:
        parts += ["--cacert", shlex.quote(ca_file)]
    method = ex.request.method or "POST"
    parts += ["-X", method, shlex.quote(ex.request.url or "")]
    mode = _auth_mode_of(ex)
    if mode == "configured":
        parts += ["-u", '"$BOOKCHECK_USER:$BOOKCHECK_PASSWORD"']
    elif mode == "wrong":
        parts += ["-u", shlex.quote(f"{WRONG_USER}:{WRONG_PASSWORD}")]
    if ex.request.body is not None and method != "GET":
        parts += [
            "-H",
            shlex.quote("Content-Type: application/json"),
            "--data-binary",
            shlex.quote(_body_text(ex.request.body)),
        ]
    return " ".join(parts)


def grpcurl_command(ex: Exchange, *, plaintext: bool = True) -> str:
    url = ex.request.url or ""
    rest = url.split("://", 1)[-1]
    hostport, _, method = rest.partition("/")
    parts = ["grpcurl"]
    if plaintext:
        parts.append("-plaintext")
    mode = _auth_mode_of(ex)
    if mode == "configured":
        parts += ["-H", '"authorization: Basic $(printf %s "$BOOKCHECK_USER:$BOOKCHECK_PASSWORD" | base64)"']
    elif mode == "wrong":
        parts += ["-H", shlex.quote(f"authorization: Basic <base64 of {WRONG_USER}:{WRONG_PASSWORD}>")]
    if ex.request.body is not None:
        parts += ["-d", shlex.quote(_body_text(ex.request.body))]
    parts += [hostport, method]
    return " ".join(parts)


def reproduce(ex: Exchange, *, insecure: bool = False, ca_file: str | None = None) -> str:
    if ex.transport == "grpc":
        return grpcurl_command(ex, plaintext=(ex.request.url or "").startswith("grpc://"))
    return curl_command(ex, insecure=insecure, ca_file=ca_file)


def pick_exchanges(
    own: Sequence[Exchange], earlier: Sequence[Exchange], limit: int = MAX_EVIDENCE
) -> tuple[Exchange, ...]:
    """The exchanges a deviation shows: its own (the replies that show it) last, preceded by as many of the
    ``earlier`` steps' exchanges (the latest ones) as fit in ``limit``."""
    own_ex = list(own)
    before = [e for e in earlier if e not in own_ex]
    exchanges = (before[-(limit - len(own_ex)) :] if len(own_ex) < limit else []) + own_ex
    return tuple(exchanges[-limit:])


def with_evidence(
    passed: CheckResult,
    actual: str | None,
    own: Sequence[Exchange],
    earlier: Sequence[Exchange],
    *,
    insecure: bool = False,
    ca_file: str | None = None,
) -> CheckResult:
    """A deviation is the same record as a pass plus its evidence: what was seen, the exchanges, and a
    command reproducing the decisive (last own) exchange."""
    decisive = own[-1] if own else None
    return replace(
        passed,
        actual=actual,
        exchanges=pick_exchanges(own, earlier),
        reproduce=reproduce(decisive, insecure=insecure, ca_file=ca_file) if decisive else None,
        elapsed_ms=decisive.elapsed_ms if decisive else None,
    )
