"""Fake merchants and their availability, deterministic for a seed.

Two layers, because of speed (issue 6: >= 100,000 availability rows per second):

* :func:`build_merchant` uses Faker -- once per merchant -- for names, address, coordinates and staff.
  Each merchant gets its own seed derived from ``(seed, index)``, so merchant 7 is the same whether you
  generate 10 merchants or 10,000, and whatever order they are generated in.
* :func:`iter_slots` turns a merchant into availability rows with plain integer arithmetic and one
  ``random.Random`` per merchant. No Faker, no datetime per row.

Times: a merchant's opening hours are local wall-clock minutes. Each local day's UTC offset is taken at
local noon (DST switches happen at night, before any merchant opens), cached per zone and date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from faker import Faker

from mock_server.datagen.locales import LocaleInfo, locale_info, nice_price_micros
from mock_server.datagen.phones import random_phone
from mock_server.datagen.verticals import ServiceTemplate, Vertical

SYNC = "CONFIRMATION_MODE_SYNCHRONOUS"
ASYNC = "CONFIRMATION_MODE_ASYNCHRONOUS"
DAY = 86_400


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed for one purpose (``"merchant", 7``); stable across runs, processes and versions."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True, slots=True)
class Resource:
    """A staff member, a room, or both (a trainer in a room). ``capacity`` is spots per slot."""

    staff_id: str = ""
    staff_name: str = ""
    room_id: str = ""
    room_name: str = ""
    capacity: int = 1

    def as_json(self, party_size: int = 0) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.staff_id:
            out["staff_id"] = self.staff_id
            out["staff_name"] = self.staff_name
        if self.room_id:
            out["room_id"] = self.room_id
            out["room_name"] = self.room_name
        if party_size:
            out["party_size"] = party_size
        return out


@dataclass(slots=True)
class ServicePlan:
    template: ServiceTemplate
    service_id: str
    price_micros: int
    #: Resources able to deliver the service (stylists, rooms, trainers).
    resources: list[Resource] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Address:
    country: str
    locality: str
    region: str
    postal_code: str
    street_address: str


@dataclass(slots=True)
class MerchantPlan:
    index: int
    merchant_id: str
    vertical: Vertical
    locale: LocaleInfo
    name: str
    timezone: str
    latitude: float
    longitude: float
    address: Address
    telephone: str
    url: str
    open_min: int
    close_min: int
    weekdays: tuple[int, ...]
    services: list[ServicePlan]
    #: Dining: number of tables by seats (2, 4, 6, 8).
    tables: dict[int, int] = field(default_factory=dict)
    #: Fitness: the weekly class timetable, weekday -> [(start minute, service index, room)].
    timetable: dict[int, list[tuple[int, int, Resource]]] = field(default_factory=dict)


def merchant_id(vertical: Vertical, index: int) -> str:
    """Readable, stable ids: ``salon-0001``, ``dining-0002``, ... (index is 0-based)."""
    return f"{vertical.prefix}-{index + 1:04d}"


class FakerPool:
    """One Faker per locale, re-seeded per merchant (creating a Faker costs ~15 ms; seeding ~10 us)."""

    def __init__(self) -> None:
        self._fakers: dict[str, Faker] = {}

    def get(self, locale: str, seed: int) -> Faker:
        fake = self._fakers.get(locale)
        if fake is None:
            fake = self._fakers[locale] = Faker(locale)
        fake.seed_instance(seed)
        return fake


def _slug(text: str) -> str:
    """URL-safe ASCII: accents dropped (Édith -> edith), everything else a dash; non-Latin names -> ''."""
    plain = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    out = "".join(ch if ch.isalnum() else "-" for ch in plain)
    return "-".join(part for part in out.split("-") if part) or "merchant"


def _place(fake: Faker, rng: random.Random, info: LocaleInfo) -> tuple[float, float, str, str]:
    """(lat, lng, locality, zone): a real place of the country, jittered by up to ~2 km."""
    place = fake.local_latlng(country_code=info.country, coords_only=False)
    if place is None:
        return (0.0, 0.0, fake.city(), info.timezone)
    lat = round(float(place[0]) + rng.uniform(-0.02, 0.02), 6)
    lng = round(float(place[1]) + rng.uniform(-0.02, 0.02), 6)
    return (lat, lng, str(place[2]), str(place[4]))


def faker_region(fake: Faker, info: LocaleInfo) -> str:
    if not info.uses_region:
        return ""
    for provider in ("state_abbr", "administrative_unit", "state", "prefecture"):
        fn = getattr(fake, provider, None)
        if fn is not None:
            return str(fn())
    return ""


def build_merchant(
    seed: int, index: int, vertical: Vertical, locales: tuple[str, ...], pool: FakerPool
) -> MerchantPlan:
    """Merchant ``index``: identity from Faker, shape (hours, services, resources) from the vertical."""
    rng = random.Random(derive_seed(seed, "merchant", index))
    info = locale_info(locales[rng.randrange(len(locales))])
    fake = pool.get(info.locale, derive_seed(seed, "faker", index))
    lat, lng, locality, zone = _place(fake, rng, info)
    last, first = fake.last_name(), fake.first_name()
    name = rng.choice(vertical.name_patterns).format(last=last, first=first, city=locality)
    # No region: Faker's states are random and would contradict the real place (a Chicago merchant in "TX").
    address = Address(
        country=info.country,
        locality=locality,
        region="",
        postal_code=str(fake.postcode()),
        street_address=str(fake.street_address()).replace("\n", ", "),
    )
    mid = merchant_id(vertical, index)
    plan = MerchantPlan(
        index=index,
        merchant_id=mid,
        vertical=vertical,
        locale=info,
        name=name,
        timezone=zone,
        latitude=lat,
        longitude=lng,
        address=address,
        telephone=random_phone(rng, info.country, mobile=False),
        url=f"https://{_slug(name)}-{index + 1}.example",
        open_min=rng.choice(vertical.opens),
        close_min=rng.choice(vertical.closes),
        weekdays=rng.choice(vertical.weekday_patterns),
        services=[],
    )
    _SHAPERS[vertical.kind](plan, rng, fake)
    return plan


def _staff(fake: Faker, n: int, prefix: str = "st") -> list[Resource]:
    names: list[str] = []
    while len(names) < n:
        candidate = f"{fake.first_name()} {fake.last_name()}"[:40]
        if candidate not in names:
            names.append(candidate)
    return [Resource(staff_id=f"{prefix}-{i + 1:02d}", staff_name=nm) for i, nm in enumerate(names)]


def _choose_services(plan: MerchantPlan, rng: random.Random, templates: list[ServiceTemplate]) -> None:
    lo, hi = plan.vertical.services_per_merchant
    count = min(len(templates), rng.randint(lo, hi))
    chosen = sorted(rng.sample(range(len(templates)), count))
    for i in chosen:
        t = templates[i]
        plan.services.append(
            ServicePlan(
                template=t,
                service_id=t.slug,
                price_micros=nice_price_micros(t.price, plan.locale) if t.price else 0,
            )
        )


def _shape_staff(plan: MerchantPlan, rng: random.Random, fake: Faker) -> None:
    """Beauty: 2-4 stylists, each doing 2-3 of the salon's services; every service has a stylist."""
    _choose_services(plan, rng, list(plan.vertical.services))
    staff = _staff(fake, rng.randint(2, 4))
    for person in staff:
        for svc in rng.sample(plan.services, min(len(plan.services), rng.randint(2, 3))):
            svc.resources.append(person)
    for svc in plan.services:
        if not svc.resources:
            svc.resources.append(rng.choice(staff))


