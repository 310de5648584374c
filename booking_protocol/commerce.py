"""What the feeds say about money, offers and online sessions, and the price arithmetic (§3.12, D46).

One module for three readers: the reference server's domain (which decides what to charge), the harness (which
builds requests with the price the partner expects) and the data generator (which writes the feeds). It is
pure (standard library only, no file or wire format), which is why ``tests/test_architecture.py`` lets the
domain import it and nothing else from ``booking_protocol``. Reading the JSON files into a ``Catalogue`` is
``booking_protocol.commercefeed``.

Names follow the proto and Google's feed layouts: amounts in micros, enum values by their proto names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: ISO 4217 minor-unit exponents that differ from 2 (D46 rounds tax to the currency's smallest unit)
_EXPONENT_NOT_2: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

FIXED = "FIXED_RATE_DEFAULT"
PER_PERSON = "PER_PERSON"

SINGLE_USE = "PAYMENT_OPTION_SINGLE_USE"
MULTI_USE = "PAYMENT_OPTION_MULTI_USE"
UNLIMITED_USE = "PAYMENT_OPTION_UNLIMITED_USE"

#: CreditCardType names a merchant accepts when its feed record says nothing (D52)
DEFAULT_CARD_TYPES = ("VISA", "MASTERCARD", "AMERICAN_EXPRESS", "DISCOVER", "JCB")
#: Google Pay ``cardNetwork`` → CreditCardType; anything else is CREDIT_CARD_TYPE_UNSPECIFIED (D52)
_NETWORK_TO_CARD_TYPE = {
    "VISA": "VISA",
    "MASTERCARD": "MASTERCARD",
    "AMEX": "AMERICAN_EXPRESS",
    "AMERICAN_EXPRESS": "AMERICAN_EXPRESS",
    "DISCOVER": "DISCOVER",
    "JCB": "JCB",
}


def card_type_for_network(network: str) -> str:
    """The CreditCardType name of a Google Pay card network (``AMEX`` → ``AMERICAN_EXPRESS``)."""
    return _NETWORK_TO_CARD_TYPE.get(network.strip().upper(), "CREDIT_CARD_TYPE_UNSPECIFIED")


def minor_unit_micros(currency: str) -> int:
    """Micros in the currency's smallest unit: 10_000 for USD (cents), 1_000_000 for JPY, 1_000 for KWD."""
    return int(10 ** (6 - _EXPONENT_NOT_2.get(currency.upper(), 2)))


