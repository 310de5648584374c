"""What each business vertical looks like: its services, opening hours, resources and capacities.

This module is pure data. The generator (:mod:`mock_server.datagen.model`) draws one merchant from a
:class:`Vertical` with a seeded random generator, so adding a vertical means adding one entry here.

Resource kinds (how a vertical's availability rows are shaped):

* ``staff``  -- beauty: every row is one stylist's free hour for one service, capacity 1, with
  ``resources.staff_id``/``staff_name``.
* ``party``  -- dining: one row per seating time *and party size* (``resources.party_size``); spots are the
  tables that seat that party, typically 1-3.
* ``class``  -- fitness: a weekly class timetable in named rooms (``resources.room_id``/``room_name``) with
  capacities up to 20, plus one-to-one personal training with a trainer (staff, capacity 1).
* ``room``   -- spa: treatments in treatment rooms (capacity 1, couples' suites capacity 2) and sauna
  sessions for a handful of guests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceTemplate:
    """A service a merchant of the vertical may offer. ``price`` is in euro-like major units."""

    slug: str
    name: str
    description: str
    duration_min: int
    price: float
    #: For ``class``/``room`` verticals: which resource pool the service uses.
    pool: str = ""
    #: Per-person price (dining deposits, classes) rather than per booking.
    per_person: bool = False


@dataclass(frozen=True, slots=True)
class Vertical:
    name: str
    #: Merchant id prefix, e.g. ``salon`` -> ``salon-0001``.
    prefix: str
    #: Google's merchant category for the merchant feed.
    category: str
    kind: str
    services: tuple[ServiceTemplate, ...]
    #: How many of ``services`` one merchant offers (min, max).
    services_per_merchant: tuple[int, int]
    #: Possible opening times and closing times, minutes after local midnight.
    opens: tuple[int, ...]
    closes: tuple[int, ...]
    #: Weekday patterns (0 = Monday) a merchant may be open on.
    weekday_patterns: tuple[tuple[int, ...], ...]
    #: Minutes between slot starts.
    step_min: int
    #: Share of rows with CONFIRMATION_MODE_ASYNCHRONOUS. The spec allows PENDING_MERCHANT_CONFIRMATION
    #: only for (non-payment) dining and beauty, so fitness stays synchronous.
    async_rate: float
    #: Merchant name patterns; ``{last}``, ``{first}`` and ``{city}`` come from Faker.
    name_patterns: tuple[str, ...]


H = 60  # minutes per hour, for readable tables

BEAUTY = Vertical(
    name="beauty",
    prefix="salon",
    category="beauty_salon",
    kind="staff",
    services=(
        ServiceTemplate("womens-haircut", "Women's haircut", "Wash, cut and blow-dry.", 60, 48.0),
        ServiceTemplate("mens-haircut", "Men's haircut", "Cut and style.", 30, 26.0),
        ServiceTemplate("colour", "Full colour", "Full colour with toner, cut not included.", 120, 95.0),
        ServiceTemplate("blow-dry", "Blow-dry", "Wash and blow-dry.", 45, 32.0),
        ServiceTemplate("manicure", "Manicure", "Shape, cuticle care and polish.", 45, 30.0),
        ServiceTemplate("beard-trim", "Beard trim", "Beard shaping with hot towel.", 30, 18.0),
    ),
    services_per_merchant=(3, 5),
    opens=(9 * H, 10 * H),
    closes=(18 * H, 19 * H, 20 * H),
    weekday_patterns=((1, 2, 3, 4, 5), (0, 1, 2, 3, 4, 5), (1, 2, 3, 4, 5, 6)),
    step_min=60,
    async_rate=0.11,
    name_patterns=(
        "Salon {last}",
        "{first}'s Hair & Beauty",
        "Studio {last}",
        "{last} Hairdressing",
        "Cut & Colour {city}",
    ),
)

DINING = Vertical(
    name="dining",
    prefix="dining",
    category="restaurant",
    kind="party",
    services=(
        ServiceTemplate("dinner", "Dinner reservation", "Table reservation for dinner.", 90, 0.0),
        ServiceTemplate("lunch", "Lunch reservation", "Table reservation for lunch.", 75, 0.0),
        ServiceTemplate("brunch", "Weekend brunch", "Brunch buffet, per guest.", 90, 29.0, per_person=True),
    ),
    services_per_merchant=(1, 2),
    opens=(10 * H, 11 * H),
    closes=(22 * H, 23 * H),
    weekday_patterns=((1, 2, 3, 4, 5, 6), (0, 1, 2, 3, 4, 5, 6), (2, 3, 4, 5, 6)),
    step_min=30,
    async_rate=0.11,
    name_patterns=(
        "Trattoria {last}",
        "{last}'s Kitchen",
        "Bistro {city}",
        "The {last} Table",
        "Brasserie {first}",
    ),
)

FITNESS = Vertical(
    name="fitness",
    prefix="fitness",
    category="gym",
    kind="class",
    services=(
        ServiceTemplate(
            "yoga",
            "Vinyasa yoga",
            "All-levels flow class, mats provided.",
            60,
            18.0,
            pool="studio",
            per_person=True,
        ),
        ServiceTemplate(
            "pilates", "Mat pilates", "Core and posture class.", 50, 18.0, pool="studio", per_person=True
        ),
        ServiceTemplate("spin", "Spin", "Indoor cycling to music.", 45, 15.0, pool="cycle", per_person=True),
        ServiceTemplate(
            "hiit", "HIIT", "High-intensity interval training.", 45, 15.0, pool="studio", per_person=True
        ),
        ServiceTemplate(
            "boxing",
            "Boxing fitness",
            "Pads, bags and conditioning.",
            60,
            20.0,
            pool="studio",
            per_person=True,
        ),
        ServiceTemplate(
            "personal-training",
            "Personal training",
            "One-to-one session with a trainer.",
            60,
            65.0,
            pool="trainer",
        ),
    ),
    services_per_merchant=(3, 5),
    opens=(6 * H, 7 * H),
    closes=(21 * H, 22 * H),
    weekday_patterns=((0, 1, 2, 3, 4, 5, 6), (0, 1, 2, 3, 4, 5)),
    step_min=60,
    async_rate=0.0,
    name_patterns=("{city} Fitness", "Studio {last}", "{last} Athletic Club", "Move {city}", "{first}'s Gym"),
)

SPA = Vertical(
    name="spa",
    prefix="spa",
    category="day_spa",
    kind="room",
    services=(
        ServiceTemplate(
            "massage-60", "Massage, 60 minutes", "Full-body relaxation massage.", 60, 75.0, pool="treatment"
        ),
        ServiceTemplate(
            "massage-90", "Massage, 90 minutes", "Deep-tissue massage.", 90, 105.0, pool="treatment"
        ),
        ServiceTemplate(
            "facial", "Signature facial", "Cleanse, exfoliation and mask.", 60, 70.0, pool="treatment"
        ),
        ServiceTemplate(
            "couples-massage", "Couples massage", "Side-by-side massage for two.", 60, 140.0, pool="suite"
        ),
        ServiceTemplate(
            "sauna",
            "Sauna session",
            "Two hours in the sauna area, towels included.",
            120,
            25.0,
            pool="sauna",
            per_person=True,
        ),
    ),
    services_per_merchant=(3, 5),
    opens=(9 * H, 10 * H),
    closes=(19 * H, 20 * H, 21 * H),
    weekday_patterns=((0, 1, 2, 3, 4, 5, 6), (1, 2, 3, 4, 5, 6)),
    step_min=60,
    async_rate=0.11,
    name_patterns=("{city} Day Spa", "Spa {last}", "The {last} Retreat", "{first}'s Wellness"),
)

VERTICALS: dict[str, Vertical] = {v.name: v for v in (BEAUTY, DINING, FITNESS, SPA)}
DEFAULT_VERTICALS: tuple[str, ...] = ("beauty", "dining", "fitness")
