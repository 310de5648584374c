"""Reading the money side of a feed directory into a :class:`~booking_protocol.commerce.Catalogue` (§3.12).

The reference server (``serve --feed DIR``), the harness (``run --feed DIR``) and ``bookcheck generate``'s own
tests read the same three files with this module, so all of them agree on what a booking costs:

``services.json``
    Google's services feed (``{"metadata": …, "service": [Service]}``). Read per service: ``price``,
    ``tax_rate.micro_percent``, ``prepayment_type`` (``REQUIRED`` means paid in full at booking),
    ``prepayment.price_info.price_type`` (``PER_PERSON``),
    ``deposit {deposit, min_advance_cancellation_sec, deposit_type}``, ``no_show_fee {fee, fee_type}``,
    ``require_credit_card`` (``REQUIRE_CREDIT_CARD_ALWAYS``),
    ``payment_option_id[]``, ``type`` (``SERVICE_TYPE_ONLINE_APPOINTMENT``) or a ``virtual_session`` object,
    ``scheduling_rules {min_advance_online_canceling, cancellation_policy {refund_condition[]
    {min_duration_before_start_time_sec, refund_percent}}}``.
``merchants.json``
    Google's merchant feed (``{"metadata": …, "merchant": [Merchant]}``). Read per merchant:
    ``tokenization_config.tokenization_parameter``, ``payment_restrictions.credit_card_restrictions
    .credit_card_type[]`` (absent: the usual five networks; an empty list: no card at all),
    ``tax_rate.micro_percent`` (or the deprecated ``tax_rate_basis_points``) and ``payment_option[]``
    ``{payment_option_id, payment_option_type, price, tax_rate, session_count, valid_duration_sec,
    valid_interval {start_sec, end_sec}, user_restriction {new_to_merchant, new_to_payment_option}}``.
    Google's names are the ones written; ``type``, ``valid_duration`` (``"86400s"``), ``valid_interval
    {start, end}`` and ``purchase_restrictions`` are read as synonyms.
``offers.json``
    bookcheck's subset of Google's offers feed (D49)::

        {"offer": [{"offer_id": "o1", "merchant_id": "m1", "service_id": ["s1"],
                    "validity_periods": [{"start_sec": 1767258000, "end_sec": 1767268800}]}]}

    An empty or missing ``service_id`` means every service of the merchant; no ``validity_periods`` means
    always. A slot's start must fall in ``[start_sec, end_sec)`` of one period.

A missing file is an empty part; every file may use snake_case or lowerCamelCase names, and int64 values
may be JSON numbers or numeric strings (proto3 JSON). A file that cannot be used raises
:class:`CommerceFeedError` (a :class:`~booking_protocol.errors.UsageError`: exit 2) naming the file, the
record as a JSON path and the reason.

The payment fixtures file (``payment-fixtures.yaml``, outcome → test token, D48) is read by
:func:`load_payment_fixtures`; its format is described there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
import yaml

from booking_protocol.commerce import (
    DEFAULT_CARD_TYPES,
    FIXED,
    MULTI_USE,
    PER_PERSON,
    SINGLE_USE,
    UNLIMITED_USE,
    Catalogue,
    Charge,
    MerchantTerms,
    Money,
    OfferTerms,
    PaymentOptionTerms,
    RefundCondition,
    ServiceTerms,
)
from booking_protocol.feed import FeedError

SERVICES_FILE = "services.json"
MERCHANTS_FILE = "merchants.json"
OFFERS_FILE = "offers.json"

PRICE_TYPES = (FIXED, PER_PERSON)
PREPAYMENT_TYPES = ("PREPAYMENT_TYPE_UNSPECIFIED", "REQUIRED", "OPTIONAL", "NOT_SUPPORTED")
REQUIRE_CREDIT_CARD = (
    "REQUIRE_CREDIT_CARD_UNSPECIFIED",
    "REQUIRE_CREDIT_CARD_CONDITIONAL",
    "REQUIRE_CREDIT_CARD_ALWAYS",
)
PAYMENT_OPTION_TYPES = ("PAYMENT_OPTION_TYPE_UNSPECIFIED", SINGLE_USE, MULTI_USE, UNLIMITED_USE)
CREDIT_CARD_TYPES = (
    "CREDIT_CARD_TYPE_UNSPECIFIED",
    "VISA",
    "MASTERCARD",
    "AMERICAN_EXPRESS",
    "DISCOVER",
    "JCB",
)
ONLINE_SERVICE_TYPE = "SERVICE_TYPE_ONLINE_APPOINTMENT"
#: ServiceType's number for SERVICE_TYPE_ONLINE_APPOINTMENT, for feeds that write enums as numbers
_ONLINE_SERVICE_TYPE_NUMBER = 8


class CommerceFeedError(FeedError):
    """A services, merchant or offers file that cannot be used: ``file: $.path: reason`` (exit 2)."""


T = TypeVar("T")


class At:
    """Where a value sits (file and JSON path), so every error names it the same way. The record readers
    (:func:`service_terms`, :func:`merchant_terms`, :func:`offer_terms`) take one, so ``validate-feed`` can
    read records of documents it already holds and report each refusal as a finding."""

    __slots__ = ("file", "path")

    def __init__(self, file: str, path: str) -> None:
        self.file, self.path = file, path

    def __truediv__(self, name: str | int) -> At:
        return At(self.file, f"{self.path}[{name}]" if isinstance(name, int) else f"{self.path}.{name}")

    def fail(self, reason: str) -> CommerceFeedError:
        return CommerceFeedError(self.file, self.path, reason)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _get(obj: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` present (each tried as written and in lowerCamelCase)."""
    for name in names:
        for key in (name, _camel(name)):
            if key in obj:
                return obj[key]
    return None


