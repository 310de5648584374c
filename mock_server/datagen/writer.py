"""Streaming the feed files to disk in bounded memory.

One pass over the merchants: each merchant is built (Faker), its merchant record, service records and
availability rows are written, and it is dropped. Only its paid services (:mod:`mock_server.datagen.commerce`,
a few per merchant) are kept, to be written after every free service and slot: the free ones then sit where
they sat before payments existed. Memory grows by a few kilobytes a merchant (about 4 MB for 1,000).
Rows are encoded with orjson one per line inside Google's JSON envelope, so the files stay valid JSON,
diff well and can be inspected with ``head``.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from mock_server.datagen import iter_merchants
from mock_server.datagen.commerce import (
    SLOT_STREAM,
    PaidPlan,
    merchant_payment_fields,
    offer_records,
    paid_plan,
    paid_service_records,
)
from mock_server.datagen.feeds import (
    availability_record,
    day_start_utc,
    feed_metadata,
    merchant_record,
    service_records,
)
from mock_server.datagen.fixtures import payment_fixtures_text
from mock_server.datagen.locales import DEFAULT_LOCALE
from mock_server.datagen.model import MerchantPlan, iter_slots
from mock_server.datagen.verticals import DEFAULT_VERTICALS

MERCHANTS_FILE = "merchants.json"
SERVICES_FILE = "services.json"
AVAILABILITY_FILE = "availability.json"
OFFERS_FILE = "offers.json"
FIXTURES_FILE = "payment-fixtures.yaml"
#: what ``bookcheck generate`` (the ``feeds`` kind) writes
ALL_KINDS = ("merchants", "services", "availability", "offers", "fixtures")
_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class GenerateStats:
    merchants: int
    services: int
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class _ArrayFile:
    """``{"metadata": ..., "<key>": [`` + one record per line + ``]}``, a comma before all but the first."""

    def __init__(self, path: Path, metadata: dict[str, Any], key: str, wrap: bool = False) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self.fh: IO[bytes] = open(self.tmp, "wb", buffering=_BUFFER)  # noqa: SIM115 -- closed in close()
        self.wrap = wrap
        head = b'{"metadata":' + orjson.dumps(metadata) + b',"' + key.encode() + b'":['
        if wrap:
            head += b'{"availability":['
        self.fh.write(head)
        self.first = True

    def write(self, record: dict[str, Any]) -> None:
        self.fh.write((b"\n" if self.first else b",\n") + orjson.dumps(record))
        self.first = False

    def close(self, ok: bool) -> None:
        if ok:
            self.fh.write(b"\n]}]}\n" if self.wrap else b"\n]}\n")
        self.fh.close()
        if ok:
            os.replace(self.tmp, self.path)  # readers never see half a feed
        else:
            self.tmp.unlink(missing_ok=True)


Progress = Callable[[int, int, int, float], None]


def stderr_progress(total_merchants: int) -> Progress:
    """A progress reporter printing ``merchants, rows, rows/s`` to stderr about once a second."""

    def report(done: int, services: int, rows: int, elapsed: float) -> None:
        rate = rows / elapsed if elapsed > 0 else 0.0
        print(
            f"  {done}/{total_merchants} merchants, {services} services, {rows:,} availability rows, "
            f"{rate:,.0f} rows/s",
            file=sys.stderr,
            flush=True,
        )

    return report


def write_feeds(
    out_dir: str | Path,
    *,
    seed: int,
    merchants: int,
    days: int = 30,
    start: dt.date | None = None,
    verticals: Sequence[str] = DEFAULT_VERTICALS,
    locales: Sequence[str] = (DEFAULT_LOCALE,),
    progress: Progress | None = None,
    kinds: Sequence[str] = ALL_KINDS,
    availability_path: str | Path | None = None,
) -> GenerateStats:
    """Write ``merchants.json``, ``services.json``, ``availability.json``, ``offers.json`` and
    ``payment-fixtures.yaml`` into ``out_dir``.

    ``kinds`` limits which files are written (``bookcheck generate availability`` writes one), and
    ``availability_path`` overrides the availability file's name. Files appear atomically (written to a
    temporary name, renamed when complete).
    """
    from mock_server.datagen import default_start

    first = start if start is not None else default_start()
    not_before = day_start_utc(first)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, _ArrayFile] = {}
    n_services = rows = done = 0
    began = last_report = time.perf_counter()
    ok = False
    try:
        if "merchants" in kinds:
            files["merchants"] = _ArrayFile(
                out / MERCHANTS_FILE, feed_metadata(seed, "merchants", first), "merchant"
            )
        if "services" in kinds:
            files["services"] = _ArrayFile(
                out / SERVICES_FILE, feed_metadata(seed, "services", first), "service"
            )
        if "availability" in kinds:
            path = Path(availability_path) if availability_path else out / AVAILABILITY_FILE
            files["availability"] = _ArrayFile(
                path, feed_metadata(seed, "availability", first), "service_availability", wrap=True
            )
        if "offers" in kinds:
            files["offers"] = _ArrayFile(out / OFFERS_FILE, feed_metadata(seed, "offers", first), "offer")
        m_file, s_file, a_file = files.get("merchants"), files.get("services"), files.get("availability")
        o_file = files.get("offers")
        paid_plans: list[PaidPlan] = []
        for plan in iter_merchants(seed=seed, merchants=merchants, verticals=verticals, locales=locales):
            if m_file:
                m_file.write(merchant_record(plan) | merchant_payment_fields(plan, seed, not_before, days))
            if o_file:
                for rec in offer_records(plan, first, days):
                    o_file.write(rec)
            if s_file or a_file:
                paid_plans.append(paid_plan(plan, seed))
            if s_file:
                for rec in service_records(plan):
                    s_file.write(rec)
            n_services += len(plan.services)
            if a_file:
                rows += _write_rows(a_file, plan, seed, first, days, not_before)
            done += 1
            if progress is not None:
                now = time.perf_counter()
                if now - last_report >= 1.0:
                    progress(done, n_services, rows, now - began)
                    last_report = now
        for paid in paid_plans:
            n_services += len(paid.plan.services)
            if s_file:
                for rec in paid_service_records(paid, service_records(paid.plan)):
                    s_file.write(rec)
            if a_file:
                rows += _write_rows(a_file, paid.plan, seed, first, days, not_before, SLOT_STREAM)
        if "fixtures" in kinds:
            _write_text(out / FIXTURES_FILE, payment_fixtures_text())
        ok = True
    finally:
        for f in files.values():
            f.close(ok)
    elapsed = time.perf_counter() - began
    if progress is not None:
        progress(done, n_services, rows, elapsed)
    return GenerateStats(merchants=done, services=n_services, rows=rows, seconds=elapsed)


def _write_text(path: Path, text: str) -> None:
    """A small text file, appearing atomically like the feeds."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_rows(
    a_file: _ArrayFile,
    plan: MerchantPlan,
    seed: int,
    first: dt.date,
    days: int,
    not_before: int,
    stream: str = "slots",
) -> int:
    """The hot loop: encode the merchant's rows into one bytes chunk and write it once."""
    dumps = orjson.dumps
    chunks = [
        dumps(availability_record(plan, row))
        for row in iter_slots(plan, seed, first, days, not_before, stream)
    ]
    if not chunks:
        return 0
    lead = b"\n" if a_file.first else b",\n"
    a_file.fh.write(lead + b",\n".join(chunks))
    a_file.first = False
    return len(chunks)
