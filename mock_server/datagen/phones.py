"""Valid, locale-appropriate telephone numbers in ITU-T E.123 international style.

Faker's phone numbers often fail libphonenumber's validation (wrong lengths, extensions such as
``x9040``), and the spec asks for E.123 (``+1 415-736-0000``). So numbers start from libphonenumber's own
example number of the country and get random trailing digits until ``is_valid_number`` holds.
"""

from __future__ import annotations

import random

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

_ATTEMPTS = 40


def _example(country: str, kind: int) -> phonenumbers.PhoneNumber:
    number = phonenumbers.example_number_for_type(country, kind)
    if number is None:
        number = phonenumbers.example_number(country)
    if number is None:
        raise ValueError(f"libphonenumber has no example number for country {country!r}")
    return number


def random_phone(rng: random.Random, country: str, *, mobile: bool) -> str:
    """A valid number of ``country`` (ISO 3166-1 alpha-2), formatted ``+CC NATIONAL`` (E.123)."""
    example = _example(country, PhoneNumberType.MOBILE if mobile else PhoneNumberType.FIXED_LINE)
    national = str(example.national_number)
    keep = max(2, len(national) - 6)
    candidate = example
    for _ in range(_ATTEMPTS):
        tail = "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
        candidate = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(national[:keep] + tail)
        )
        if example.italian_leading_zero:
            candidate.italian_leading_zero = True
        if phonenumbers.is_valid_number(candidate):
            break
    else:
        candidate = example
    return phonenumbers.format_number(candidate, PhoneNumberFormat.INTERNATIONAL)