def _shape_party(plan: MerchantPlan, rng: random.Random, fake: Faker) -> None:
    """Dining: always dinner, maybe lunch or weekend brunch; tables of 2/4/6/8 seats."""
    templates = {t.slug: t for t in plan.vertical.services}
    slugs = ["dinner"]
    if rng.random() < 0.6:
        slugs.insert(0, rng.choice(["lunch", "brunch"]))
    for slug in slugs:
        t = templates[slug]
        plan.services.append(
            ServicePlan(
                template=t,
                service_id=slug,
                price_micros=nice_price_micros(t.price, plan.locale) if t.price else 0,
            )
        )
    plan.tables = {2: rng.randint(3, 8), 4: rng.randint(2, 6), 6: rng.randint(0, 2), 8: rng.randint(0, 1)}
    if 6 in plan.weekdays or 5 in plan.weekdays:
        return
    # brunch needs a weekend day
    plan.services = [s for s in plan.services if s.service_id != "brunch"] or plan.services


def _shape_class(plan: MerchantPlan, rng: random.Random, fake: Faker) -> None:
    """Fitness: studios (12-20 places), maybe a cycle room, a weekly timetable, and trainers for 1:1."""
    templates = list(plan.vertical.services)
    classes = [t for t in templates if t.pool != "trainer"]
    _choose_services(plan, rng, templates)
    if not any(s.template.pool != "trainer" for s in plan.services):
        t = rng.choice(classes)
        plan.services.insert(
            0,
            ServicePlan(template=t, service_id=t.slug, price_micros=nice_price_micros(t.price, plan.locale)),
        )
    rooms = {
        "studio": [
            Resource(room_id=f"studio-{c}", room_name=f"Studio {c.upper()}", capacity=rng.randint(12, 20))
            for c in "ab"[: rng.randint(1, 2)]
        ],
        "cycle": [Resource(room_id="cycle-room", room_name="Cycle room", capacity=rng.choice((12, 16, 20)))],
    }
    trainers = _staff(fake, rng.randint(2, 3), prefix="tr")
    class_idx = []
    for i, svc in enumerate(plan.services):
        if svc.template.pool == "trainer":
            svc.resources.extend(trainers)
        else:
            svc.resources.extend(rooms[svc.template.pool])
            class_idx.append(i)
    times = [
        t
        for t in (7 * 60, 9 * 60 + 30, 12 * 60 + 15, 17 * 60 + 30, 18 * 60 + 45, 20 * 60)
        if plan.open_min <= t and t + 60 <= plan.close_min
    ]
    # every class runs at least once a week, so each service has availability all month
    weekly = [
        (wd, t) for wd in plan.weekdays for t in sorted(rng.sample(times, min(len(times), rng.randint(3, 5))))
    ]
    order = rng.sample(range(len(weekly)), len(weekly))
    for n, k in enumerate(order):
        wd, start = weekly[k]
        si = class_idx[n] if n < len(class_idx) else rng.choice(class_idx)
        plan.timetable.setdefault(wd, []).append((start, si, rng.choice(plan.services[si].resources)))
    for day in plan.timetable.values():
        day.sort(key=lambda entry: entry[0])