def round_half_even(micros_numerator: int, denominator: int, currency: str) -> int:
    """``micros_numerator / denominator`` rounded half to even to the currency's smallest unit, in micros.

    Integer arithmetic only: tax on 19.99 USD at 8.875 % must give the same cents on every machine.
    """
    unit = minor_unit_micros(currency)
    quotient, remainder = divmod(micros_numerator, denominator * unit)
    twice = 2 * remainder
    if twice > denominator * unit or (twice == denominator * unit and quotient % 2 == 1):
        quotient += 1
    return quotient * unit


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in micros of a currency (the proto ``Price`` without ``pricing_option_tag``)."""

    micros: int
    currency: str

    def times(self, count: int) -> Money:
        return Money(self.micros * count, self.currency)

    def as_price(self) -> dict[str, object]:
        """The proto ``Price`` in field-name form, as requests and responses carry it."""
        return {"price_micros": self.micros, "currency_code": self.currency}

    @staticmethod
    def from_price(price: Mapping[str, object] | None) -> Money | None:
        """A ``Price`` mapping in field-name form (``price_micros`` may be a string: proto JSON int64)."""
        if not price:
            return None
        micros, currency = price.get("price_micros"), price.get("currency_code")
        if micros is None or not isinstance(currency, str) or not currency:
            return None
        try:
            return Money(int(str(micros)), currency)
        except ValueError:
            return None


def tax_on(price: Money, micro_percent: int | None) -> Money | None:
    """D46: ``price × micro_percent / 10^8``, half-even to the smallest unit; ``None`` without a rate."""
    if not micro_percent:
        return None
    return Money(round_half_even(price.micros * micro_percent, 10**8, price.currency), price.currency)


@dataclass(frozen=True, slots=True)
class Charge:
    """A deposit or no-show fee: an amount, fixed or per person (``Deposit`` / ``NoShowFee`` in the feed)."""

    amount: Money
    price_type: str = FIXED
    min_advance_cancellation_sec: int = 0

    def for_party(self, party_size: int) -> Money:
        return self.amount.times(max(party_size, 1)) if self.price_type == PER_PERSON else self.amount

    def as_deposit(self, party_size: int) -> dict[str, object]:
        """The proto ``Deposit`` (field-name form) a request carries for this charge."""
        out: dict[str, object] = {"deposit": self.amount.as_price(), "deposit_type": self.price_type}
        if self.min_advance_cancellation_sec:
            out["min_advance_cancellation_sec"] = self.min_advance_cancellation_sec
        return out

    def as_no_show_fee(self) -> dict[str, object]:
        """The proto ``NoShowFee`` (field-name form) a request carries for this charge."""
        return {"fee": self.amount.as_price(), "fee_type": self.price_type}


@dataclass(frozen=True, slots=True)
class RefundCondition:
    """``cancellation_policy.refund_condition``: cancel at least this long before the start, get this %."""

    min_duration_before_start_sec: int
    refund_percent: int


@dataclass(frozen=True, slots=True)
class ServiceTerms:
    """The money side of one services-feed record."""

    merchant_id: str
    service_id: str
    price: Money | None = None
    #: PER_PERSON multiplies ``price`` by the party size (from ``prepayment.price_info.price_type``)
    price_type: str = FIXED
    #: the service's own ``tax_rate.micro_percent``; ``None`` falls back to the merchant's rate (D46)
    tax_micro_percent: int | None = None
    #: ``prepayment_type: REQUIRED``: the booking is paid in full when it is made
    prepayment_required: bool = False
    deposit: Charge | None = None
    no_show_fee: Charge | None = None
    #: ``require_credit_card: REQUIRE_CREDIT_CARD_ALWAYS``: a card is stored, nothing is charged
    card_required: bool = False
    #: packs and memberships that pay for this service (``payment_option_id``)
    payment_option_ids: tuple[str, ...] = ()
    #: ``type: SERVICE_TYPE_ONLINE_APPOINTMENT`` or a ``virtual_session`` block (D50)
    online: bool = False
    refund_conditions: tuple[RefundCondition, ...] = ()
    #: ``scheduling_rules.min_advance_online_canceling`` (full-refund cutoff when no condition is given, D40)
    min_advance_online_canceling: int | None = None

    @property
    def takes_payment(self) -> bool:
        """Does a booking of this service carry a payment token (prepayment, deposit, no-show fee or card)?"""
        return self.prepayment_required or bool(self.deposit or self.no_show_fee) or self.card_required

    def refund_percent(self, notice_sec: float) -> int:
        """D40 as the feed states it, for a cancel ``notice_sec`` before the start: the best refund
        condition met, else a full refund until ``min_advance_online_canceling`` (when given), else full."""
        if self.refund_conditions:
            met = (c for c in self.refund_conditions if notice_sec >= c.min_duration_before_start_sec)
            return max((c.refund_percent for c in met), default=0)
        if self.min_advance_online_canceling is not None:
            return 100 if notice_sec >= self.min_advance_online_canceling else 0
        return 100


@dataclass(frozen=True, slots=True)
class PaymentOptionTerms:
    """A pack, membership or single-use option a merchant sells (``payment_option`` in the merchant feed)."""

    payment_option_id: str
    type: str
    price: Money
    #: uses a purchase gives; ignored for UNLIMITED_USE
    session_count: int = 1
    tax_micro_percent: int | None = None
    #: a purchase is valid this long from the moment it is bought (``valid_duration``)
    valid_duration_sec: int | None = None
    #: or inside this fixed window (``valid_interval``), seconds since the epoch
    valid_start_sec: int | None = None
    valid_end_sec: int | None = None
    #: ``purchase_restrictions``: only users new to the merchant / who never bought this option may buy it
    new_to_merchant: bool = False
    new_to_payment_option: bool = False


@dataclass(frozen=True, slots=True)
class MerchantTerms:
    """The money side of one merchant-feed record."""

    merchant_id: str
    #: CreditCardType names accepted; an empty tuple means no card at all (§2.6)
    accepted_card_types: tuple[str, ...] = DEFAULT_CARD_TYPES
    tax_micro_percent: int | None = None
    payment_options: tuple[PaymentOptionTerms, ...] = ()
    #: ``tokenization_config.tokenization_parameter``: the merchant takes payments through Google Pay (P1)
    tokenization_parameter: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """One offer of ``offers.json`` (D49): which merchant, which services, when it applies."""

    offer_id: str
    merchant_id: str
    #: services it applies to; empty means every service of the merchant
    service_ids: tuple[str, ...] = ()
    #: ``(start_sec, end_sec)`` windows the slot's start must fall in; empty means always
    windows: tuple[tuple[int, int], ...] = ()

    def applies_to(self, merchant_id: str, service_id: str, start_sec: int) -> bool:
        if merchant_id != self.merchant_id or (self.service_ids and service_id not in self.service_ids):
            return False
        return not self.windows or any(lo <= start_sec < hi for lo, hi in self.windows)


@dataclass(frozen=True, slots=True)
class Quote:
    """What a booking costs: price, tax and fees, as the request's ``payment_information`` states them."""

    price: Money
    tax: Money | None = None
    fees: Money | None = None

    def as_payment_fields(self) -> dict[str, object]:
        """``price`` / ``tax_amount`` / ``fees`` of PaymentInformation (field-name form)."""
        out: dict[str, object] = {"price": self.price.as_price()}
        if self.tax is not None:
            out["tax_amount"] = self.tax.as_price()
        if self.fees is not None:
            out["fees"] = self.fees.as_price()
        return out


