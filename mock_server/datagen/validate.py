"""``bookcheck validate-feed``: is a partner's feed well formed before they upload it?

Two layers of checks, each finding naming the file, the JSON path and the rule:

1. **Schema** (``schema/<keyword>``): every file against the JSON Schema of its layout in
   ``booking_protocol/feeds/`` (merchant, service, availability feed) with ``jsonschema``.
2. **Rules** that a schema cannot say:

   ========================================  ==========================================================
   ``availability/spots-open-exceeds-total``  spots_open must not be greater than spots_total
   ``availability/unknown-merchant``         the row's merchant_id is not in the merchant feed
   ``availability/unknown-service``          the row's (merchant_id, service_id) is not in the service feed
   ``availability/duplicate-slot``           the same inventory slot listed twice (warning)
   ``service/unknown-merchant``              the service's merchant_id is not in the merchant feed
   ``service/no-availability``               a service of the service feed has no availability at all
   ``service/availability-horizon``          a service's availability stops before the last week of the
                                             required 30 days (Google: "30 days of availability per service")
   ``merchant/duplicate-id``                 two merchants with one merchant_id
   ``service/duplicate-id``                  two services with one (merchant_id, service_id)
   ========================================  ==========================================================

3. **Money and offers** (``service/payment-field``, ``offer/unknown-service``, …): the payment fields of
   the services and merchant feeds and ``offers.json``, read with the reader ``serve`` and ``run`` use;
   see :mod:`mock_server.datagen.validate_commerce`.

Cross-file rules run only when the files they need are given. Field names may be snake_case or
lowerCamelCase (proto3 JSON); camelCase records are checked under their snake_case names.

Availability rows go through a conservative fast check first; only rows it cannot vouch for are handed
to ``jsonschema`` (which then produces the exact messages). That keeps large feeds quick to check.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from booking_protocol.errors import UsageError as BookcheckUsageError
from booking_protocol.jsonstream import StreamError, iter_events
from mock_server.datagen.validate_commerce import CommerceDocs, check_commerce

KINDS = ("merchants", "services", "availability", "offers")
_FILE_NAMES = {
    "merchants": "merchants.json",
    "services": "services.json",
    "availability": "availability.json",
    "offers": "offers.json",
}
_SCHEMAS = {"merchants": "merchant_feed", "services": "service_feed", "availability": "availability_feed"}
_LIST_KEY = {"merchants": "merchant", "services": "service", "availability": "service_availability"}
DAY = 86_400
#: A service passes the horizon rule when it has a slot in the last week of the required days, so weekly
#: closing days (a salon closed on Mondays, a class held on Tuesdays only) do not count against it.
HORIZON_GRACE_DAYS = 7


class UsageError(BookcheckUsageError):
    """Bad invocation (no such file, unreadable, nothing to check): exit code 2, like every usage error of
    bookcheck (``bookcheck/cli.py`` prints it as ``bookcheck validate-feed: message``)."""


@dataclass(frozen=True, slots=True)
class Finding:
    file: str
    path: str
    rule: str
    message: str
    level: str = "error"

    def __str__(self) -> str:
        tag = "" if self.level == "error" else f"{self.level}: "
        return f"{self.file}: {self.path}: {tag}{self.message} [{self.rule}]"

    def as_json(self) -> dict[str, str]:
        return {
            "file": self.file,
            "path": self.path,
            "rule": self.rule,
            "level": self.level,
            "message": self.message,
        }


@dataclass(slots=True)
class Report:
    files: dict[str, str] = field(default_factory=dict)  # file -> kind
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # kind -> records

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level != "error"]

    @property
    def valid(self) -> bool:
        return not self.errors


# ----------------------------------------------------------------------------------------- loading


@dataclass(slots=True)
class FeedFile:
    path: Path
    kind: str
    doc: Any


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to check: a directory means its merchants.json, services.json and availability.json."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = [p / name for name in _FILE_NAMES.values() if (p / name).is_file()]
            if not found:
                raise UsageError(
                    f"{p}: no merchants.json, services.json or availability.json in this directory"
                )
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or directory")
    if not out:
        raise UsageError("no feed files given")
    return out


_HEAD_BYTES = 256 << 10
_KEY_PATTERNS = (
    ("availability", re.compile(rb'"(service_availability|serviceAvailability)"\s*:')),
    ("merchants", re.compile(rb'"merchant"\s*:\s*\[')),
    ("services", re.compile(rb'"service"\s*:\s*\[')),
    ("offers", re.compile(rb'"offer"\s*:\s*\[')),
    ("availability", re.compile(rb'"availability"\s*:\s*\[')),
)


def detect_kind(path: Path, head: bytes) -> str | None:
    """The feed's kind from its list key near the top of the file, else from its file name."""
    for kind, pattern in _KEY_PATTERNS:
        if pattern.search(head):
            return kind
    name = path.name.lower()
    for kind in KINDS:
        if kind.rstrip("s") in name:
            return kind
    return None