def _shape_room(plan: MerchantPlan, rng: random.Random, fake: Faker) -> None:
    """Spa: 2-4 treatment rooms (capacity 1), a couples suite (1), a sauna for 6-10 guests."""
    _choose_services(plan, rng, list(plan.vertical.services))
    pools = {
        "treatment": [
            Resource(room_id=f"room-{i + 1}", room_name=f"Treatment room {i + 1}")
            for i in range(rng.randint(2, 4))
        ],
        "suite": [Resource(room_id="suite", room_name="Couples suite")],
        "sauna": [Resource(room_id="sauna", room_name="Sauna", capacity=rng.randint(6, 10))],
    }
    for svc in plan.services:
        svc.resources.extend(pools[svc.template.pool])


_SHAPERS = {"staff": _shape_staff, "party": _shape_party, "class": _shape_class, "room": _shape_room}


# ---------------------------------------------------------------------------------------------- slots

#: One availability row before encoding: (service index, start_sec, duration_sec, spots_total, spots_open,
#: resource, party_size, asynchronous).
SlotRow = tuple[int, int, int, int, int, Resource, int, bool]


@lru_cache(maxsize=65_536)
def local_day_base(zone: str, day: dt.date) -> int:
    """Epoch seconds of local 00:00 on ``day``, using the UTC offset in force at local noon."""
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone))
    return int(noon.timestamp()) - 12 * 3600


def _open_spots(rng: random.Random, total: int) -> int:
    """Mostly all spots open; sometimes a few already taken (never all: every listed slot is bookable)."""
    if total > 1 and rng.random() < 0.25:
        return rng.randint(1, total - 1)
    return total


