"""Per-locale facts Faker does not give consistently: country, currency, a fallback time zone.

Time zones normally come from :meth:`faker.Faker.local_latlng`, which returns a real place of the country
together with its IANA zone (so a Chicago merchant gets ``America/Chicago``). The zone here is used only
when Faker has no place for the country.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LocaleInfo:
    locale: str
    country: str
    currency: str
    timezone: str
    #: Rough value of one euro in the currency, so prices look plausible.
    euro_rate: float
    #: Round prices to this many currency units (100 for yen, 0.5 for euro-like currencies).
    price_step: float
    #: BCP 47 language tag for users of this locale.
    language: str
    #: Whether postal addresses of the country customarily carry a region (state, province).
    uses_region: bool


LOCALES: dict[str, LocaleInfo] = {
    info.locale: info
    for info in (
        LocaleInfo("en_US", "US", "USD", "America/New_York", 1.1, 1.0, "en-US", True),
        LocaleInfo("en_GB", "GB", "GBP", "Europe/London", 0.85, 0.5, "en-GB", False),
        LocaleInfo("en_CA", "CA", "CAD", "America/Toronto", 1.5, 1.0, "en-CA", True),
        LocaleInfo("en_AU", "AU", "AUD", "Australia/Sydney", 1.65, 1.0, "en-AU", True),
        LocaleInfo("en_IN", "IN", "INR", "Asia/Kolkata", 90.0, 50.0, "en-IN", True),
        LocaleInfo("de_DE", "DE", "EUR", "Europe/Berlin", 1.0, 0.5, "de-DE", False),
        LocaleInfo("de_AT", "AT", "EUR", "Europe/Vienna", 1.0, 0.5, "de-AT", False),
        LocaleInfo("de_CH", "CH", "CHF", "Europe/Zurich", 0.95, 1.0, "de-CH", False),
        LocaleInfo("fr_FR", "FR", "EUR", "Europe/Paris", 1.0, 0.5, "fr-FR", False),
        LocaleInfo("es_ES", "ES", "EUR", "Europe/Madrid", 1.0, 0.5, "es-ES", False),
        LocaleInfo("it_IT", "IT", "EUR", "Europe/Rome", 1.0, 0.5, "it-IT", False),
        LocaleInfo("nl_NL", "NL", "EUR", "Europe/Amsterdam", 1.0, 0.5, "nl-NL", False),
        LocaleInfo("pl_PL", "PL", "PLN", "Europe/Warsaw", 4.3, 1.0, "pl-PL", False),
        LocaleInfo("sv_SE", "SE", "SEK", "Europe/Stockholm", 11.5, 5.0, "sv-SE", False),
        LocaleInfo("pt_BR", "BR", "BRL", "America/Sao_Paulo", 5.5, 1.0, "pt-BR", True),
        LocaleInfo("es_MX", "MX", "MXN", "America/Mexico_City", 19.0, 5.0, "es-MX", True),
        LocaleInfo("ja_JP", "JP", "JPY", "Asia/Tokyo", 160.0, 100.0, "ja-JP", True),
    )
}

DEFAULT_LOCALE = "en_US"


def locale_info(locale: str) -> LocaleInfo:
    """The facts of a supported locale; ``ValueError`` with the supported list otherwise."""
    try:
        return LOCALES[locale]
    except KeyError:
        raise ValueError(f"unsupported locale {locale!r}; supported: {', '.join(sorted(LOCALES))}") from None


def nice_price_micros(euros: float, info: LocaleInfo) -> int:
    """A euro-like base price converted to the locale's currency, rounded to a plausible step, in micros."""
    units = euros * info.euro_rate
    rounded = max(info.price_step, round(units / info.price_step) * info.price_step)
    return int(round(rounded * 1_000_000))