class Catalogue:
    """The services, merchants and offers of a feed directory, by id; empty when the files are absent."""

    def __init__(
        self,
        services: Iterable[ServiceTerms] = (),
        merchants: Iterable[MerchantTerms] = (),
        offers: Iterable[OfferTerms] = (),
    ) -> None:
        self._services = {(s.merchant_id, s.service_id): s for s in services}
        self._merchants = {m.merchant_id: m for m in merchants}
        self._offers = {o.offer_id: o for o in offers}

    @property
    def empty(self) -> bool:
        """No services, merchants or offers: the server echoes payment information and charges nothing."""
        return not (self._services or self._merchants or self._offers)

    @property
    def has_offers(self) -> bool:
        return bool(self._offers)

    def services(self) -> list[ServiceTerms]:
        return list(self._services.values())

    def merchants(self) -> list[MerchantTerms]:
        return list(self._merchants.values())

    def offers(self) -> list[OfferTerms]:
        return list(self._offers.values())

    def service(self, merchant_id: str, service_id: str) -> ServiceTerms | None:
        return self._services.get((merchant_id, service_id))

    def merchant(self, merchant_id: str) -> MerchantTerms:
        return self._merchants.get(merchant_id) or MerchantTerms(merchant_id)

    def offer(self, offer_id: str) -> OfferTerms | None:
        return self._offers.get(offer_id)

    def payment_option(self, merchant_id: str, payment_option_id: str) -> PaymentOptionTerms | None:
        options = self.merchant(merchant_id).payment_options
        return next((o for o in options if o.payment_option_id == payment_option_id), None)

    def tax_rate(self, merchant_id: str, own_rate: int | None) -> int | None:
        """D46: a service's (or option's) own rate wins over the merchant's."""
        return own_rate if own_rate is not None else self.merchant(merchant_id).tax_micro_percent

    def quote(self, merchant_id: str, service_id: str, party_size: int) -> Quote | None:
        """The price a prepaid booking of this service for this party must state; ``None`` if it has none."""
        terms = self.service(merchant_id, service_id)
        if terms is None or terms.price is None:
            return None
        price = terms.price.times(max(party_size, 1)) if terms.price_type == PER_PERSON else terms.price
        return Quote(price, tax_on(price, self.tax_rate(merchant_id, terms.tax_micro_percent)))

    def quote_option(self, merchant_id: str, payment_option_id: str) -> Quote | None:
        """The price of buying a pack or membership (D43)."""
        option = self.payment_option(merchant_id, payment_option_id)
        if option is None:
            return None
        return Quote(option.price, tax_on(option.price, self.tax_rate(merchant_id, option.tax_micro_percent)))
