"""Reading availability feeds in Google's JSON layout (spec §2.10).

Both sides use this: the reference server loads its inventory from a feed, and the harness picks the slots
it books from the partner's feed. One reader, so both agree on what a slot is.

Layout::

    {"metadata": {...},
     "service_availability": [
        {"availability": [{"merchant_id": "m1", "service_id": "s1", "start_sec": 1735689600,
                           "duration_sec": 3600, "spots_total": 4, "spots_open": 4,
                           "resources": {"staff_id": "st1", "party_size": 2},
                           "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS"}, ...]}]}

int64 values may be JSON numbers or strings, and field names snake_case or lowerCamelCase (proto3 JSON). A
``recurrence`` (``repeat_every_sec``/``repeat_until_sec``) expands into one slot per start time with one
spot each; ``schedule_exception`` time ranges remove the starts they cover (spec §2.10).

Errors are :class:`FeedError` and name the file, the record (as a JSON path) and what is wrong.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from booking_protocol.errors import UsageError

CONFIRMATION_MODES = (
    "CONFIRMATION_MODE_UNSPECIFIED",
    "CONFIRMATION_MODE_SYNCHRONOUS",
    "CONFIRMATION_MODE_ASYNCHRONOUS",
)
#: Expansion guard: a recurrence that would produce more slots than this is a feed error, not a hang.
MAX_RECURRENCE_SLOTS = 100_000


class FeedError(UsageError, ValueError):
    """A feed that cannot be used. ``str()`` is one line: ``file: record: problem``."""

    def __init__(self, file: str, record: str, problem: str) -> None:
        self.file, self.record, self.problem = file, record, problem
        super().__init__(f"{file}: {record}: {problem}" if record else f"{file}: {problem}")


@dataclass(frozen=True, slots=True)
class FeedSlot:
    """One bookable slot of a feed, with its capacity. Resource fields are "" / 0 when not set."""

    merchant_id: str
    service_id: str
    start_sec: int
    duration_sec: int
    spots_total: int
    spots_open: int
    availability_tag: str = ""
    staff_id: str = ""
    staff_name: str = ""
    room_id: str = ""
    room_name: str = ""
    party_size: int = 0
    confirmation_mode: str = "CONFIRMATION_MODE_UNSPECIFIED"

    @property
    def is_async(self) -> bool:
        return self.confirmation_mode == "CONFIRMATION_MODE_ASYNCHRONOUS"

    @property
    def key(self) -> tuple[str, str, int, int, str, str, int]:
        """The inventory key of spec §8."""
        return (
            self.merchant_id,
            self.service_id,
            self.start_sec,
            self.duration_sec,
            self.staff_id,
            self.room_id,
            self.party_size,
        )


_CAMEL = re.compile(r"_([a-z0-9])")


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def _get(obj: dict[str, Any], name: str, default: Any = None) -> Any:
    if name in obj:
        return obj[name]
    return obj.get(_camel(name), default)


def _int(value: Any, file: str, where: str, name: str, *, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise FeedError(file, where, f"{name} must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise FeedError(file, where, f"{name} must be an integer (number or numeric string), got {value!r}")


def _str(value: Any, file: str, where: str, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FeedError(file, where, f"{name} must be a string, got {type(value).__name__}")
    return value


_FAST_KEYS = frozenset(
    {
        "merchant_id",
        "service_id",
        "start_sec",
        "duration_sec",
        "spots_total",
        "spots_open",
        "availability_tag",
        "resources",
        "confirmation_mode",
    }
)
_FAST_RESOURCE_KEYS = frozenset({"staff_id", "staff_name", "room_id", "room_name", "party_size"})
_FAST_MODES = frozenset(CONFIRMATION_MODES)


#: One object per distinct value while a feed is read (see :func:`_share`).
Shared = dict[Any, Any]


def _share(slot: FeedSlot, shared: Shared | None) -> FeedSlot:
    """The same slot, built from one object per distinct id, name and number of the feed.

    A feed repeats a few thousand merchant and service ids, names and start times across a million
    slots; the JSON parser makes a new object for every occurrence. Sharing them keeps a 1,000-merchant
    feed at ~200 bytes a slot instead of ~500 (issue 10: ``run`` on a 190 MB feed under 300 MiB)."""
    if shared is None:
        return slot
    one = shared.setdefault
    return FeedSlot(
        one(slot.merchant_id, slot.merchant_id),
        one(slot.service_id, slot.service_id),
        one(slot.start_sec, slot.start_sec),
        one(slot.duration_sec, slot.duration_sec),
        slot.spots_total,
        slot.spots_open,
        one(slot.availability_tag, slot.availability_tag),
        one(slot.staff_id, slot.staff_id),
        one(slot.staff_name, slot.staff_name),
        one(slot.room_id, slot.room_id),
        one(slot.room_name, slot.room_name),
        slot.party_size,
        one(slot.confirmation_mode, slot.confirmation_mode),
    )


def _fast_slot(rec: Any, shared: Shared | None = None) -> FeedSlot | None:
    """The common record (snake_case keys, JSON numbers, no recurrence) without the general path's
    per-field lookups; ``None`` for anything else, which then takes the general path. Same result."""
    if type(rec) is not dict or not _FAST_KEYS.issuperset(rec):
        return None
    mid = rec.get("merchant_id")
    sid = rec.get("service_id")
    start = rec.get("start_sec")
    dur = rec.get("duration_sec")
    if (
        type(mid) is not str
        or not mid
        or type(sid) is not str
        or not sid
        or type(start) is not int
        or type(dur) is not int
        or dur <= 0
    ):
        return None
    spots_open = rec.get("spots_open", 0)
    spots_total = rec.get("spots_total", spots_open)
    if type(spots_open) is not int or type(spots_total) is not int or not 0 <= spots_open <= spots_total:
        return None
    tag = rec.get("availability_tag", "")
    mode = rec.get("confirmation_mode", "CONFIRMATION_MODE_UNSPECIFIED")
    if type(tag) is not str or type(mode) is not str or mode not in _FAST_MODES:
        return None
    one: Callable[[Any, Any], Any] = shared.setdefault if shared is not None else _same
    mid, sid, start, dur, tag = one(mid, mid), one(sid, sid), one(start, start), one(dur, dur), one(tag, tag)
    mode = one(mode, mode) or "CONFIRMATION_MODE_UNSPECIFIED"
    res = rec.get("resources")
    if res is None:
        return FeedSlot(mid, sid, start, dur, spots_total, spots_open, tag, confirmation_mode=mode)
    if type(res) is not dict or not _FAST_RESOURCE_KEYS.issuperset(res):
        return None
    get = res.get
    staff_id, staff_name = get("staff_id", ""), get("staff_name", "")
    room_id, room_name = get("room_id", ""), get("room_name", "")
    party = get("party_size", 0)
    if (
        type(staff_id) is not str
        or type(staff_name) is not str
        or type(room_id) is not str
        or type(room_name) is not str
        or type(party) is not int
    ):
        return None
    return FeedSlot(
        mid,
        sid,
        start,
        dur,
        spots_total,
        spots_open,
        tag,
        one(staff_id, staff_id),
        one(staff_name, staff_name),
        one(room_id, room_id),
        one(room_name, room_name),
        party,
        mode,
    )


def _same(value: Any, _default: Any) -> Any:
    return value


def parse_record(rec: Any, file: str, where: str, shared: Shared | None = None) -> list[FeedSlot]:
    """Turn one Availability record into slots (several when it has a recurrence). ``shared``: one object
    per distinct value across the records of one feed (saves memory on big feeds; same slots)."""
    fast = _fast_slot(rec, shared)
    if fast is not None:
        return [fast]
    return [_share(s, shared) for s in _parse_record_general(rec, file, where)]


def _parse_record_general(rec: Any, file: str, where: str) -> list[FeedSlot]:
    """Every record form: camelCase, int64 strings, enum numbers, recurrences; raises FeedError."""
    if not isinstance(rec, dict):
        raise FeedError(file, where, f"an availability record must be an object, got {type(rec).__name__}")
    merchant_id = _str(_get(rec, "merchant_id"), file, where, "merchant_id")
    service_id = _str(_get(rec, "service_id"), file, where, "service_id")
    if not merchant_id:
        raise FeedError(file, where, "merchant_id is missing or empty")
    if not service_id:
        raise FeedError(file, where, "service_id is missing or empty")
    start = _get(rec, "start_sec")
    if start is None:
        raise FeedError(file, where, "start_sec is missing")
    start_sec = _int(start, file, where, "start_sec")
    duration_sec = _int(_get(rec, "duration_sec"), file, where, "duration_sec")
    if duration_sec <= 0:
        raise FeedError(file, where, f"duration_sec must be positive, got {duration_sec}")
    resources = _get(rec, "resources") or {}
    if not isinstance(resources, dict):
        raise FeedError(file, where, "resources must be an object")
    mode = _get(rec, "confirmation_mode") or "CONFIRMATION_MODE_UNSPECIFIED"
    if isinstance(mode, int) and 0 <= mode < len(CONFIRMATION_MODES):
        mode = CONFIRMATION_MODES[mode]
    if mode not in CONFIRMATION_MODES:
        allowed = ", ".join(CONFIRMATION_MODES)
        raise FeedError(file, where, f"confirmation_mode {mode!r} is not one of {allowed}")
    recurrence = _get(rec, "recurrence")
    if recurrence:
        total_default, open_default = 1, 1
    else:
        total_default, open_default = -1, 0
    spots_open = _int(_get(rec, "spots_open"), file, where, "spots_open", default=open_default)
    spots_total = _int(_get(rec, "spots_total"), file, where, "spots_total", default=total_default)
    if spots_total < 0:
        spots_total = spots_open
    if spots_open < 0 or spots_total < 0:
        raise FeedError(file, where, "spots_open and spots_total must not be negative")
    if spots_open > spots_total:
        raise FeedError(file, where, f"spots_open ({spots_open}) is greater than spots_total ({spots_total})")
    common = dict(
        merchant_id=merchant_id,
        service_id=service_id,
        duration_sec=duration_sec,
        spots_total=spots_total,
        spots_open=spots_open,
        availability_tag=_str(_get(rec, "availability_tag"), file, where, "availability_tag"),
        staff_id=_str(_get(resources, "staff_id"), file, where, "resources.staff_id"),
        staff_name=_str(_get(resources, "staff_name"), file, where, "resources.staff_name"),
        room_id=_str(_get(resources, "room_id"), file, where, "resources.room_id"),
        room_name=_str(_get(resources, "room_name"), file, where, "resources.room_name"),
        party_size=_int(_get(resources, "party_size"), file, where, "resources.party_size"),
        confirmation_mode=mode,
    )
    if not recurrence:
        return [FeedSlot(start_sec=start_sec, **common)]  # type: ignore[arg-type]
    if not isinstance(recurrence, dict):
        raise FeedError(file, where, "recurrence must be an object")
    every = _int(_get(recurrence, "repeat_every_sec"), file, where, "recurrence.repeat_every_sec")
    until = _int(_get(recurrence, "repeat_until_sec"), file, where, "recurrence.repeat_until_sec")
    if every <= 0:
        raise FeedError(file, where, "recurrence.repeat_every_sec must be positive")
    if (until - start_sec) // every > MAX_RECURRENCE_SLOTS:
        raise FeedError(file, where, f"recurrence expands to more than {MAX_RECURRENCE_SLOTS} slots")
    exceptions: list[tuple[int, int]] = []
    for i, exc in enumerate(_get(rec, "schedule_exception") or []):
        tr = _get(exc, "time_range") or {} if isinstance(exc, dict) else {}
        exceptions.append(
            (
                _int(_get(tr, "start_sec"), file, f"{where}.schedule_exception[{i}]", "start_sec"),
                _int(_get(tr, "end_sec"), file, f"{where}.schedule_exception[{i}]", "end_sec"),
            )
        )
    out = []
    t = start_sec
    while t < until:
        if not any(lo <= t < hi for lo, hi in exceptions):
            out.append(FeedSlot(start_sec=t, **common))  # type: ignore[arg-type]
        t += every
    return out


def iter_feed_document(doc: Any, file: str) -> Iterator[FeedSlot]:
    """Slots of an already-parsed feed document."""
    if isinstance(doc, dict) and "availability" in doc and "service_availability" not in doc:
        groups: Any = [doc]  # a lone ServiceAvailability
        prefix = "$"
    else:
        if not isinstance(doc, dict):
            raise FeedError(file, "$", "the feed must be a JSON object with a service_availability list")
        groups = _get(doc, "service_availability")
        if not isinstance(groups, list):
            raise FeedError(file, "$", "service_availability is missing or not a list")
        prefix = "$.service_availability"
    for gi, group in enumerate(groups):
        gwhere = f"{prefix}[{gi}]" if prefix != "$" else "$"
        if not isinstance(group, dict):
            raise FeedError(file, gwhere, "a service_availability entry must be an object")
        records = group.get("availability")
        if records is None:
            continue
        if not isinstance(records, list):
            raise FeedError(file, f"{gwhere}.availability", "must be a list")
        for ri, rec in enumerate(records):
            yield from parse_record(rec, file, f"{gwhere}.availability[{ri}]")


def resolve_feed_path(path: str | Path) -> Path:
    """``--feed DIR`` means ``DIR/availability.json``; a file is used as it is."""
    p = Path(path)
    if p.is_dir():
        p = p / "availability.json"
    return p


#: Feeds at least this big are read as a stream; smaller ones whole (fast, and a few MB of objects).
STREAM_FROM_BYTES = 4 << 20
#: The JSON path (ijson's notation) of one availability record of Google's layout.
_RECORD_ITEMS = "service_availability.item.availability.item"
#: a progress callback: called with the number of slots read so far
Progress = Callable[[int], None]
#: slots read between two progress calls
_PROGRESS_EVERY = 4096


def load_availability_feed(path: str | Path, *, progress: Progress | None = None) -> list[FeedSlot]:
    """Load every slot of a feed file (or of ``DIR/availability.json``). Raises :class:`FeedError`.

    A feed of :data:`STREAM_FROM_BYTES` or more in Google's layout (``{"service_availability":
    [{"availability": [...]}, ...]}``) is read as a stream, one record at a time (``ijson``'s C backend
    builds each record): a 190 MB feed parsed whole costs over 1 GiB of Python objects before the first
    slot is made. Anything the stream does not read plainly (the other layouts, invalid JSON, a bad
    record) is read again whole, which words the error exactly, with its JSON path. The slots share one
    object per distinct id and number. ``progress`` is called with the slot count as a streamed feed is
    read (a feed read whole is read within a second or so, and says nothing)."""
    p = resolve_feed_path(path)
    name = str(p)
    try:
        if p.stat().st_size >= STREAM_FROM_BYTES:
            with p.open("rb") as fh:
                slots = _stream_records(fh, name, progress)
            if slots is not None:
                return slots
        raw = p.read_bytes()
    except OSError as exc:
        raise FeedError(name, "", f"cannot read the feed: {exc.strerror or exc}") from None
    return _whole_document(raw, name)


def _stream_records(fh: IO[bytes], file: str, progress: Progress | None) -> list[FeedSlot] | None:
    """The slots of Google's layout read record by record, or None when the whole-document reader must
    decide: no record found (another layout, an empty feed), invalid JSON, or a record that is not valid
    (the whole-document reader names it by its JSON path, which the stream does not know).

    The stream only sees records where the layout puts them: a group that is not an object, or an
    ``availability`` that is not a list, is passed over here, where the whole-document reader (and
    ``bookcheck validate-feed``) would refuse the feed."""
    slots: list[FeedSlot] = []
    shared: Shared = {}
    next_report = _PROGRESS_EVERY
    try:
        for rec in ijson.items(fh, _RECORD_ITEMS, use_float=True):
            slots.extend(parse_record(rec, file, "$", shared))
            if progress is not None and len(slots) >= next_report:
                progress(len(slots))
                next_report = len(slots) + _PROGRESS_EVERY
    except (ijson.JSONError, UnicodeDecodeError, FeedError):
        return None
    if progress is not None and slots:
        progress(len(slots))
    return slots or None


def _whole_document(raw: bytes, name: str) -> list[FeedSlot]:
    try:
        doc = orjson.loads(raw)  # fast; json below only to word the error the same way as before
    except orjson.JSONDecodeError:
        doc = None
    try:
        if doc is None:
            doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FeedError(name, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}") from None
    del raw
    shared: Shared = {}
    return [_share(s, shared) for s in iter_feed_document(doc, name)]


class LoadProgress:
    """Says "reading feed: 412,000 slots…" on ``stream`` while a feed loads: a big feed is no silent wait.

    Nothing is printed for a feed read within ``quiet_for`` seconds; then one line every ``every``
    seconds, and a last line with the total once done (only if a line was printed)."""

    def __init__(self, stream: IO[str] | None = None, *, quiet_for: float = 1.0, every: float = 2.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet_for, self.every = quiet_for, every
        self.started = time.monotonic()
        self.next_at = self.started + quiet_for
        self.printed = False

    def __call__(self, count: int) -> None:
        now = time.monotonic()
        if now >= self.next_at:
            self._say(f"reading feed: {count:,} slots…")
            self.next_at = now + self.every

    def done(self, count: int) -> None:
        if self.printed:
            self._say(f"read feed: {count:,} slots in {time.monotonic() - self.started:.1f} s")

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
        self.printed = True
