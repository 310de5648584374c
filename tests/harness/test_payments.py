"""Payments, offers and virtual sessions in the harness (issue 15), against the reference server on 127.0.0.1.

The feed directory is what ``bookcheck generate`` writes (availability, services, merchants, offers and the
payment fixtures) on the pinned feed start, so the reference server and the harness read the same money
terms. With ``--allow-payments`` and the fixtures every payment, offer and virtual-session rule is
exercised and passes over REST and gRPC, and the rest of the suite stays clean on a feed that has paid
services (they are kept out of the scenarios that do not pay). Without ``--allow-payments`` the payment
scenarios are skipped with the reason, and the verdict is what it was.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from timebase import FEED_START, pinned_clock

from bookcheck.cli import main
from booking_protocol.commercefeed import load_catalogue, load_payment_fixtures
from booking_protocol.feed import FeedSlot, load_availability_feed
from harness.catalogue import load_rules
from harness.inventory import slot_kinds
from harness.liveslots import make_inventory
from harness.paytokens import PaymentTokens
from harness.preflight import SetupError, preflight
from harness.results import ExitCode, RunResult, Status
from harness.runner import run
from harness.selection import allocate, select_scenarios
from harness.targets import Credentials, TargetOptions, make_target
from mock_server.server import ServerConfig, serve_in_thread

from .conftest import PASSWORD, USER, make_config, reference_server  # noqa: TID252

#: the rule families of issue 15
FAMILIES = ("payments/", "offers/", "virtual/")
#: scenarios that need --allow-payments and a token source
PAYMENT_SCENARIOS = {
    "payments/prepaid-lifecycle",
    "payments/declined",
    "payments/card-type-rejected",
    "payments/3ds1",
    "payments/price-mismatch",
    "payments/pack",
    "payments/deposit",
    "payments/owned-pack",
    "payments/reschedule",
}


@pytest.fixture(scope="module")
def money_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bookcheck generate`` output: a feed directory with money, offers, online services and fixtures."""
    out = tmp_path_factory.mktemp("moneyfeed")
    code = main(
        [
            "generate",
            "--out",
            str(out),
            "--start",
            FEED_START.isoformat(),
            "--days",
            "8",
            "--seed",
            "3",
            "--quiet",
        ]
    )
    assert code == 0
    assert (out / "services.json").is_file() and (out / "payment-fixtures.yaml").is_file()
    return out


@pytest.fixture(scope="module")
def money_slots(money_feed: Path) -> list[FeedSlot]:
    return load_availability_feed(money_feed / "availability.json")


def _tokens(feed: Path, allowed: bool = True) -> PaymentTokens:
    return PaymentTokens(allowed=allowed, fixtures=load_payment_fixtures(feed / "payment-fixtures.yaml"))


def _run(url: str, feed: Path, slots: list[FeedSlot], **kw: Any) -> RunResult:
    kw.setdefault("payments", _tokens(feed))
    return run(make_config(url, slots, catalogue=load_catalogue(feed), **kw))


def _problems(result: RunResult) -> list[str]:
    return [
        f"{c.status.value} {c.rule_id} {c.scenario_id}/{c.step}: {c.message}" for c in result.deviations()
    ] + [
        f"{s.status.value} {s.scenario_id}: {s.reason}" for s in result.scenarios if s.status == Status.ERROR
    ]


def _new_rules() -> set[str]:
    return {r.id for r in load_rules() if r.id.startswith(FAMILIES) and not r.excluded}


def _passed(result: RunResult) -> set[str]:
    return {c.rule_id for c in result.checks() if c.status == Status.PASS}


def _owned(feed: Path) -> str:
    """The generated fixtures file, whose owned packs ``serve --payment-fixtures`` gives the test user."""
    return str(feed / "payment-fixtures.yaml")


@pytest.fixture(scope="module")
def rest_server(money_feed: Path) -> Iterator[Any]:
    with reference_server(money_feed, payment_fixtures=_owned(money_feed)) as server:
        yield server


