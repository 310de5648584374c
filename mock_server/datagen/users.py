"""Fake UserInformation records (spec §2.2) for CreateBooking requests and load tests.

* ``user_id``: a 19-digit numeric string like Google's. Unique without remembering earlier ids: the id of
  user ``i`` is an affine bijection of ``i`` modulo 9e18 (multiplier coprime to 9e18), plus 1e18.
* names and address from Faker of the user's locale; names cut to the spec's 40 characters.
* ``telephone``: a mobile number valid for libphonenumber, E.123 international style.
* ``email``: at a reserved example domain (RFC 2606), made unique with the user's number.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from mock_server.datagen.locales import DEFAULT_LOCALE, locale_info
from mock_server.datagen.model import FakerPool, derive_seed, faker_region
from mock_server.datagen.phones import random_phone

_SPAN = 9 * 10**18
#: Coprime to 9e18 = 2^18 * 3^2 * 5^18, so i -> (i * _MUL + offset) % _SPAN is a bijection; its low digits
#: are not ...0001, so consecutive users do not get consecutive-looking ids.
_MUL = 7_031_954_382_749_112_967
MAX_NAME = 40
#: Reserved for documentation (RFC 2606): mail to them goes nowhere.
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"})


def user_id(seed: int, index: int) -> str:
    """The 19-digit id of user ``index``; distinct for distinct indexes (below 9e18) of one seed."""
    offset = derive_seed(seed, "user-id") % _SPAN
    return str(10**18 + (index * _MUL + offset) % _SPAN)


def _email_local(given: str, family: str, index: int) -> str:
    import unicodedata

    raw = f"{given}.{family}".lower().translate(_ASCII)
    ascii_ = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    local = "".join(ch for ch in ascii_ if ch.isalnum() or ch == ".").strip(".") or "user"
    return f"{local[:40]}.{index + 1}"


def user_record(seed: int, index: int, locales: Sequence[str], pool: FakerPool) -> dict[str, Any]:
    """User ``index`` of the run, the same whatever else is generated."""
    rng = random.Random(derive_seed(seed, "user", index))
    info = locale_info(locales[rng.randrange(len(locales))])
    fake = pool.get(info.locale, derive_seed(seed, "user-faker", index))
    given = str(fake.first_name())[:MAX_NAME]
    family = str(fake.last_name())[:MAX_NAME]
    address: dict[str, str] = {"country": info.country, "locality": str(fake.city())}
    region = faker_region(fake, info)
    if region:
        address["region"] = region
    address["postal_code"] = str(fake.postcode())
    address["street_address"] = str(fake.street_address()).replace("\n", ", ")
    return {
        "user_id": user_id(seed, index),
        "given_name": given,
        "family_name": family,
        "address": address,
        "telephone": random_phone(rng, info.country, mobile=True),
        "email": f"{_email_local(given, family, index)}@{rng.choice(_EMAIL_DOMAINS)}",
        "language_code": info.language,
    }


def iter_users(
    *, seed: int, count: int, locales: Sequence[str] = (DEFAULT_LOCALE,)
) -> Iterator[dict[str, Any]]:
    """``count`` UserInformation records, deterministic for ``seed`` and ``locales``."""
    locs = tuple(locales) or (DEFAULT_LOCALE,)
    for loc in locs:
        locale_info(loc)  # fail before writing anything
    pool = FakerPool()
    for i in range(count):
        yield user_record(seed, i, locs, pool)
