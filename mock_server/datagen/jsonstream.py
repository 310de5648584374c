"""Reading a feed's long list one record at a time, in bounded memory.

An availability feed of 10,000 merchants is ~2 GB and ~10 M records; parsed whole it would need over
10 GB of RAM. This reader walks the outer structure of ``{"key": value, ..., "list": [rec, rec, ...]}``
by hand and decodes each record (and every other value) with the standard library's
``JSONDecoder.raw_decode``, refilling a text buffer from the file as needed. Only the current record is
in memory. (``ijson`` would do this too; it is not a dependency of the project.)

It understands exactly the shapes feeds have: a top-level object whose values are decoded whole, except
the values of ``stream_keys`` -- arrays whose elements are either records or objects that themselves
contain a streamed array (``service_availability: [{"availability": [...]}]``).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

_CHUNK = 1 << 20
#: A single value larger than this is reported instead of buffering the rest of the file.
MAX_VALUE_CHARS = 64 << 20
_WS = " \t\n\r"


class StreamError(ValueError):
    """Not valid JSON (or not the expected shape); ``where`` is "line L column C"."""

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Event:
    """``kind`` is "value" (a key's whole value), "record" (an element of a streamed list) or
    "list" (a streamed list begins; ``value`` is its key). ``path`` is the JSON path of the item."""

    kind: str
    path: str
    key: str
    value: Any


class _Reader:
    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # line number at buf[0]
        self.line_start = 0  # offset of the start of that line relative to buf[0] (may be negative)
        self.json = json.JSONDecoder()

    def _fill(self) -> bool:
        if self.eof:
            return False
        raw = self.fh.read(_CHUNK)
        if not raw:
            self.eof = True
            tail = self.decoder.decode(b"", final=True)
            self.buf += tail
            return bool(tail)
        if self.pos > _CHUNK:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self.line += newlines
                self.line_start = dropped.rfind("\n") + 1 - self.pos
            else:
                self.line_start -= self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += self.decoder.decode(raw)
        return True

    def where(self, pos: int | None = None) -> str:
        at = self.pos if pos is None else pos
        head = self.buf[:at]
        newlines = head.count("\n")
        if newlines:
            return f"line {self.line + newlines} column {at - head.rfind(chr(10))}"
        return f"line {self.line} column {at - self.line_start + 1}"

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        ch = self.peek()
        if not ch or ch not in chars:
            found = repr(ch) if ch else "the end of the file"
            raise StreamError(
                self.where(), f"not valid JSON: expected {' or '.join(map(repr, chars))}, found {found}"
            )
        self.pos += 1
        return ch

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # The value may just continue past the buffer: read more and retry, up to a limit.
                if not self.eof and len(self.buf) - self.pos < MAX_VALUE_CHARS and self._fill():
                    continue
                raise StreamError(self.where(exc.pos), f"not valid JSON: {exc.msg}") from None
            if end == len(self.buf) and not self.eof and isinstance(obj, int | float) and self._fill():
                continue  # a number cut by the buffer end: decode it again with the rest
            self.pos = end
            return obj

    def key(self) -> str:
        if self.peek() != '"':
            raise StreamError(self.where(), "not valid JSON: expected a property name in double quotes")
        k = self.value()
        self.expect(":")
        return str(k)


def iter_events(fh: IO[bytes], stream_keys: frozenset[str], nested_keys: frozenset[str]) -> Iterator[Event]:
    """Events of a feed document; the values of ``stream_keys`` (top level) are streamed element by element.

    An element of a streamed list that is an object is itself walked, and its ``nested_keys`` lists are
    streamed too (records); its other keys come as "value" events with the element's path.
    """
    r = _Reader(fh)
    r.expect("{")
    if r.peek() == "}":
        r.pos += 1
        _end(r)
        return
    while True:
        k = r.key()
        if k in stream_keys and r.peek() == "[":
            yield Event("list", "$", k, k)
            yield from _stream_list(r, f"$.{k}", nested_keys, top=True)
        elif k in nested_keys and r.peek() == "[":
            yield Event("list", "$", k, k)
            yield from _records(r, f"$.{k}")
        else:
            yield Event("value", "$", k, r.value())
        if r.expect(",}") == "}":
            break
    _end(r)


def _end(r: _Reader) -> None:
    if r.peek():
        raise StreamError(r.where(), "not valid JSON: extra data after the document")


def _records(r: _Reader, path: str) -> Iterator[Event]:
    r.expect("[")
    if r.peek() == "]":
        r.pos += 1
        return
    i = 0
    while True:
        yield Event("record", f"{path}[{i}]", "", r.value())
        i += 1
        if r.expect(",]") == "]":
            return


def _stream_list(r: _Reader, path: str, nested_keys: frozenset[str], *, top: bool) -> Iterator[Event]:
    r.expect("[")
    if r.peek() == "]":
        r.pos += 1
        return
    i = 0
    while True:
        item_path = f"{path}[{i}]"
        if r.peek() == "{":
            yield Event("list", item_path, "", None)  # an element object begins
            r.pos += 1
            if r.peek() == "}":
                r.pos += 1
            else:
                while True:
                    k = r.key()
                    if k in nested_keys and r.peek() == "[":
                        yield Event("list", item_path, k, k)
                        yield from _records(r, f"{item_path}.{k}")
                    else:
                        yield Event("value", item_path, k, r.value())
                    if r.expect(",}") == "}":
                        break
        else:
            yield Event("value", item_path, "", r.value())  # not an object: the schema will say so
        i += 1
        if r.expect(",]") == "]":
            return