def test_every_payment_offer_and_virtual_rule_passes_over_rest(
    rest_server: Any, money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    result = _run(rest_server.rest_url, money_feed, money_slots, only=("payments/*", "offers/*", "virtual/*"))
    assert _problems(result) == []
    assert result.verdict == "PASS" and result.exit_code == ExitCode.OK
    skipped = {s.scenario_id: s.reason for s in result.scenarios if s.status == Status.SKIP}
    assert skipped == {}
    assert _new_rules() - _passed(result) == set()
    # everything the payment scenarios booked was cancelled in the cleanup
    assert result.created and [c for c in result.created if not c.cleaned_up] == []


def test_every_payment_offer_and_virtual_rule_passes_over_grpc(
    money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    config = ServerConfig(
        port=0,
        feed=str(money_feed),
        user=USER,
        password=PASSWORD,
        grpc_port=0,
        clock=pinned_clock(),
        payment_fixtures=_owned(money_feed),
    )
    with serve_in_thread(config) as server:
        url = next(u for u in server.extra_urls if u.startswith("grpc"))
        result = _run(url, money_feed, money_slots, only=("payments/*", "offers/*", "virtual/*"))
    assert result.transport == "grpc"
    assert _problems(result) == []
    assert _new_rules() - _passed(result) == set()


def test_the_whole_suite_stays_clean_on_a_feed_with_paid_services(
    rest_server: Any, money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    """No false reds: on a feed whose sandbox has paid services, the default suite stays clean."""
    result = _run(rest_server.rest_url, money_feed, money_slots, seed=5)
    assert _problems(result) == []
    assert result.verdict == "PASS" and result.inconclusive is None


def test_slot_choice_keeps_scenarios_that_do_not_pay_off_paid_services(
    money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    """Every scenario without payment gets slots of services that take none; each payment scenario gets
    the kind of service it pays for."""
    catalogue = load_catalogue(money_feed)
    config = make_config("http://127.0.0.1:9", money_slots, catalogue=catalogue, payments=_tokens(money_feed))
    scenarios, _ = select_scenarios(config)
    allocation = allocate(scenarios, make_inventory(config), config, "rest")
    kinds = slot_kinds(catalogue)
    paid_services = sum(1 for s in catalogue.services() if s.takes_payment)
    assert paid_services >= 10  # the generated sandbox has paid services to avoid
    wanted = {
        "payments/prepaid-lifecycle": "prepaid",
        "payments/pack": "pack",
        "payments/card-type-rejected": "rejects:AMERICAN_EXPRESS",
        "offers/offer-flow": "offer",
        "virtual/session": "online",
    }
    for scenario_id, slots in allocation.items():
        assert isinstance(slots, dict), (scenario_id, slots)
        for name, slot in slots.items():
            if scenario_id in wanted and name == "a":
                assert wanted[scenario_id] in kinds(slot), (scenario_id, kinds(slot))
            elif scenario_id not in PAYMENT_SCENARIOS and scenario_id not in wanted:
                assert "paid" not in kinds(slot), (scenario_id, name, slot)
    pack = allocation["payments/pack"]
    assert isinstance(pack, dict)
    a, b = pack["a"], pack["b"]  # one user holds both: same service, a day apart (no OVERLAPPING_RESERVATION)
    assert (a.merchant_id, a.service_id) == (b.merchant_id, b.service_id)
    assert abs(a.start_sec - b.start_sec) >= 24 * 3600


def test_without_allow_payments_payment_scenarios_are_skipped_and_the_verdict_is_unchanged(
    rest_server: Any, money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    without = _run(rest_server.rest_url, money_feed, money_slots, payments=PaymentTokens())
    skipped = {s.scenario_id: s.reason or "" for s in without.scenarios if s.status == Status.SKIP}
    assert set(skipped) == PAYMENT_SCENARIOS
    assert all("--allow-payments" in why and "not claimed" in why for why in skipped.values())
    assert without.verdict == "PASS" and without.inconclusive is None and without.exit_code == ExitCode.OK
    assert not any(c.rule_id.startswith("payments/") for c in without.checks() if c.status == Status.FAIL)


def test_allowed_without_tokens_skips_with_the_reason(
    rest_server: Any, money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    result = _run(
        rest_server.rest_url,
        money_feed,
        money_slots,
        payments=PaymentTokens(allowed=True),
        only=("payments/*",),
    )
    reasons = {s.reason for s in result.scenarios}
    assert [s.status for s in result.scenarios] == [Status.SKIP] * len(PAYMENT_SCENARIOS)
    assert reasons == {PaymentTokens(allowed=True).missing}
    assert result.verdict == "PASS" and result.inconclusive is None


def test_3ds1_retry_without_a_pa_response_fixture_is_skipped_never_failed(
    rest_server: Any, money_feed: Path, money_slots: list[FeedSlot], tmp_path: Path
) -> None:
    doc = yaml.safe_load((money_feed / "payment-fixtures.yaml").read_text(encoding="utf-8"))
    del doc["three_ds1"]
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text(yaml.safe_dump(doc), encoding="utf-8")
    tokens = PaymentTokens(allowed=True, fixtures=load_payment_fixtures(fixtures))
    result = _run(rest_server.rest_url, money_feed, money_slots, payments=tokens, only=("payments/3ds1",))
    (sr,) = result.scenarios
    assert sr.status == Status.SKIP and "pa_response" in (sr.reason or "")
    assert {c.rule_id: c.status for c in sr.checks}["payments/3ds1-parameters"] == Status.PASS
    assert result.verdict == "PASS"


def test_a_token_command_supplies_the_approving_tokens(
    rest_server: Any, money_feed: Path, money_slots: list[FeedSlot], tmp_path: Path
) -> None:
    """--payment-token-command is run once per approving token; each is fresh (single-use tokens)."""
    script = tmp_path / "mint.py"
    log = tmp_path / "minted.txt"
    script.write_text(
        "import os, secrets\n"
        f"open({str(log)!r}, 'a').write(os.environ['BOOKCHECK_PAYMENT_OUTCOME'] + '\\n')\n"
        "print('bookcheck:VISA:4242:' + secrets.token_hex(4))\n",
        encoding="utf-8",
    )
    import sys

    tokens = PaymentTokens(allowed=True, command=f"{sys.executable} {script}")
    result = _run(
        rest_server.rest_url, money_feed, money_slots, payments=tokens, only=("payments/prepaid-lifecycle",)
    )
    assert _problems(result) == []
    assert [s.status for s in result.scenarios] == [Status.PASS]
    assert log.read_text(encoding="utf-8").split() == ["approved"]
    # outcomes other than "approved" never come from the command: without fixtures they are not claimed
    declined = _run(
        rest_server.rest_url, money_feed, money_slots, payments=tokens, only=("payments/declined",)
    )
    assert declined.scenarios[0].status == Status.SKIP and "declined" in (declined.scenarios[0].reason or "")


def test_bookcheck_rules_lists_the_new_rules_as_observable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    for rule in _new_rules():
        assert rule in lines and "(excluded:" not in lines[rule], rule
    assert len(_new_rules()) >= 20
    for old in ("create-booking/payments", "update-booking/payment-credit", "create-booking/offer-info"):
        assert old not in lines


def test_the_preflight_probe_books_only_a_slot_that_takes_no_payment(
    rest_server: Any, money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    """When the availability method says no open slot is available, the preflight books one to tell a
    wrong method from a wrong feed: never on a paid service (no token, no charge), even when the sample
    it asked about holds only paid slots. Unknown start times make the reference server say "unavailable"
    to every slot, so the probe is always asked for."""
    catalogue = load_catalogue(money_feed)
    kinds = slot_kinds(catalogue)
    paid = [dataclasses.replace(s, start_sec=s.start_sec + 60) for s in money_slots if "paid" in kinds(s)]
    free = next(dataclasses.replace(s, start_sec=s.start_sec + 60) for s in money_slots if not kinds(s))
    probed: list[FeedSlot] = []

    async def book(slot: FeedSlot) -> bool:
        probed.append(slot)
        return False

    async def go(feed: list[FeedSlot], with_catalogue: bool) -> None:
        target = make_target(TargetOptions(url=rest_server.rest_url, credentials=Credentials(USER, PASSWORD)))
        try:
            await preflight(
                target,
                has_credentials=True,
                feed=feed,
                book=book,
                catalogue=catalogue if with_catalogue else None,
            )
        finally:
            await target.close()

    for feed in (paid[:40] + [free], [free] + paid[:40]):
        with pytest.raises(SetupError):
            asyncio.run(go(feed, with_catalogue=True))
        assert probed.pop() == free
    with pytest.raises(SetupError):
        asyncio.run(go(paid[:40], with_catalogue=True))  # nothing free: no probe, the feed is judged as is
    assert probed == []
    with pytest.raises(SetupError):
        asyncio.run(go(paid[:40], with_catalogue=False))  # the old way would have booked a paid slot
    assert probed and "paid" in kinds(dataclasses.replace(probed[0], start_sec=probed[0].start_sec - 60))


def test_owned_pack_is_skipped_without_an_owned_pack_or_when_the_target_refuses_it(
    money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    """Never cry wolf: fixtures without user_payment_options do not claim owned packs, and a listed pack the
    target refuses on its first use (here: a server not given the fixtures) is stale data, not a deviation."""
    only = ("payments/owned-pack",)
    bare = _tokens(money_feed)
    assert bare.fixtures is not None
    without = dataclasses.replace(bare, fixtures=dataclasses.replace(bare.fixtures, user_payment_options=()))
    with reference_server(money_feed) as server:
        unclaimed = _run(server.rest_url, money_feed, money_slots, payments=without, only=only)
        refused = _run(server.rest_url, money_feed, money_slots, only=only)
    for result, said in ((unclaimed, "owned packs not claimed"), (refused, "refused the owned pack")):
        (scenario,) = result.scenarios
        assert scenario.status == Status.SKIP and said in (scenario.reason or ""), scenario.reason
        assert _problems(result) == [] and result.exit_code == ExitCode.OK


def test_a_server_refunding_nothing_where_its_feed_grants_a_refund_fails_refund_status(
    money_feed: Path, money_slots: list[FeedSlot]
) -> None:
    """D40 against the feed: ``serve --refund-policy none`` keeps PREPAYMENT_PROVIDED after a cancel days
    before the class, where the generated services feed grants a full refund: a deviation, not info."""
    with reference_server(money_feed, refund_policy="none") as server:
        result = _run(server.rest_url, money_feed, money_slots, only=("payments/prepaid-lifecycle",))
    failed = {(c.rule_id, c.step) for c in result.deviations()}
    assert failed == {("payments/refund-status", "cancel")}, _problems(result)
    (verdict,) = [c for c in result.checks() if c.rule_id == "payments/refund-status"]
    assert "grants a refund" in (verdict.actual or "")