def iter_slots(
    plan: MerchantPlan, seed: int, start: dt.date, days: int, not_before: int, stream: str = "slots"
) -> Iterator[SlotRow]:
    """The merchant's availability for ``days`` local days from ``start``, none before ``not_before``.

    ``stream`` names the random stream: the paid services (:mod:`mock_server.datagen.commerce`) draw from
    their own, so the free services' rows stay the same whether or not paid ones are generated."""
    rng = random.Random(derive_seed(seed, stream, plan.index))
    async_rate = plan.vertical.async_rate
    kind = plan.vertical.kind
    for d in range(days):
        day = start + dt.timedelta(days=d)
        if day.weekday() not in plan.weekdays:
            continue
        base = local_day_base(plan.timezone, day)
        if kind == "staff":
            rows = _staff_day(plan, rng, base)
        elif kind == "party":
            rows = _party_day(plan, rng, base, day.weekday())
        elif kind == "class":
            rows = _class_day(plan, rng, base, day.weekday())
        else:
            rows = _room_day(plan, rng, base)
        for si, start_sec, dur, total, open_, res, party in rows:
            if start_sec >= not_before:
                yield (si, start_sec, dur, total, open_, res, party, rng.random() < async_rate)


_DayRows = Iterator[tuple[int, int, int, int, int, Resource, int]]


def _staff_day(plan: MerchantPlan, rng: random.Random, base: int) -> _DayRows:
    step = plan.vertical.step_min
    by_staff: dict[Resource, list[int]] = {}
    for si, svc in enumerate(plan.services):
        for res in svc.resources:
            by_staff.setdefault(res, []).append(si)
    for res, service_idx in by_staff.items():
        if rng.random() < 0.15:  # day off
            continue
        for minute in range(plan.open_min, plan.close_min, step):
            if rng.random() < 0.3:  # already booked
                continue
            for si in service_idx:
                dur = plan.services[si].template.duration_min
                if minute + dur <= plan.close_min:
                    yield (si, base + minute * 60, dur * 60, 1, 1, res, 0)


_NO_RESOURCE = Resource()
_TABLE_FOR_PARTY = {1: 2, 2: 2, 3: 4, 4: 4, 5: 6, 6: 6, 7: 8, 8: 8}
_SEATINGS = {
    "lunch": (12 * 60, 14 * 60),
    "brunch": (10 * 60, 13 * 60),
    "dinner": (18 * 60, 21 * 60 + 30),
    "tasting-menu": (19 * 60, 19 * 60),  # one sitting; the paid service of mock_server.datagen.commerce
}


def _party_day(plan: MerchantPlan, rng: random.Random, base: int, weekday: int) -> _DayRows:
    step = plan.vertical.step_min
    for si, svc in enumerate(plan.services):
        if svc.service_id == "brunch" and weekday < 5:
            continue
        first, last = _SEATINGS[svc.service_id]
        first = max(first, plan.open_min)
        last = min(last, plan.close_min - svc.template.duration_min)
        for minute in range(first, last + 1, step):
            for party in range(1, 9):
                tables = plan.tables.get(_TABLE_FOR_PARTY[party], 0)
                dur = svc.template.duration_min + (30 if party > 4 else 0)  # big tables sit longer
                if not tables or minute + dur > plan.close_min:
                    continue
                total = max(1, round(tables * step / dur))
                if rng.random() < 0.12:  # sold out for this party size
                    continue
                yield (si, base + minute * 60, dur * 60, total, _open_spots(rng, total), _NO_RESOURCE, party)


def _class_day(plan: MerchantPlan, rng: random.Random, base: int, weekday: int) -> _DayRows:
    for minute, si, room in plan.timetable.get(weekday, []):
        dur = plan.services[si].template.duration_min
        yield (si, base + minute * 60, dur * 60, room.capacity, _open_spots(rng, room.capacity), room, 0)
    for si, svc in enumerate(plan.services):
        if svc.template.pool != "trainer":
            continue
        dur = svc.template.duration_min
        for trainer in svc.resources:
            if rng.random() < 0.3:
                continue
            for minute in range(plan.open_min, plan.close_min - dur + 1, 60):
                if rng.random() < 0.6:
                    continue
                yield (si, base + minute * 60, dur * 60, 1, 1, trainer, 0)


def _room_day(plan: MerchantPlan, rng: random.Random, base: int) -> _DayRows:
    step = plan.vertical.step_min
    for si, svc in enumerate(plan.services):
        dur = svc.template.duration_min
        for room in svc.resources:
            room_step = 120 if room.capacity > 1 else step
            for minute in range(plan.open_min, plan.close_min - dur + 1, room_step):
                if rng.random() < 0.35:
                    continue
                yield (
                    si,
                    base + minute * 60,
                    dur * 60,
                    room.capacity,
                    _open_spots(rng, room.capacity),
                    room,
                    0,
                )
