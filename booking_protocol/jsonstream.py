"""Reading a feed's long list one record at a time, in bounded memory -- a thin adapter over ``ijson``.

An availability feed of 10,000 merchants is ~2 GB and ~10 M records; parsed whole it would need over
10 GB of RAM. ``ijson`` (C backend, yajl) turns the file into a stream of parse events; this module
walks them in the shapes feeds have and builds one value at a time, so only the current record is in
memory. It understands a top-level object whose values are decoded whole, except the values of
``stream_keys`` -- arrays whose elements are either records or objects that themselves contain a
streamed array (``service_availability: [{"availability": [...]}]``).

yajl does not say where in the file an error is, only a short excerpt; the location given is the byte
range of the buffer the parser was reading when it failed, plus that excerpt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson

#: Bytes handed to the parser at a time (ijson's default is 64 KiB); records may span buffers.
BUF_SIZE = 1 << 16
_BOM = b"\xef\xbb\xbf"
_SCALARS = frozenset({"string", "number", "boolean", "null"})


class StreamError(ValueError):
    """Not valid JSON (or not the expected shape); ``where`` is "bytes A-B" (the error lies in that
    range of the file, A counted from 0, B exclusive) or "byte N" (at the end of the file)."""

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


class _CountingReader:
    """Hands the file to ijson, remembering which byte range it read last (for error locations) and
    dropping a UTF-8 byte order mark, which yajl does not accept."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.start = 0
        self.end = 0
        self.first = True

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        if self.first and data:  # ijson first probes with read(0) to tell bytes from text
            self.first = False
            while len(data) < len(_BOM) and _BOM.startswith(data):
                more = self.fh.read(len(_BOM) - len(data))
                if not more:
                    break
                data += more
            if data.startswith(_BOM):
                self.end = len(_BOM)
                data = data[len(_BOM) :] or self.fh.read(size)  # b"" would mean the end of the file
        self.start, self.end = self.end, self.end + len(data)
        return data

    def where(self) -> str:
        """The bytes the parser was reading at an error; "byte N" when it had reached the end of file."""
        if self.start == self.end:
            return f"byte {self.end}"
        return f"bytes {self.start}-{self.end}"


def _problem(exc: Exception) -> str:
    """yajl's message is "error\\n<excerpt>\\n(right here) ---^"; keep it on one line."""
    raw = exc.args[0] if exc.args else ""
    message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    lines = [line.strip() for line in message.splitlines()]
    text = lines[0] if lines else type(exc).__name__
    if len(lines) > 1 and lines[1]:
        text += f", near {lines[1]!r}"
    return f"not valid JSON: {text}"


def iter_events(
    fh: IO[bytes], stream_keys: frozenset[str], nested_keys: frozenset[str], *, buf_size: int = BUF_SIZE
) -> Iterator[Event]:
    """Events of a feed document; the values of ``stream_keys`` (top level) are streamed element by element.

    An element of a streamed list that is an object is itself walked, and its ``nested_keys`` lists are
    streamed too (records); its other keys come as "value" events with the element's path.
    """
    reader = _CountingReader(fh)
    try:
        yield from _document(
            iter(ijson.basic_parse(reader, buf_size=buf_size, use_float=True)), stream_keys, nested_keys
        )
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise StreamError(reader.where(), _problem(exc)) from None


def _document(
    it: Iterator[tuple[str, Any]], stream_keys: frozenset[str], nested_keys: frozenset[str]
) -> Iterator[Event]:
    event, value = next(it)
    if event != "start_map":
        raise StreamError("$", "not a feed: the document is not a JSON object")
    for event, key in it:
        if event == "end_map":
            break
        event, value = next(it)
        if key in stream_keys and event == "start_array":
            yield Event("list", "$", key, key)
            yield from _groups(it, f"$.{key}", nested_keys)
        elif key in nested_keys and event == "start_array":
            yield Event("list", "$", key, key)
            yield from _records(it, f"$.{key}")
        else:
            yield Event("value", "$", key, _build(event, value, it))
    for _ in it:  # yajl reports trailing garbage only when it reads on
        pass


def _build(event: str, value: Any, it: Iterator[tuple[str, Any]]) -> Any:
    """The whole value that begins with this event (ijson's own builder is not reachable per event)."""
    if event in _SCALARS:
        return value
    if event == "start_map":
        obj: dict[str, Any] = {}
        for ev, key in it:
            if ev == "end_map":
                return obj
            ev, val = next(it)
            obj[key] = val if ev in _SCALARS else _build(ev, val, it)
        return obj
    arr: list[Any] = []
    for ev, val in it:
        if ev == "end_array":
            return arr
        arr.append(val if ev in _SCALARS else _build(ev, val, it))
    return arr


def _records(it: Iterator[tuple[str, Any]], path: str) -> Iterator[Event]:
    i = 0
    for event, value in it:
        if event == "end_array":
            return
        yield Event("record", f"{path}[{i}]", "", _build(event, value, it))
        i += 1


def _groups(it: Iterator[tuple[str, Any]], path: str, nested_keys: frozenset[str]) -> Iterator[Event]:
    i = 0
    for event, value in it:
        if event == "end_array":
            return
        item_path = f"{path}[{i}]"
        i += 1
        if event != "start_map":
            yield Event("value", item_path, "", _build(event, value, it))  # the schema will say so
            continue
        yield Event("list", item_path, "", None)  # an element object begins
        for ev, key in it:
            if ev == "end_map":
                break
            ev, val = next(it)
            if key in nested_keys and ev == "start_array":
                yield Event("list", item_path, key, key)
                yield from _records(it, f"{item_path}.{key}")
            else:
                yield Event("value", item_path, key, _build(ev, val, it))