def load(path: Path, report: Report) -> FeedFile | None:
    """Open one file and tell its kind; merchant and service feeds are parsed here, availability feeds
    are streamed later. A syntax error is a finding, an unreadable file a usage error."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    kind = detect_kind(path, head)
    if kind is None:
        report.findings.append(
            Finding(
                str(path),
                "$",
                "feed/kind",
                "not a merchant, service or availability feed (no 'merchant', 'service' "
                "or 'service_availability' list, and the file name does not tell)",
            )
        )
        return None
    if kind == "availability":
        report.files[str(path)] = kind
        return FeedFile(path, kind, None)
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        report.findings.append(
            Finding(
                str(path),
                f"line {exc.lineno} column {exc.colno}",
                "json/syntax",
                f"not valid JSON: {exc.msg}",
            )
        )
        return None
    report.files[str(path)] = kind
    return FeedFile(path, kind, _snake_keys(doc))


_UPPER = re.compile(r"[A-Z]")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return _UPPER.sub(lambda m: "_" + m.group(0).lower(), name)


def _snake_keys(obj: Any) -> Any:
    """proto3 JSON allows lowerCamelCase; check such documents under their snake_case names."""
    if isinstance(obj, dict):
        if any(_UPPER.search(k) for k in obj):
            return {_snake(k): _snake_keys(v) for k, v in obj.items()}
        for k, v in obj.items():
            if isinstance(v, dict | list):
                obj[k] = _snake_keys(v)
        return obj
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, dict | list):
                obj[i] = _snake_keys(v)
        return obj
    return obj


# ------------------------------------------------------------------------------------------ schema


@cache
def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a feed kind, from booking_protocol/feeds/."""
    text = resources.files("booking_protocol").joinpath("feeds", f"{_SCHEMAS[kind]}.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator(kind: str, part: str) -> Any:
    """``part`` "document" = the envelope (records excluded for availability), or "Availability"."""
    full = schema(kind)
    if part in ("document", "ServiceAvailability"):
        if kind == "availability":
            full = json.loads(json.dumps(full))
            full["$defs"]["ServiceAvailability"]["properties"]["availability"]["items"] = {}
        if part == "ServiceAvailability":
            return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{part}", "$defs": full["$defs"]})
        return jsonschema.Draft202012Validator(full)
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{part}", "$defs": full["$defs"]})


def _json_path(prefix: str, parts: Iterable[Any]) -> str:
    out = prefix
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _message(err: Any) -> str:
    custom = err.schema.get("errorMessage") if isinstance(err.schema, dict) else None
    if err.validator == "required":
        return str(err.message).replace("is a required property", "is required (missing)")
    if custom:
        return f"{err.instance!r} {custom}" if not isinstance(err.instance, dict | list) else str(custom)
    return str(err.message)


def _rule(err: Any) -> str:
    """``schema/<keyword>``, except for our int64 forms (an ``anyOf`` of integer and numeric string): a value
    that is no integer at all reads as ``schema/type``, an integer out of range (a duration of 0) as
    ``schema/value``."""
    if err.validator == "anyOf":
        inst = err.instance
        integer_like = (type(inst) is int) or (
            isinstance(inst, str) and re.fullmatch(r"-?[0-9]+", inst) is not None
        )
        return "schema/value" if integer_like else "schema/type"
    return f"schema/{err.validator}"


def _schema_findings(file: str, prefix: str, validator: Any, instance: Any) -> Iterator[Finding]:
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path).__repr__()):
        # anyOf/oneOf: report the branch's own message once, not each branch's complaint
        yield Finding(file, _json_path(prefix, err.absolute_path), _rule(err), _message(err))


