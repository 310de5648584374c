"""The payment options (D48) through the one run preparation: ``--allow-payments``, ``--payment-fixtures``
and ``--payment-token-command`` reach the RunConfig, and every mistake is one line with exit 2, from the
CLI as from :func:`harness.prepare.prepare`. Nothing here reaches a server (refusals come first)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bookcheck.cli import main
from booking_protocol.commercefeed import CommerceFeedError
from harness.checks import auto_checks
from harness.checks.payments import payment_budgets
from harness.errors import UsageError
from harness.paytokens import PaymentTokens, TokenUnavailable, run_token_command
from harness.prepare import RunOptions, prepare
from harness.results import Exchange, HttpMessage
from harness.target_base import Reply

NOWHERE = "http://127.0.0.1:9"
FIXTURES = """version: 1
tokens:
  approved: "tok_visa_{nonce}"
  declined: tok_chargeDeclined
rejected_card_type: AMERICAN_EXPRESS
"""


def _feed_dir(tmp_path: Path, services: str | None = None) -> Path:
    (tmp_path / "availability.json").write_text(
        '{"service_availability": [{"availability": [{"merchant_id": "m1", "service_id": "s1", '
        '"start_sec": 1906725600, "duration_sec": 3600, "spots_total": 1, "spots_open": 1}]}]}',
        encoding="utf-8",
    )
    if services is not None:
        (tmp_path / "services.json").write_text(services, encoding="utf-8")
    return tmp_path


def _options(tmp_path: Path, **kw: object) -> RunOptions:
    return RunOptions(target=NOWHERE, feed=str(_feed_dir(tmp_path)), quiet=True, **kw)  # type: ignore[arg-type]


def test_fixtures_reach_the_run_config_with_fresh_nonces(tmp_path: Path) -> None:
    fixtures = tmp_path / "f.yaml"
    fixtures.write_text(FIXTURES, encoding="utf-8")
    config = prepare(_options(tmp_path, allow_payments=True, payment_fixtures=str(fixtures)))
    assert config.payments.missing is None
    assert config.payments.has("approved") and config.payments.has("declined")
    assert not config.payments.has("requires_3ds1")
    first, second = (asyncio.run(config.payments.token("approved")) for _ in range(2))
    assert first.startswith("tok_visa_") and first != second  # single-use tokens: a new nonce per use
    assert asyncio.run(config.payments.token("declined")) == "tok_chargeDeclined"
    with pytest.raises(TokenUnavailable, match="requires_3ds1"):
        asyncio.run(config.payments.token("requires_3ds1"))


def test_prepare_loads_the_catalogue_beside_the_feed(tmp_path: Path) -> None:
    services = (
        '{"service": [{"merchant_id": "m1", "service_id": "s1", "prepayment_type": "REQUIRED", '
        '"price": {"price_micros": "20000000", "currency_code": "USD"}}]}'
    )
    feed = _feed_dir(tmp_path, services)
    config = prepare(RunOptions(target=NOWHERE, feed=str(feed / "availability.json"), quiet=True))
    terms = config.catalogue.service("m1", "s1")
    assert terms is not None and terms.prepayment_required
    assert config.payments.missing is not None and "--allow-payments" in config.payments.missing


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"payment_fixtures": "f.yaml"}, "--payment-fixtures needs --allow-payments"),
        ({"payment_token_command": "echo tok"}, "--payment-token-command needs --allow-payments"),
        (
            {"allow_payments": True, "payment_fixtures": "nope.yaml"},
            "--payment-fixtures nope.yaml: no such file",
        ),
        (
            {"allow_payments": True, "payment_token_command": "no-such-minter-xyz"},
            "'no-such-minter-xyz' is not an executable program",
        ),
    ],
)
def test_payment_option_mistakes_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kw: dict[str, object], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=message):
        prepare(_options(tmp_path, **kw))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("tokens: {approved: [1]}", "$.tokens.approved"),
        ("tokens: {stolen: tok}", "$.tokens.stolen"),
        ("tokens: {rejected_network: tok_amex}", "$.rejected_card_type"),
        ("tokens: [", "line"),
    ],
)
def test_a_malformed_fixtures_file_names_the_file_and_the_key(tmp_path: Path, text: str, where: str) -> None:
    fixtures = tmp_path / "bad.yaml"
    fixtures.write_text(text, encoding="utf-8")
    with pytest.raises(CommerceFeedError) as info:
        prepare(_options(tmp_path, allow_payments=True, payment_fixtures=str(fixtures)))
    assert str(fixtures) in str(info.value) and where in str(info.value)
    assert isinstance(info.value, UsageError)


def test_the_cli_refuses_tokens_without_allow_payments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures = tmp_path / "f.yaml"
    fixtures.write_text(FIXTURES, encoding="utf-8")
    code = main(
        [
            "run",
            "--target",
            NOWHERE,
            "--feed",
            str(_feed_dir(tmp_path)),
            "--payment-fixtures",
            str(fixtures),
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--payment-fixtures needs --allow-payments" in err and len(err.strip().splitlines()) == 1


def test_run_help_explains_the_payment_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for flag in ("--allow-payments", "--payment-fixtures", "--payment-token-command"):
        assert flag in out
    assert "never failed" in out


def test_the_token_command_prints_one_token_or_fails_with_the_reason(tmp_path: Path) -> None:
    ok = f"{sys.executable} -c \"import os; print('tok-' + os.environ['BOOKCHECK_PAYMENT_OUTCOME'])\""
    assert asyncio.run(run_token_command(ok, "approved")) == "tok-approved"
    failing = f"{sys.executable} -c \"import sys; sys.exit('gateway down')\""
    with pytest.raises(TokenUnavailable, match="gateway down"):
        asyncio.run(run_token_command(failing, "approved"))
    silent = f'{sys.executable} -c "pass"'
    with pytest.raises(TokenUnavailable, match="without printing one token"):
        asyncio.run(run_token_command(silent, "approved"))


def test_missing_says_why_payments_cannot_run() -> None:
    assert "not claimed" in (PaymentTokens().missing or "")
    assert "no test tokens" in (PaymentTokens(allowed=True).missing or "")
    assert PaymentTokens(allowed=True, command="mint").missing is None


def test_the_pytest_plugin_refuses_the_same_way(tmp_path: Path) -> None:
    """The plugin's ``--bookcheck-payment-*`` options go through the same preparation as the CLI's."""
    import os
    import subprocess

    fixtures = tmp_path / "f.yaml"
    fixtures.write_text(FIXTURES, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "harness.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            str(tmp_path / "pytest.ini"),
            "--bookcheck-target",
            NOWHERE,
            "--bookcheck-feed",
            str(_feed_dir(tmp_path)),
            "--bookcheck-payment-fixtures",
            str(fixtures),
            str(tmp_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert "--payment-fixtures needs --allow-payments" in done.stderr + done.stdout


def _reply(operation: str, elapsed_ms: float, body: dict[str, object], sent: dict[str, object]) -> Reply:
    exchange = Exchange(operation, "rest", HttpMessage(body=sent), HttpMessage(status=200), elapsed_ms)
    return Reply(exchange=exchange, status=200, body=body, raw=body, is_json=True)


TOKEN = {"payment_processing_parameters": {"unparsed_payment_method_token": "tok"}}
REFUNDED = {
    "booking": {"booking_id": "b1", "payment_information": {"prepayment_status": "PREPAYMENT_REFUNDED"}}
}


@pytest.mark.parametrize(
    ("operation", "ms", "body", "sent", "want"),
    [
        ("CreateBooking", 9_000.0, {}, TOKEN, {"payments/latency-with-payment": True}),
        ("CreateBooking", 16_000.0, {}, TOKEN, {"payments/latency-with-payment": False}),
        ("CreateBooking", 5_000.0, {}, {}, {"latency/create-booking": False}),
        ("UpdateBooking", 9_000.0, REFUNDED, {}, {"latency/update-booking": True}),
        ("UpdateBooking", 9_000.0, {"booking": {"booking_id": "b1"}}, {}, {"latency/update-booking": False}),
    ],
)
def test_paid_calls_get_the_budgets_of_d47(
    operation: str, ms: float, body: dict[str, object], sent: dict[str, object], want: dict[str, bool]
) -> None:
    """A CreateBooking with a token has 15 s (its own rule); a refunding cancel between 4 and 15 s is not
    held against the server; everything else keeps the 4 s budget."""
    reply = _reply(operation, ms, body, sent)
    verdicts = payment_budgets(auto_checks(reply, auth="default", has_credentials=False), reply, sent)
    latency = {v.rule_id: v.ok for v in verdicts if "latency" in v.rule_id}
    assert latency == want
