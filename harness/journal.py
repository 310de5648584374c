"""The ledger file: what a run created on the target, written down as it happens.

A run appends one JSON line per booking or lease it creates and one per resource its cleanup dealt with, and
flushes each line at once. When the run dies before its cleanup (``kill -9``, a lost CI runner, a second
Ctrl-C), the file still names everything left behind, and ``bookcheck cleanup LEDGER --target URL`` cancels
it. Reading a ledger twice is harmless: cleanup is idempotent (a booking already cancelled counts as done).

Format (one JSON object per line)::

    {"bookcheck_ledger": 1, "target": "https://…", "started": "2026-11-30T05:00:00+00:00"}
    {"event": "created", "kind": "booking", "id": "b-1", "scenario_id": "create-booking/echo"}
    {"event": "created", "kind": "lease", "id": "l-7", "scenario_id": "…", "slot": {…}, "expires": 1800000000}
    {"event": "cleaned", "kind": "booking", "id": "b-1", "note": null}

A CreateBooking is written as ``{"event": "sending", "request": {…}}`` *before* it is sent; the booking it
made carries the request's ``token`` in its "created" line. A request with no such line was in flight when
the run died: ``bookcheck cleanup`` resends it with the same idempotency token (which returns the booking if
it was made, §3.2) and cancels what comes back.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.errors import UsageError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class LedgerEntry:
    """A resource the ledger says was created and not yet cleaned up."""

    kind: str  # "booking" or "lease"
    id: str
    scenario_id: str
    slot: Any = None
    expires: int = 0


class Journal:
    """Append-only writer of a ledger file (thread-safe; every line flushed as it is written)."""

    def __init__(self, path: str | Path, *, target: str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--ledger {self.path}: cannot write: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._write({"bookcheck_ledger": FORMAT_VERSION, "target": target, "started": started})

    def created(
        self,
        kind: str,
        id_: str,
        scenario_id: str,
        *,
        slot: Any = None,
        expires: int = 0,
        token: str | None = None,
    ) -> None:
        line: dict[str, Any] = {"event": "created", "kind": kind, "id": id_, "scenario_id": scenario_id}
        if slot is not None:
            line["slot"] = slot
        if expires:
            line["expires"] = expires
        if token:
            line["token"] = token
        self._write(line)

    def sending(self, body: dict[str, Any], scenario_id: str) -> None:
        """A CreateBooking about to be sent (resolved by a later "created" line with the same token)."""
        self._write({"event": "sending", "scenario_id": scenario_id, "request": body})

    def resolved(self, token: str) -> None:
        """A CreateBooking request was answered without a booking (nothing to clean up), or an in-flight one
        of a killed run was resolved by ``bookcheck cleanup``."""
        self._write({"event": "resolved", "token": token})

    def cleaned(self, kind: str, id_: str, note: str | None = None) -> None:
        self._write({"event": "cleaned", "kind": kind, "id": id_, "note": note})

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def _write(self, obj: dict[str, Any]) -> None:
        with self._lock:
            if self._fh is None:
                return
            self._fh.write(json.dumps(obj, separators=(",", ":")) + "\n")
            self._fh.flush()


@dataclass(frozen=True)
class Ledger:
    """A ledger file read back: the target it was written for and what is still to clean up."""

    target: str
    pending: tuple[LedgerEntry, ...]
    created: int  # resources the file names in all
    #: CreateBooking requests sent with no answer recorded (the run was killed while they were in flight)
    in_flight: tuple[dict[str, Any], ...] = ()


def read_ledger(path: str | Path) -> Ledger:
    """Read a ledger file; a :class:`UsageError` names the file and line of anything it cannot use. A last
    line cut short by a killed writer is ignored (everything before it is intact)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{p}: cannot read: {exc.strerror or exc}") from None
    target = ""
    created: dict[tuple[str, str], LedgerEntry] = {}
    cleaned: set[tuple[str, str]] = set()
    sent: dict[str, dict[str, Any]] = {}  # token -> request
    answered: set[str] = set()
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            if n == len(lines):
                break  # the writer was killed mid-line
            raise UsageError(f"{p}:{n}: not a bookcheck ledger line") from None
        if not isinstance(obj, dict):
            raise UsageError(f"{p}:{n}: not a bookcheck ledger line")
        if "bookcheck_ledger" in obj:
            target = target or str(obj.get("target", ""))
            continue
        if obj.get("event") == "sending":
            request = obj.get("request")
            if isinstance(request, dict) and isinstance(request.get("idempotency_token"), str):
                sent[request["idempotency_token"]] = request
            continue
        if obj.get("event") == "resolved":
            answered.add(str(obj.get("token")))
            continue
        key = (str(obj.get("kind")), str(obj.get("id")))
        if obj.get("event") == "created":
            if obj.get("token"):
                answered.add(str(obj["token"]))
            created[key] = LedgerEntry(
                kind=key[0],
                id=key[1],
                scenario_id=str(obj.get("scenario_id", "")),
                slot=obj.get("slot"),
                expires=int(obj.get("expires") or 0),
            )
        elif obj.get("event") == "cleaned":
            cleaned.add(key)
        else:
            raise UsageError(f"{p}:{n}: unknown ledger event {obj.get('event')!r}")
    if not target and not created:
        raise UsageError(f"{p}: not a bookcheck ledger (no header line)")
    pending = tuple(e for k, e in created.items() if k not in cleaned)
    in_flight = tuple(r for tok, r in sent.items() if tok not in answered)
    return Ledger(target=target, pending=pending, created=len(created), in_flight=in_flight)


__all__ = ["FORMAT_VERSION", "Journal", "Ledger", "LedgerEntry", "read_ledger"]