# --------------------------------------------------------------------------------------- fast check

_MODES = {
    "CONFIRMATION_MODE_UNSPECIFIED",
    "CONFIRMATION_MODE_SYNCHRONOUS",
    "CONFIRMATION_MODE_ASYNCHRONOUS",
    0,
    1,
    2,
}
_RESOURCE_STR = {"staff_id", "staff_name", "room_id", "room_name"}
_SIMPLE = {
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


def _fast_ok(rec: Any) -> bool:
    """True only for rows the Availability schema surely accepts (plain ints, known keys)."""
    if type(rec) is not dict or not _SIMPLE.issuperset(rec):
        return False
    mid, sid = rec.get("merchant_id"), rec.get("service_id")
    if type(mid) is not str or not mid or type(sid) is not str or not sid:
        return False
    if type(rec.get("start_sec")) is not int:
        return False
    dur = rec.get("duration_sec")
    if type(dur) is not int or dur < 1:
        return False
    for key in ("spots_total", "spots_open"):
        if key in rec:
            v = rec[key]
            if type(v) is not int or v < 0:
                return False
    if "availability_tag" in rec and type(rec["availability_tag"]) is not str:
        return False
    if "confirmation_mode" in rec:
        mode = rec["confirmation_mode"]
        if type(mode) not in (str, int) or mode not in _MODES:  # type(): True == 1 but is no enum value
            return False
    if "resources" in rec:
        res = rec["resources"]
        if type(res) is not dict:
            return False
        for k, v in res.items():
            if k in _RESOURCE_STR:
                if type(v) is not str:
                    return False
            elif k == "party_size":
                if type(v) is not int or v < 0:
                    return False
            else:
                return False
    return True


def _as_int(value: Any) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return None


# ------------------------------------------------------------------------------------------- rules


@dataclass(slots=True)
class _Catalogue:
    merchants: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (file, path)
    services: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: (merchant, service) -> latest start_sec seen in availability
    last_start: dict[tuple[str, str], int] = field(default_factory=dict)
    first_start: int | None = None
    have_merchants: bool = False
    have_services: bool = False
    have_availability: bool = False


def _check_merchants(f: FeedFile, report: Report, cat: _Catalogue) -> None:
    name = str(f.path)
    cat.have_merchants = True
    report.findings.extend(_schema_findings(name, "$", _validator("merchants", "document"), f.doc))
    items = f.doc.get("merchant") if isinstance(f.doc, dict) else None
    if not isinstance(items, list):
        return
    report.counts["merchants"] = report.counts.get("merchants", 0) + len(items)
    for i, m in enumerate(items):
        mid = m.get("merchant_id") if isinstance(m, dict) else None
        if isinstance(mid, str) and mid:
            where = f"$.merchant[{i}].merchant_id"
            if mid in cat.merchants:
                prev = cat.merchants[mid]
                report.findings.append(
                    Finding(
                        name, where, "merchant/duplicate-id", f"merchant_id {mid!r} already used at {prev[1]}"
                    )
                )
            else:
                cat.merchants[mid] = (name, where)


def _check_services(f: FeedFile, report: Report, cat: _Catalogue) -> None:
    name = str(f.path)
    cat.have_services = True
    report.findings.extend(_schema_findings(name, "$", _validator("services", "document"), f.doc))
    items = f.doc.get("service") if isinstance(f.doc, dict) else None
    if not isinstance(items, list):
        return
    report.counts["services"] = report.counts.get("services", 0) + len(items)
    for i, s in enumerate(items):
        if not isinstance(s, dict):
            continue
        mid, sid = s.get("merchant_id"), s.get("service_id")
        if isinstance(mid, str) and isinstance(sid, str) and mid and sid:
            where = f"$.service[{i}]"
            if (mid, sid) in cat.services:
                report.findings.append(
                    Finding(
                        name,
                        f"{where}.service_id",
                        "service/duplicate-id",
                        f"service {sid!r} of merchant {mid!r} already defined at "
                        f"{cat.services[(mid, sid)][1]}",
                    )
                )
            else:
                cat.services[(mid, sid)] = (name, where)


@dataclass(slots=True)
class _RowState:
    """Per-file state of the row checks; bounded by the number of services, not of rows."""

    name: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    first_row: set[tuple[str, str]] = field(default_factory=set)
    #: Slot keys of the current merchant's block: duplicates are found among consecutive rows of one
    #: merchant (feeds are grouped by merchant), which keeps memory bounded on 10-million-row feeds.
    block_merchant: str = ""
    block: set[tuple[Any, ...]] = field(default_factory=set)
    count: int = 0


def _check_record(rec: Any, where: str, st: _RowState, report: Report, cat: _Catalogue) -> None:
    st.count += 1
    if isinstance(rec, dict) and any(_UPPER.search(k) for k in rec):
        rec = _snake_keys(rec)
    if not _fast_ok(rec):
        report.findings.extend(
            _schema_findings(st.name, where, _validator("availability", "Availability"), rec)
        )
    if not isinstance(rec, dict):
        return
    total, open_ = _as_int(rec.get("spots_total")), _as_int(rec.get("spots_open"))
    if total is not None and open_ is not None and open_ > total:
        report.findings.append(
            Finding(
                st.name,
                f"{where}.spots_open",
                "availability/spots-open-exceeds-total",
                f"spots_open ({open_}) is greater than spots_total ({total})",
            )
        )
    mid, sid, start = rec.get("merchant_id"), rec.get("service_id"), _as_int(rec.get("start_sec"))
    if not (isinstance(mid, str) and isinstance(sid, str) and mid and sid and start is not None):
        return
    key2 = (mid, sid)
    if key2 not in st.first_row:
        st.first_row.add(key2)
        st.rows.append((st.name, where, mid, sid))
    raw_res = rec.get("resources")
    res: dict[str, Any] = raw_res if isinstance(raw_res, dict) else {}
    slot_key = (
        sid,
        start,
        _as_int(rec.get("duration_sec")),
        res.get("staff_id", ""),
        res.get("room_id", ""),
        res.get("party_size", 0),
    )
    if mid != st.block_merchant:
        st.block_merchant = mid
        st.block.clear()
    if slot_key in st.block:
        report.findings.append(
            Finding(
                st.name,
                where,
                "availability/duplicate-slot",
                "the same slot (merchant, service, start, duration, resources) is listed twice",
                level="warning",
            )
        )
    st.block.add(slot_key)
    if start > cat.last_start.get(key2, -(1 << 62)):
        cat.last_start[key2] = start
    if cat.first_start is None or start < cat.first_start:
        cat.first_start = start


_STREAM_TOP = frozenset({"service_availability", "serviceAvailability"})
_STREAM_NESTED = frozenset({"availability"})


def _check_availability(f: FeedFile, report: Report, cat: _Catalogue) -> list[tuple[str, str, str, str]]:
    """Stream the file: each record is checked as it is read; the rest of the document (metadata, group
    fields, with the records left out) is checked against the schema at the end. Returns the first row
    of each (merchant, service) for the cross-file pass."""
    st = _RowState(name=str(f.path))
    cat.have_availability = True
    shell: dict[str, Any] = {}
    groups: list[Any] = []
    try:
        with f.path.open("rb") as fh:
            for ev in iter_events(fh, _STREAM_TOP, _STREAM_NESTED):
                if ev.kind == "record":
                    _check_record(ev.value, ev.path, st, report, cat)
                elif ev.path == "$":
                    key = _snake(ev.key)
                    if ev.kind == "value":
                        shell[key] = _snake_keys(ev.value)
                    else:
                        shell[key] = groups if key == "service_availability" else []
                elif ev.kind == "list" and not ev.key:
                    groups.append({})  # a ServiceAvailability object begins
                elif ev.kind == "list":
                    groups[-1]["availability"] = []
                elif not ev.key:
                    groups.append(ev.value)  # an element that is no object
                else:
                    groups[-1][_snake(ev.key)] = _snake_keys(ev.value)
    except OSError as exc:
        raise UsageError(f"{f.path}: cannot read: {exc.strerror or exc}") from None
    except StreamError as exc:
        report.findings.append(Finding(st.name, exc.where, "json/syntax", exc.problem))
        cat.have_availability = False  # a cut-off feed would make every later service look empty
    else:
        lone = "availability" in shell and "service_availability" not in shell
        validator = _validator("availability", "ServiceAvailability" if lone else "document")
        report.findings.extend(_schema_findings(st.name, "$", validator, shell))
    report.counts["availability"] = report.counts.get("availability", 0) + st.count
    return st.rows


def _cross_file(
    report: Report, cat: _Catalogue, rows: list[tuple[str, str, str, str]], min_days: int
) -> None:
    if cat.have_merchants:
        for (mid, _sid), (file, where) in cat.services.items():
            if mid not in cat.merchants:
                report.findings.append(
                    Finding(
                        file,
                        f"{where}.merchant_id",
                        "service/unknown-merchant",
                        f"merchant_id {mid!r} is not in the merchant feed",
                    )
                )
    for file, where, mid, sid in rows:
        if cat.have_merchants and mid not in cat.merchants:
            report.findings.append(
                Finding(
                    file,
                    f"{where}.merchant_id",
                    "availability/unknown-merchant",
                    f"merchant_id {mid!r} is not in the merchant feed",
                )
            )
        elif cat.have_services and (mid, sid) not in cat.services:
            report.findings.append(
                Finding(
                    file,
                    f"{where}.service_id",
                    "availability/unknown-service",
                    f"service {sid!r} of merchant {mid!r} is not in the service feed",
                )
            )
    if not cat.have_availability:
        return
    services = cat.services if cat.have_services else {k: ("", "") for k in cat.last_start}
    avail_file = next((f for f, k in report.files.items() if k == "availability"), "")
    window = (cat.first_start // DAY) * DAY if cat.first_start is not None else 0
    needed = window + max(0, min_days - HORIZON_GRACE_DAYS) * DAY
    for (mid, sid), (file, where) in services.items():
        last = cat.last_start.get((mid, sid))
        if last is None:
            report.findings.append(
                Finding(
                    file,
                    where,
                    "service/no-availability",
                    f"service {sid!r} of merchant {mid!r} has no availability; Google "
                    f"requires {min_days} days of availability for each service",
                )
            )
        elif last < needed:
            days = (last - window) // DAY + 1
            last_day = dt.datetime.fromtimestamp(last, dt.UTC).date().isoformat()
            report.findings.append(
                Finding(
                    file or avail_file,
                    where or "$",
                    "service/availability-horizon",
                    f"availability of service {sid!r} of merchant {mid!r} ends on {last_day}, "
                    f"day {days} of the feed; Google requires {min_days} days of availability "
                    "per service (a slot in the last week of them)",
                )
            )


def _count_offers(f: FeedFile, report: Report) -> None:
    """offers.json has no JSON Schema: its one shape rule (an ``offer`` list) is checked here."""
    items = f.doc.get("offer") if isinstance(f.doc, dict) else None
    if not isinstance(items, list):
        report.findings.append(Finding(str(f.path), "$", "offer/field", "needs an 'offer' list"))
        return
    report.counts["offers"] = report.counts.get("offers", 0) + len(items)


def validate_paths(paths: Iterable[str | Path], *, min_days: int = 30) -> Report:
    """Check feed files (or directories of them). Raises :class:`UsageError` for bad invocations."""
    report = Report()
    files = [f for f in (load(p, report) for p in expand_paths(paths)) if f is not None]
    cat = _Catalogue()
    order = {"merchants": 0, "services": 1, "availability": 2, "offers": 3}
    rows: list[tuple[str, str, str, str]] = []
    docs = CommerceDocs()
    for f in sorted(files, key=lambda f: order[f.kind]):
        if f.kind == "merchants":
            _check_merchants(f, report, cat)
            docs.merchants.append((str(f.path), f.doc))
        elif f.kind == "services":
            _check_services(f, report, cat)
            docs.services.append((str(f.path), f.doc))
        elif f.kind == "offers":
            _count_offers(f, report)
            docs.offers.append((str(f.path), f.doc))
        else:
            rows.extend(_check_availability(f, report, cat))
    _cross_file(report, cat, rows, min_days)
    said = {(f.file, f.path) for f in report.findings}  # a bad price the schema reported stays one finding
    report.findings.extend(Finding(*f) for f in check_commerce(docs) if (f.file, f.path) not in said)
    return report
