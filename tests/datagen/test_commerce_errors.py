"""Broken money fields, offers and fixtures: ``validate-feed`` names each with its rule, and the reader
``serve``/``run`` use refuses them with one line naming the file, the JSON path and the reason (exit 2)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from bookcheck.cli import main
from booking_protocol.commercefeed import CommerceFeedError, load_catalogue, load_payment_fixtures
from booking_protocol.errors import ExitCode, UsageError
from mock_server.datagen.validate import validate_paths


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    doc = orjson.loads(path.read_bytes())
    change(doc)
    path.write_bytes(orjson.dumps(doc))


REFUND_150 = {"refund_percent": 150}
ONE_MICRO_EUR = {"price_micros": 1, "currency_code": "EUR"}
OWNED_WITHOUT_USER = "tokens: {approved: t}\nuser_payment_options: [{user_payment_option_id: u}]"


def _services(**fields: Any) -> dict[str, Any]:
    return {"service": [{"merchant_id": "m", "service_id": "s", **fields}]}


def _merchants(**fields: Any) -> dict[str, Any]:
    return {"merchant": [{"merchant_id": "m", **fields}]}


def _first(records: list[dict[str, Any]], service_id: str) -> tuple[int, dict[str, Any]]:
    return next((i, r) for i, r in enumerate(records) if r.get("service_id") == service_id)


@pytest.fixture()
def broken(feeds_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "broken"
    shutil.copytree(feeds_dir, out)
    return out


def _break_services(doc: Any) -> dict[str, str]:
    """Seed one fault per rule into the services feed; returns rule -> JSON path expected."""
    services = doc["service"]
    expected = {}
    i, hiit = _first(services, "prepaid-hiit")
    hiit["payment_option_id"].append("gold-card")
    expected["service/unknown-payment-option"] = (
        f"$.service[{i}].payment_option_id[{len(hiit['payment_option_id']) - 1}]"
    )
    i, spa_day = _first(services, "spa-day")
    del spa_day["price"]
    expected["service/prepayment-without-price"] = f"$.service[{i}].prepayment_type"
    i, balayage = _first(services, "balayage")
    balayage["deposit"]["deposit"]["currency_code"] = "usd"
    expected["service/payment-field"] = f"$.service[{i}].deposit.deposit.currency_code"
    i, tasting = _first(services, "tasting-menu")
    tasting["no_show_fee"]["fee"]["currency_code"] = (
        "XYZ" if tasting["price"]["currency_code"] != "XYZ" else "ABC"
    )
    expected["service/payment-currency"] = f"$.service[{i}].no_show_fee"
    return expected


def test_validate_feed_names_each_broken_money_field(broken: Path) -> None:
    expected: dict[str, str] = {}
    _edit(broken / "services.json", lambda doc: expected.update(_break_services(doc)))

    def break_merchants(doc: Any) -> None:
        studios = [(i, m) for i, m in enumerate(doc["merchant"]) if "payment_option" in m]
        assert len(studios) >= 2, "the first studio's services are broken otherwise"
        i, m = studios[-1]
        m["payment_option"][1]["payment_option_type"] = "PAYMENT_OPTION_FOREVER"
        expected["merchant/payment-field"] = f"$.merchant[{i}].payment_option[1].payment_option_type"

    def break_offers(doc: Any) -> None:
        doc["offer"][0]["service_id"].append("breakfast")
        expected["offer/unknown-service"] = f"$.offer[0].service_id[{len(doc['offer'][0]['service_id']) - 1}]"
        doc["offer"][1]["merchant_id"] = "dining-9999"
        expected["offer/unknown-merchant"] = "$.offer[1].merchant_id"
        doc["offer"][2]["offer_id"] = doc["offer"][0]["offer_id"]
        expected["offer/duplicate-id"] = "$.offer[2].offer_id"
        doc["offer"][3]["validity_periods"] = [{"start_sec": 100, "end_sec": 50}]
        expected["offer/field"] = "$.offer[3].validity_periods[0]"

    _edit(broken / "merchants.json", break_merchants)
    _edit(broken / "offers.json", break_offers)
    report = validate_paths([broken])
    found = {(f.rule, f.path) for f in report.findings}
    for rule, path in expected.items():
        assert (rule, path) in found, (rule, path, sorted(found))
    assert {f.rule for f in report.findings} == set(expected), report.findings
    assert [f.level for f in report.findings if f.rule == "service/payment-currency"] == ["warning"]
    assert not report.valid


def test_validate_feed_exit_code_for_a_broken_price(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def bad_price(doc: Any) -> None:
        _first(doc["service"], "prepaid-hiit")[1]["price"]["price_micros"] = -5

    _edit(broken / "services.json", bad_price)
    assert main(["validate-feed", str(broken)]) == ExitCode.DEVIATIONS
    out = capsys.readouterr().out
    assert "price_micros" in out and "INVALID" in out


@pytest.mark.parametrize(
    ("file", "doc", "where", "reason"),
    [
        ("services.json", b'{"service": [', "line 1 column", "not valid JSON"),
        ("services.json", b'{"services": []}', "$", "has no 'service' list"),
        (
            "services.json",
            _services(price={"price_micros": "1.5", "currency_code": "USD"}),
            "$.service[0].price.price_micros",
            "must be an integer",
        ),
        (
            "services.json",
            _services(require_credit_card="SOMETIMES"),
            "$.service[0].require_credit_card",
            "REQUIRE_CREDIT_CARD_ALWAYS",
        ),
        (
            "services.json",
            {"service": [{"merchant_id": "m", "service_id": "s"}, {"merchant_id": "m", "service_id": "s"}]},
            "$.service[1]",
            "duplicate service",
        ),
        (
            "services.json",
            _services(scheduling_rules={"cancellation_policy": {"refund_condition": [REFUND_150]}}),
            "$.service[0].scheduling_rules.cancellation_policy.refund_condition[0].refund_percent",
            "0 to 100",
        ),
        (
            "merchants.json",
            _merchants(payment_restrictions={"credit_card_restrictions": {"credit_card_type": ["DINERS"]}}),
            "$.merchant[0].payment_restrictions.credit_card_restrictions.credit_card_type[0]",
            "AMERICAN_EXPRESS",
        ),
        (
            "merchants.json",
            _merchants(payment_option=[{"payment_option_id": "p", "price": ONE_MICRO_EUR}]),
            "$.merchant[0].payment_option[0].payment_option_type",
            "is required",
        ),
        (
            "offers.json",
            {"offer": [{"offer_id": "o", "merchant_id": "m", "validity_periods": [{"start_sec": 10}]}]},
            "$.offer[0].validity_periods[0]",
            "needs both start_sec and end_sec",
        ),
        ("offers.json", {"offer": [{"merchant_id": "m"}]}, "$.offer[0].offer_id", "non-empty string"),
    ],
)  # fmt: skip
def test_reader_refuses_a_broken_file_with_one_clear_line(
    tmp_path: Path, file: str, doc: Any, where: str, reason: str
) -> None:
    raw = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    (tmp_path / file).write_bytes(raw)
    with pytest.raises(CommerceFeedError) as caught:
        load_catalogue(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / file}: {where}"), message
    assert reason in message and "\n" not in message
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("tokens: [unclosed", "line 1 column", "not valid YAML"),
        ("tokens: {}", "$.tokens", "at least one token"),
        ("tokens: {approve: tok_visa}", "$.tokens.approve", "unknown outcome"),
        ("tokens: {rejected_network: tok_amex}", "$.rejected_card_type", "is required"),
        ("tokens: {approved: tok_visa}\nrejected_card_type: DINERS", "$.rejected_card_type", "VISA"),
        ("tokens: {approved: 42}", "$.tokens.approved", "non-empty string"),
        ("version: 2\ntokens: {approved: tok_visa}", "$.version", "version 1"),
        ("tokens: {approved: tok_visa}\ntoken_command: x", "$.token_command", "unknown key"),
        ("tokens: {a: t}", "$.tokens.a", "unknown outcome"),
        (OWNED_WITHOUT_USER, "$.user_payment_options[0].user_id", "non-empty"),
        ("- just a list", "$", "must be an object"),
    ],
)  # fmt: skip
def test_fixtures_file_errors_name_the_key(tmp_path: Path, text: str, where: str, reason: str) -> None:
    path = tmp_path / "fixtures.yaml"
    path.write_text(text)
    with pytest.raises(CommerceFeedError) as caught:
        load_payment_fixtures(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}"), message
    assert reason in message


def test_fixtures_from_a_partner_gateway(tmp_path: Path) -> None:
    """A partner's file in JSON (YAML reads it), with fixed Stripe test tokens and no nonce."""
    path = tmp_path / "stripe.json"
    path.write_text('{"tokens": {"approved": "tok_visa", "declined": "tok_chargeDeclined"}}')
    fixtures = load_payment_fixtures(path)
    assert fixtures.token("approved", "n1") == "tok_visa" and fixtures.token("requires_3ds1", "n") is None
    assert fixtures.rejected_card_type == "" and fixtures.user_payment_options == ()


def test_missing_fixtures_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the payment fixtures"):
        load_payment_fixtures(tmp_path / "nope.yaml")


def test_generate_writes_the_payment_files(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    code = main(
        ["generate", "--merchants", "3", "--days", "7", "--start", "2030-01-07", "--out", str(out), "--quiet"]
    )
    assert code == ExitCode.OK
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "availability.json",
        "merchants.json",
        "offers.json",
        "payment-fixtures.yaml",
        "services.json",
    ]
    assert not load_catalogue(out).empty
