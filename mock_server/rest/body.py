"""Reading a request body within the limits (issue 16): size, time and decompression.

aiohttp would inflate ``Content-Encoding: gzip`` bodies inside its HTTP parser, as the bytes arrive and
before any handler runs, so a 1 MB body that inflates to 1 GiB cost seconds of CPU before the credentials
were even looked at. The server therefore turns that off (``auto_decompress=False``, see
:mod:`.connections`) and the handler calls :func:`read_body` only *after* the credentials passed. The raw
body is read under the size limit and a time limit, then inflated by :mod:`zlib` with ``max_length``: the
work stops one byte past the limit, whatever the body claims to hold.

Every problem is a :class:`BodyError` carrying the HTTP status and canonical code of the D16 error body.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from aiohttp import web

#: Content-Encoding -> zlib ``wbits`` (None: not compressed). "deflate" is the zlib format of RFC 9110;
#: raw deflate streams, which some clients send under that name, are tried as well.
ENCODINGS: dict[str, int | None] = {
    "identity": None,
    "": None,
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}


class BodyError(Exception):
    """The body cannot be used: ``status`` (HTTP), ``code`` (canonical name) and a one-line message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def too_large(limit: int, what: str = "request body") -> BodyError:
    return BodyError(413, "RESOURCE_EXHAUSTED", f"{what} larger than {limit} bytes")


def content_encoding(request: Any) -> int | None:
    """The zlib ``wbits`` of the request's Content-Encoding; :class:`BodyError` 415 for any other coding."""
    name = request.headers.get("Content-Encoding", "").strip().lower()
    if name not in ENCODINGS:
        raise BodyError(
            415, "INVALID_ARGUMENT", f"Content-Encoding {name!r} is not supported (use gzip, deflate or none)"
        )
    return ENCODINGS[name]


async def read_raw(request: web.Request, max_body: int, timeout_sec: float) -> tuple[bytes, int | None]:
    """The body as sent (at most ``max_body`` bytes) and the zlib ``wbits`` of its coding (None: plain).

    Raises :class:`BodyError`: 413 over the limit, 408 when the body does not arrive in time, 415 for an
    unknown Content-Encoding.
    """
    wbits = content_encoding(request)
    if (request.content_length or 0) > max_body:
        raise too_large(max_body)
    try:
        async with asyncio.timeout(timeout_sec):
            raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(max_body) from None
    except TimeoutError:
        raise BodyError(
            408, "DEADLINE_EXCEEDED", f"the request body did not arrive within {timeout_sec:g} s"
        ) from None
    return raw, wbits


def decoded(raw: bytes, wbits: int | None, max_body: int) -> bytes:
    """The body inflated (when it is compressed), at most ``max_body`` bytes; :class:`BodyError` 413/400."""
    if wbits is None or not raw:
        return raw
    return inflate(raw, wbits, max_body)


async def read_body(request: web.Request, max_body: int, timeout_sec: float) -> bytes:
    """The body, decompressed, at most ``max_body`` bytes both before and after inflating (see
    :func:`read_raw` and :func:`decoded` for the errors)."""
    raw, wbits = await read_raw(request, max_body, timeout_sec)
    return decoded(raw, wbits, max_body)


def inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    """Decompress ``raw`` (gzip members or a deflate stream) into at most ``limit`` bytes."""
    try:
        return _inflate(raw, wbits, limit)
    except zlib.error as exc:
        if wbits == zlib.MAX_WBITS:  # "deflate" without the zlib header: raw deflate
            try:
                return _inflate(raw, -zlib.MAX_WBITS, limit)
            except zlib.error:
                pass
        raise BodyError(400, "INVALID_ARGUMENT", f"the compressed body is not valid: {exc}") from None


def _inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    out = bytearray()
    data = raw
    while data:
        d = zlib.decompressobj(wbits)
        out += d.decompress(data, limit + 1 - len(out))
        if len(out) > limit or d.unconsumed_tail:
            raise too_large(limit, "decompressed request body")
        if not d.eof:
            raise zlib.error("the stream ends early")
        data = d.unused_data if wbits > zlib.MAX_WBITS else b""  # gzip may hold several members
        if d.unused_data and wbits <= zlib.MAX_WBITS:
            raise zlib.error("data after the end of the stream")
    return bytes(out)