def _obj(value: Any, at: At) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise at.fail(f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, at: At) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise at.fail(f"must be a list, got {type(value).__name__}")
    return value


def _int(value: Any, at: At) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise at.fail("must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise at.fail(f"must be an integer (a number or a numeric string), got {value!r}")


def _seconds(value: Any, at: At) -> int | None:
    """An int64 of seconds, or a protobuf Duration in JSON form (``"3600s"``)."""
    if isinstance(value, str) and value.strip().endswith("s"):
        number = value.strip()[:-1]
        if number.isdigit():
            return int(number)
        raise at.fail(f"must be seconds (an integer or a duration like '3600s'), got {value!r}")
    return _int(value, at)


def _bool(value: Any, at: At) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise at.fail(f"must be true or false, got {value!r}")
    return value


def _id(value: Any, at: At) -> str:
    if not isinstance(value, str) or not value:
        raise at.fail("must be a non-empty string")
    return value


def _enum(value: Any, names: tuple[str, ...], at: At, default: str) -> str:
    """An enum value by name or by number (its index in ``names``)."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value in names:
        return value
    raise at.fail(f"{value!r} is not one of {', '.join(names)}")


def money(value: Any, at: At) -> Money:
    """A feed ``Price``: ``price_micros`` (int64, not negative) and a three-letter ``currency_code``."""
    price = _obj(value, at)
    micros = _int(_get(price, "price_micros"), at / "price_micros")
    if micros is None:
        raise at.fail("price_micros is missing")
    if micros < 0:
        raise (at / "price_micros").fail(f"must not be negative, got {micros}")
    currency = _get(price, "currency_code")
    if (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isalpha()
        or not currency.isupper()
    ):
        raise (at / "currency_code").fail(f"must be an ISO 4217 code such as 'USD', got {currency!r}")
    return Money(micros, currency)


def _optional_money(value: Any, at: At) -> Money | None:
    return None if value is None else money(value, at)


def _tax(record: dict[str, Any], at: At) -> int | None:
    rate = _get(record, "tax_rate")
    if rate is not None:
        micro = _int(_get(_obj(rate, at / "tax_rate"), "micro_percent"), at / "tax_rate" / "micro_percent")
        if micro is not None and micro < 0:
            raise (at / "tax_rate" / "micro_percent").fail(f"must not be negative, got {micro}")
        return micro
    basis_points = _int(_get(record, "tax_rate_basis_points"), at / "tax_rate_basis_points")
    return None if basis_points is None else basis_points * 10_000


# ------------------------------------------------------------------------------------------ services


def _charge(value: Any, at: At, amount_key: str, type_key: str) -> Charge | None:
    if value is None:
        return None
    rec = _obj(value, at)
    amount = money(_get(rec, amount_key), at / amount_key)
    price_type = _enum(_get(rec, type_key), PRICE_TYPES, at / type_key, FIXED)
    advance = _int(_get(rec, "min_advance_cancellation_sec"), at / "min_advance_cancellation_sec")
    return Charge(amount, price_type, advance or 0)


def _refund_conditions(rules: dict[str, Any], at: At) -> tuple[RefundCondition, ...]:
    policy_at = at / "cancellation_policy"
    policy = _obj(_get(rules, "cancellation_policy"), policy_at)
    out = []
    for i, cond in enumerate(_list(_get(policy, "refund_condition"), policy_at / "refund_condition")):
        c_at = policy_at / "refund_condition" / i
        rec = _obj(cond, c_at)
        before = _seconds(
            _get(rec, "min_duration_before_start_time_sec", "min_duration_before_start_time"),
            c_at / "min_duration_before_start_time_sec",
        )
        percent = _int(_get(rec, "refund_percent"), c_at / "refund_percent")
        if percent is None or not 0 <= percent <= 100:
            raise (c_at / "refund_percent").fail(f"must be an integer from 0 to 100, got {percent!r}")
        out.append(RefundCondition(before or 0, percent))
    return tuple(out)


def _is_online(rec: dict[str, Any], at: At) -> bool:
    kind = _get(rec, "type")
    if kind is not None and (isinstance(kind, bool) or not isinstance(kind, (str, int))):
        raise (at / "type").fail(f"must be a ServiceType name, got {kind!r}")
    return (
        kind in (ONLINE_SERVICE_TYPE, _ONLINE_SERVICE_TYPE_NUMBER) or _get(rec, "virtual_session") is not None
    )


def service_terms(rec: Any, at: At) -> ServiceTerms:
    """One record of the services feed; raises :class:`CommerceFeedError`."""
    rec = _obj(rec, at)
    prepayment = _obj(_get(rec, "prepayment"), at / "prepayment")
    price_info = _obj(_get(prepayment, "price_info"), at / "prepayment" / "price_info")
    rules_at = at / "scheduling_rules"
    rules = _obj(_get(rec, "scheduling_rules"), rules_at)
    option_ids = _list(_get(rec, "payment_option_id"), at / "payment_option_id")
    prepay = _enum(
        _get(rec, "prepayment_type"), PREPAYMENT_TYPES, at / "prepayment_type", PREPAYMENT_TYPES[0]
    )
    card = _enum(_get(rec, "require_credit_card"), REQUIRE_CREDIT_CARD, at / "require_credit_card", "")
    return ServiceTerms(
        merchant_id=_id(_get(rec, "merchant_id"), at / "merchant_id"),
        service_id=_id(_get(rec, "service_id"), at / "service_id"),
        price=_optional_money(_get(rec, "price"), at / "price"),
        price_type=_enum(_get(price_info, "price_type"), PRICE_TYPES, at / "prepayment.price_info", FIXED),
        tax_micro_percent=_tax(rec, at),
        prepayment_required=prepay == "REQUIRED",
        deposit=_charge(_get(rec, "deposit"), at / "deposit", "deposit", "deposit_type"),
        no_show_fee=_charge(_get(rec, "no_show_fee"), at / "no_show_fee", "fee", "fee_type"),
        card_required=card == "REQUIRE_CREDIT_CARD_ALWAYS",
        payment_option_ids=tuple(_id(v, at / "payment_option_id" / i) for i, v in enumerate(option_ids)),
        online=_is_online(rec, at),
        refund_conditions=_refund_conditions(rules, rules_at),
        min_advance_online_canceling=_int(
            _get(rules, "min_advance_online_canceling"), rules_at / "min_advance_online_canceling"
        ),
    )


# ------------------------------------------------------------------------------------------ merchants


def _card_types(rec: dict[str, Any], at: At) -> tuple[str, ...]:
    restrictions = _obj(_get(rec, "payment_restrictions"), at / "payment_restrictions")
    cards_at = at / "payment_restrictions" / "credit_card_restrictions"
    cards = _get(restrictions, "credit_card_restrictions")
    if cards is None:
        return DEFAULT_CARD_TYPES
    types = _list(_get(_obj(cards, cards_at), "credit_card_type"), cards_at / "credit_card_type")
    return tuple(
        _enum("null" if t is None else t, CREDIT_CARD_TYPES, cards_at / "credit_card_type" / i, "")
        for i, t in enumerate(types)
    )


def _interval(value: Any, at: At) -> tuple[int | None, int | None]:
    rec = _obj(value, at)
    start = _int(_get(rec, "start_sec", "start"), at / "start_sec")
    end = _int(_get(rec, "end_sec", "end"), at / "end_sec")
    if start is not None and end is not None and end <= start:
        raise at.fail(f"end_sec ({end}) must be after start_sec ({start})")
    return start, end


def payment_option_terms(rec: Any, at: At) -> PaymentOptionTerms:
    """One ``payment_option`` of a merchant (a pack, a membership or a single-use pass)."""
    rec = _obj(rec, at)
    kind = _enum(
        _get(rec, "payment_option_type", "type"), PAYMENT_OPTION_TYPES, at / "payment_option_type", ""
    )
    if kind in ("", PAYMENT_OPTION_TYPES[0]):
        raise (at / "payment_option_type").fail(f"is required: one of {', '.join(PAYMENT_OPTION_TYPES[1:])}")
    count = _int(_get(rec, "session_count"), at / "session_count")
    if count is not None and count < 1:
        raise (at / "session_count").fail(f"must be at least 1, got {count}")
    restriction = _obj(_get(rec, "user_restriction", "purchase_restrictions"), at / "user_restriction")
    start, end = _interval(_get(rec, "valid_interval"), at / "valid_interval")
    return PaymentOptionTerms(
        payment_option_id=_id(_get(rec, "payment_option_id"), at / "payment_option_id"),
        type=kind,
        price=money(_get(rec, "price"), at / "price"),
        session_count=count if count is not None else 1,
        tax_micro_percent=_tax(rec, at),
        valid_duration_sec=_seconds(
            _get(rec, "valid_duration_sec", "valid_duration"), at / "valid_duration_sec"
        ),
        valid_start_sec=start,
        valid_end_sec=end,
        new_to_merchant=_bool(
            _get(restriction, "new_to_merchant"), at / "user_restriction" / "new_to_merchant"
        ),
        new_to_payment_option=_bool(
            _get(restriction, "new_to_payment_option"), at / "user_restriction" / "new_to_payment_option"
        ),
    )


def _tokenization(rec: dict[str, Any], at: At) -> dict[str, str]:
    config_at = at / "tokenization_config"
    params_at = config_at / "tokenization_parameter"
    params = _obj(
        _get(_obj(_get(rec, "tokenization_config"), config_at), "tokenization_parameter"), params_at
    )
    for key, value in params.items():
        if not isinstance(value, str):
            raise (params_at / key).fail(f"must be a string, got {type(value).__name__}")
    return dict(params)


def merchant_terms(rec: Any, at: At) -> MerchantTerms:
    """One record of the merchant feed; raises :class:`CommerceFeedError`."""
    rec = _obj(rec, at)
    options = _list(_get(rec, "payment_option"), at / "payment_option")
    parsed = tuple(payment_option_terms(o, at / "payment_option" / i) for i, o in enumerate(options))
    seen: set[str] = set()
    for i, option in enumerate(parsed):
        if option.payment_option_id in seen:
            raise (at / "payment_option" / i).fail(
                f"duplicate payment_option_id {option.payment_option_id!r}"
            )
        seen.add(option.payment_option_id)
    return MerchantTerms(
        merchant_id=_id(_get(rec, "merchant_id"), at / "merchant_id"),
        accepted_card_types=_card_types(rec, at),
        tax_micro_percent=_tax(rec, at),
        payment_options=parsed,
        tokenization_parameter=_tokenization(rec, at),
    )


# ------------------------------------------------------------------------------------------ offers


def offer_terms(rec: Any, at: At) -> OfferTerms:
    """One offer of ``offers.json`` (see the module docstring for the layout)."""
    rec = _obj(rec, at)
    services = _list(_get(rec, "service_id"), at / "service_id")
    windows = []
    for i, period in enumerate(_list(_get(rec, "validity_periods"), at / "validity_periods")):
        p_at = at / "validity_periods" / i
        start, end = _interval(period, p_at)
        if start is None or end is None:
            raise p_at.fail("needs both start_sec and end_sec")
        windows.append((start, end))
    return OfferTerms(
        offer_id=_id(_get(rec, "offer_id"), at / "offer_id"),
        merchant_id=_id(_get(rec, "merchant_id"), at / "merchant_id"),
        service_ids=tuple(_id(s, at / "service_id" / i) for i, s in enumerate(services)),
        windows=tuple(windows),
    )


# ------------------------------------------------------------------------------------------ files


def _records(path: Path, key: str) -> Iterator[tuple[Any, At]]:
    """The records under ``key`` of one file, each with where it sits; nothing when the file is absent."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CommerceFeedError(name, "", f"cannot read the file: {exc.strerror or exc}") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            doc = json.loads(raw)  # for the line and column in the message
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f"line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise CommerceFeedError(name, where, f"not valid JSON: {exc}") from None
    root = At(name, "$")
    records = _get(_obj(doc, root), key)
    if records is None:
        raise root.fail(f"has no {key!r} list")
    for i, rec in enumerate(_list(records, root / key)):
        yield rec, root / key / i


def _unique(items: Iterator[tuple[T, At]], key: Callable[[T], object], what: str) -> list[T]:
    seen: set[object] = set()
    out = []
    for item, at in items:
        k = key(item)
        if k in seen:
            raise at.fail(f"duplicate {what} {k!r}")
        seen.add(k)
        out.append(item)
    return out


def feed_directory(feed: str | Path) -> Path:
    """``--feed`` names a directory or its ``availability.json``; the money files sit beside it."""
    p = Path(feed)
    return p if p.is_dir() or not p.suffix else p.parent


def load_catalogue(feed_dir: str | Path) -> Catalogue:
    """The services, merchants and offers of a feed directory (absent files are empty parts).

    Raises :class:`CommerceFeedError` for a file that is not valid JSON, lacks its list, or has a record
    whose money fields cannot be read (the message names the file, the JSON path and the reason)."""
    d = feed_directory(feed_dir)
    services = _unique(
        ((service_terms(r, at), at) for r, at in _records(d / SERVICES_FILE, "service")),
        lambda s: (s.merchant_id, s.service_id),
        "service (merchant_id, service_id)",
    )
    merchants = _unique(
        ((merchant_terms(r, at), at) for r, at in _records(d / MERCHANTS_FILE, "merchant")),
        lambda m: m.merchant_id,
        "merchant_id",
    )
    offers = _unique(
        ((offer_terms(r, at), at) for r, at in _records(d / OFFERS_FILE, "offer")),
        lambda o: o.offer_id,
        "offer_id",
    )
    return Catalogue(services, merchants, offers)


# ------------------------------------------------------------------------------------------ payment fixtures

PAYMENT_FIXTURES_FILE = "payment-fixtures.yaml"
#: the outcomes a fixtures file may give a token for (D48, D52)
OUTCOMES = (
    "approved",
    "declined",
    "insufficient_funds",
    "processing_error",
    "requires_3ds1",
    "rejected_network",
)
#: the placeholder the harness replaces with a fresh value on every use of a token (tokens are single-use)
NONCE = "{nonce}"


@dataclass(frozen=True, slots=True)
class OwnedPaymentOption:
    """A pack or membership a test user already owns at the target (D42/D44): the harness can use it
    without buying one first."""

    user_payment_option_id: str
    user_id: str
    merchant_id: str = ""
    payment_option_id: str = ""


@dataclass(frozen=True, slots=True)
class PaymentFixtures:
    """What ``--payment-fixtures FILE`` says: a test token per payment outcome, and companions.

    File format (YAML, or JSON, which is YAML too)::

        version: 1
        tokens:                       # outcome -> token; "{nonce}" is replaced by a fresh value per use
          approved: "bookcheck:VISA:4242:{nonce}"
          declined: "tok_chargeDeclined"
        rejected_card_type: AMERICAN_EXPRESS   # required with tokens.rejected_network
        three_ds1:                    # optional: pa_response values for the 3DS1 retry (D38)
          pa_response_pass: "bookcheck-3ds1:pass"
          pa_response_fail: "bookcheck-3ds1:fail"
        user_payment_options:         # optional: packs/memberships test users own (D42/D44)
          - {user_payment_option_id: upo-1, user_id: u-1, merchant_id: m1, payment_option_id: pack-5}

    Outcomes are those of :data:`OUTCOMES`; an outcome without a token is a scenario the harness cannot run.
    """

    tokens: tuple[tuple[str, str], ...] = ()
    rejected_card_type: str = ""
    pa_response_pass: str = ""
    pa_response_fail: str = ""
    user_payment_options: tuple[OwnedPaymentOption, ...] = ()

    def outcomes(self) -> tuple[str, ...]:
        return tuple(outcome for outcome, _ in self.tokens)

    def template(self, outcome: str) -> str | None:
        """The token as written in the file (with ``{nonce}`` still in it), or ``None``."""
        return next((token for o, token in self.tokens if o == outcome), None)

    def token(self, outcome: str, nonce: str) -> str | None:
        """A token for ``outcome`` with ``{nonce}`` replaced by ``nonce``; ``None`` if the file has none."""
        template = self.template(outcome)
        return None if template is None else template.replace(NONCE, nonce)


def load_payment_fixtures(path: str | Path) -> PaymentFixtures:
    """Read a payment fixtures file; :class:`CommerceFeedError` names the file, the key and the reason."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommerceFeedError(
            name, "", f"cannot read the payment fixtures: {exc.strerror or exc}"
        ) from None
    except UnicodeDecodeError:
        raise CommerceFeedError(name, "", "not UTF-8 text") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise CommerceFeedError(
            name, where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
        ) from None
    return payment_fixtures(doc, At(name, "$"))


_FIXTURE_KEYS = frozenset({"version", "tokens", "rejected_card_type", "three_ds1", "user_payment_options"})


def payment_fixtures(doc: Any, at: At) -> PaymentFixtures:
    """The fixtures of an already-parsed document (see :class:`PaymentFixtures` for the layout)."""
    doc = _obj(doc, at)
    unknown = sorted(set(doc) - _FIXTURE_KEYS)
    if unknown:
        raise (at / str(unknown[0])).fail(f"unknown key; the keys are {', '.join(sorted(_FIXTURE_KEYS))}")
    version = doc.get("version", 1)
    if version != 1:
        raise (at / "version").fail(f"this bookcheck reads version 1, got {version!r}")
    tokens = _fixture_tokens(doc.get("tokens"), at / "tokens")
    card_type = doc.get("rejected_card_type")
    if card_type is not None:
        card_type = _enum(card_type, CREDIT_CARD_TYPES, at / "rejected_card_type", "")
    elif any(outcome == "rejected_network" for outcome, _ in tokens):
        raise (at / "rejected_card_type").fail(
            "is required with tokens.rejected_network (e.g. AMERICAN_EXPRESS)"
        )
    three_ds1 = _obj(doc.get("three_ds1"), at / "three_ds1")
    for key in three_ds1:
        if key not in ("pa_response_pass", "pa_response_fail"):
            raise (at / "three_ds1" / str(key)).fail(
                "unknown key; the keys are pa_response_pass, pa_response_fail"
            )
    owned = _list(doc.get("user_payment_options"), at / "user_payment_options")
    return PaymentFixtures(
        tokens=tokens,
        rejected_card_type=card_type or "",
        pa_response_pass=_optional_text(
            three_ds1.get("pa_response_pass"), at / "three_ds1" / "pa_response_pass"
        ),
        pa_response_fail=_optional_text(
            three_ds1.get("pa_response_fail"), at / "three_ds1" / "pa_response_fail"
        ),
        user_payment_options=tuple(
            _owned_option(o, at / "user_payment_options" / i) for i, o in enumerate(owned)
        ),
    )


def _fixture_tokens(value: Any, at: At) -> tuple[tuple[str, str], ...]:
    tokens = _obj(value, at)
    if not tokens:
        raise at.fail(f"needs at least one token; outcomes: {', '.join(OUTCOMES)}")
    out = []
    for outcome, token in tokens.items():
        if outcome not in OUTCOMES:
            raise (at / str(outcome)).fail(f"unknown outcome; the outcomes are {', '.join(OUTCOMES)}")
        if not isinstance(token, str) or not token.strip():
            raise (at / outcome).fail("must be a non-empty string (the test token)")
        out.append((outcome, token))
    return tuple(out)


def _optional_text(value: Any, at: At) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value:
        raise at.fail("must be a non-empty string")
    return value


def _owned_option(value: Any, at: At) -> OwnedPaymentOption:
    rec = _obj(value, at)
    return OwnedPaymentOption(
        user_payment_option_id=_id(rec.get("user_payment_option_id"), at / "user_payment_option_id"),
        user_id=_id(rec.get("user_id"), at / "user_id"),
        merchant_id=_optional_text(rec.get("merchant_id"), at / "merchant_id"),
        payment_option_id=_optional_text(rec.get("payment_option_id"), at / "payment_option_id"),
    )


__all__ = [
    "CommerceFeedError",
    "MERCHANTS_FILE",
    "OFFERS_FILE",
    "OUTCOMES",
    "OwnedPaymentOption",
    "PAYMENT_FIXTURES_FILE",
    "PaymentFixtures",
    "SERVICES_FILE",
    "load_catalogue",
    "load_payment_fixtures",
]
