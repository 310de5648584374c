"""The inventory: every bookable slot, indexed for the §8 lookups.

Index shape: ``(merchant_id, service_id) -> {start_sec: InventorySlot | list[InventorySlot]}``. Requests
always name merchant, service and start, so one dict lookup per level finds the candidates and the
optional parts (duration, tag, resources) filter a handful of entries. Storing a lone slot without a list
around it, and interning the repeated strings and integers, keeps a million slots in a few hundred MB.

The inventory is filled once at start-up and then only read; the counters inside the slots are changed by
:class:`~mock_server.domain.service.BookingService` under its lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

from .model import ConfirmationMode, InventorySlot, SlotQuery

_T = TypeVar("_T")


class SlotRecord(Protocol):
    """What the inventory needs from a feed slot (``booking_protocol.feed.FeedSlot`` fits)."""

    @property
    def merchant_id(self) -> str: ...
    @property
    def service_id(self) -> str: ...
    @property
    def start_sec(self) -> int: ...
    @property
    def duration_sec(self) -> int: ...
    @property
    def spots_total(self) -> int: ...
    @property
    def spots_open(self) -> int: ...
    @property
    def availability_tag(self) -> str: ...
    @property
    def staff_id(self) -> str: ...
    @property
    def room_id(self) -> str: ...
    @property
    def party_size(self) -> int: ...
    @property
    def confirmation_mode(self) -> str: ...


_Entry = InventorySlot | list[InventorySlot]


class DuplicateSlot(ValueError):
    """Two feed records with the same §8 key."""


class Inventory:
    def __init__(self) -> None:
        self._services: dict[tuple[str, str], dict[int, _Entry]] = {}
        self._merchants: set[str] = set()
        self._intern: dict[object, object] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    # -- loading ------------------------------------------------------------------------------------------

    def _i(self, value: _T) -> _T:
        """One shared object per distinct id, name and number (a million slots share a few thousand)."""
        return self._intern.setdefault(value, value)  # type: ignore[return-value]

    def add(
        self,
        merchant_id: str,
        service_id: str,
        start_sec: int,
        duration_sec: int,
        *,
        spots_total: int,
        spots_open: int,
        availability_tag: str = "",
        staff_id: str = "",
        room_id: str = "",
        party_size: int = 0,
        confirmation_mode: ConfirmationMode = ConfirmationMode.CONFIRMATION_MODE_UNSPECIFIED,
    ) -> InventorySlot:
        """Add one slot. A second slot with the same §8 key raises :class:`DuplicateSlot`."""
        i = self._i
        slot = InventorySlot(
            merchant_id=i(merchant_id),
            service_id=i(service_id),
            start_sec=start_sec,
            duration_sec=i(duration_sec),
            spots_total=spots_total,
            spots_open=spots_open,
            availability_tag=i(availability_tag),
            staff_id=i(staff_id),
            room_id=i(room_id),
            party_size=party_size,
            confirmation_mode=confirmation_mode,
        )
        svc_key = (slot.merchant_id, slot.service_id)
        by_start = self._services.get(svc_key)
        if by_start is None:
            by_start = self._services[svc_key] = {}
            self._merchants.add(slot.merchant_id)
        entry = by_start.get(start_sec)
        if entry is None:
            by_start[start_sec] = slot
        else:
            entries = entry if isinstance(entry, list) else [entry]
            if any(e.key == slot.key for e in entries):
                raise DuplicateSlot(f"two availability records for the same slot {slot.key}")
            entries.append(slot)
            by_start[start_sec] = entries
        self._count += 1
        return slot

    def add_records(self, records: Iterable[SlotRecord]) -> None:
        """Add feed slots (e.g. ``FeedSlot``); the confirmation mode is given by name."""
        for r in records:
            self.add(
                r.merchant_id,
                r.service_id,
                r.start_sec,
                r.duration_sec,
                spots_total=r.spots_total,
                spots_open=r.spots_open,
                availability_tag=r.availability_tag,
                staff_id=r.staff_id,
                room_id=r.room_id,
                party_size=r.party_size,
                confirmation_mode=ConfirmationMode[r.confirmation_mode],
            )

    def done_loading(self) -> None:
        """Drop the interning table once the inventory is complete (it is only needed while loading)."""
        self._intern = {}

    # -- lookups ------------------------------------------------------------------------------------------

    def has_merchant(self, merchant_id: str) -> bool:
        return merchant_id in self._merchants

    def has_service(self, merchant_id: str, service_id: str) -> bool:
        return (merchant_id, service_id) in self._services

    def candidates(self, q: SlotQuery) -> list[InventorySlot]:
        """Every slot matching ``q`` per §8 (empty for an unknown merchant, service or start)."""
        by_start = self._services.get((q.merchant_id or "", q.service_id or ""))
        if by_start is None or q.start_sec is None:
            return []
        entry = by_start.get(q.start_sec)
        if entry is None:
            return []
        if isinstance(entry, list):
            return [s for s in entry if s.matches(q)]
        return [entry] if entry.matches(q) else []

    def is_open(self, q: SlotQuery, now: float) -> bool:
        """Whether some slot matching ``q`` that starts after ``now`` has an open spot (the BAL answer)."""
        by_start = self._services.get((q.merchant_id or "", q.service_id or ""))
        if by_start is None or q.start_sec is None:
            return False
        entry = by_start.get(q.start_sec)
        if entry is None:
            return False
        if isinstance(entry, list):
            return any(s.spots_open > 0 and s.start_sec > now and s.matches(q) for s in entry)
        return entry.spots_open > 0 and entry.start_sec > now and entry.matches(q)

    def open_many(self, queries: list[SlotQuery], now: float) -> list[bool]:
        """:meth:`is_open` for many queries at once (BatchAvailabilityLookup's hot loop, inlined)."""
        services = self._services
        out = []
        last_key: tuple[str, str] | None = None
        by_start: dict[int, _Entry] | None = None
        for q in queries:
            key = (q.merchant_id or "", q.service_id or "")
            if key != last_key:
                by_start, last_key = services.get(key), key
            entry = by_start.get(q.start_sec) if by_start is not None and q.start_sec is not None else None
            if entry is None:
                out.append(False)
            elif isinstance(entry, list):
                out.append(any(s.spots_open > 0 and s.start_sec > now and s.matches(q) for s in entry))
            else:
                out.append(entry.spots_open > 0 and entry.start_sec > now and entry.matches(q))
        return out

    def exact(self, key: tuple[str, str, int, int, str, str, int]) -> InventorySlot | None:
        """The slot with exactly this §8 key, if any."""
        by_start = self._services.get((key[0], key[1]))
        if by_start is None:
            return None
        entry = by_start.get(key[2])
        for s in entry if isinstance(entry, list) else ([entry] if entry else []):
            if s.key == key:
                return s
        return None

    def __iter__(self) -> Iterator[InventorySlot]:
        for by_start in self._services.values():
            for entry in by_start.values():
                if isinstance(entry, list):
                    yield from entry
                else:
                    yield entry
