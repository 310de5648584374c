"""The one Basic-credentials check both adapters use (spec §6, D19)."""

from __future__ import annotations

import base64

import pytest

from mock_server.auth import BasicCredentials


def _basic(pair: bytes, scheme: str = "Basic") -> str:
    return f"{scheme} {base64.b64encode(pair).decode()}"


def test_not_configured_means_no_check() -> None:
    assert BasicCredentials.configured(None, None) is None
    assert BasicCredentials.configured("u", None) is not None


@pytest.mark.parametrize(
    "header",
    [
        _basic(b"u:p:w"),
        _basic(b"u:p:w").encode(),
        _basic(b"u:p:w", "basic"),
        "  " + _basic(b"u:p:w") + " ",
        "BASIC  " + base64.b64encode(b"u:p:w").decode(),
    ],
)
def test_accepts_the_pair_in_any_spelling(header: str | bytes) -> None:
    assert BasicCredentials("u", "p:w").accepts(header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        b"",
        _basic(b"u:wrong"),
        _basic(b"u:p:w", "Bearer"),
        "Basic !!notbase64",
        "Basic",
        "Basic " + "é" * 8,
        _basic(b"u:p:w")[:-2],
    ],
)
def test_refuses_everything_else(header: str | bytes | None) -> None:
    assert not BasicCredentials("u", "p:w").accepts(header)
