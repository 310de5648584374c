"""Which scenarios a run allocates slots for and runs, why one is skipped, and which slots each one gets.

Slots are always allocated for the whole suite, in scenario-id order, from the seed: a run filtered with
``only`` (or one pytest-xdist worker) gets exactly the slots of the full run, whatever ``--workers`` is.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

from booking_protocol.commerce import Catalogue
from booking_protocol.feed import FeedSlot
from harness.config import RunConfig
from harness.inventory import Inventory, SlotRequirement, slot_kinds
from harness.scenario import Scenario, load_scenarios
from harness.scenario_base import PYTHON_DIFFER, PYTHON_NEEDS, PYTHON_PAY

#: what a service kind is called in a skip reason
KIND_NAMES = {
    "prepaid": "prepaid (prepayment_type REQUIRED with a price)",
    "deposit": "deposit-taking",
    "pack": "pack-paid (a MULTI_USE payment_option)",
    "online": "online (SERVICE_TYPE_ONLINE_APPOINTMENT)",
}


def select_scenarios(config: RunConfig) -> tuple[list[Scenario], list[Scenario]]:
    """(scenarios that get slots, scenarios that run). Slots are always allocated for the whole suite, so a
    run filtered with ``only`` (or one pytest-xdist worker) uses exactly the slots of the full run."""
    scenarios = (
        list(config.scenarios) if config.scenarios is not None else load_scenarios(config.scenario_files)
    )
    in_suite = [s for s in scenarios if config.suite in s.suites or config.suite == "all"]
    selected = in_suite
    if config.only:
        selected = [s for s in scenarios if any(fnmatch.fnmatchcase(s.id, p) for p in config.only)]
    if config.exclude:
        selected = [s for s in selected if not any(fnmatch.fnmatchcase(s.id, p) for p in config.exclude)]
    allocated = {s.id: s for s in in_suite + selected}
    return sorted(allocated.values(), key=lambda s: s.id), sorted(selected, key=lambda s: s.id)


def skip_reason(s: Scenario, config: RunConfig, transport: str) -> str | None:
    """Why scenario ``s`` cannot run on this target and configuration (None: it can)."""
    if transport not in s.transports:
        return f"not applicable over {transport} ({', '.join(s.transports)} only)"
    for cap in s.requires:
        if not config.profile.claims(cap):
            return config.profile.unclaimed_reason(cap)
    if s.needs_credentials and config.target.credentials is None:
        return (
            "no credentials given (--user/--password, --credentials-file, BOOKCHECK_USER/BOOKCHECK_PASSWORD)"
        )
    if s.slots and not config.feed:
        return "no availability feed given (--feed)"
    for need in PYTHON_NEEDS.get(s.python or "", ()):
        why = unmet_need(need, config)
        if why is not None:
            return why
    return None


def unmet_need(need: str, config: RunConfig) -> str | None:
    """Why a scenario's need (see :data:`harness.scenario_base.PYTHON_NEEDS`) is not met (None: it is).
    Each is a capability the partner claims by giving data or tokens, so an unmet one is "not claimed"."""
    if need == "payments":
        return config.payments.missing
    if need.startswith("token:"):
        outcome = need.partition(":")[2]
        if config.payments.has(outcome):
            return None
        return f"no '{outcome}' test token: give one in --payment-fixtures (tokens.{outcome}) to run this"
    if need == "offers":
        if config.catalogue.has_offers:
            return None
        return "no offers: offer scenarios need offers.json beside the availability feed (D49)"
    if need == "rejected-card-type":
        card = config.payments.rejected_card_type
        if not card:
            return "no rejected_network token with its rejected_card_type in --payment-fixtures"
        if f"rejects:{card}" not in service_kinds(config.catalogue):
            return f"every merchant of merchants.json accepts {card}: no card type to reject (D37)"
        return None
    kind = need.partition(":")[2]
    if kind not in service_kinds(config.catalogue):
        name = KIND_NAMES.get(kind, kind)
        return f"the services feed (services.json beside the availability feed) has no {name} service"
    return None


def service_kinds(catalogue: Catalogue) -> frozenset[str]:
    """Every money kind some service of the catalogue has (slot-level kinds such as ``offer`` aside)."""
    kinds = slot_kinds(catalogue)
    out: set[str] = set()
    for terms in catalogue.services():
        out |= kinds(FeedSlot(terms.merchant_id, terms.service_id, 0, 0, 0, 0))
    return frozenset(out)


def requirements(s: Scenario, config: RunConfig) -> tuple[SlotRequirement, ...]:
    """The scenario's slot requirements with the money kinds (and ``differ``) a Python scenario registered
    for them."""
    pay = PYTHON_PAY.get(s.python or "", {})
    differ = PYTHON_DIFFER.get(s.python or "", {})
    card = config.payments.rejected_card_type or "CREDIT_CARD_TYPE_UNSPECIFIED"
    return tuple(
        replace(
            r,
            pay=pay[r.name].replace("{rejected}", card) if r.name in pay else r.pay,
            differ=differ.get(r.name, r.differ),
        )
        for r in s.slots
    )


#: slots by name for each scenario id; None when the scenario is skipped anyway; the reason when the feed
#: has no slot that fits
Allocation = dict[str, dict[str, FeedSlot] | str | None]


def allocate(
    scenarios: list[Scenario], inventory: Inventory, config: RunConfig, transport: str
) -> Allocation:
    """Slots by name for each scenario id; None for a scenario that is skipped anyway, or the reason (a
    string) when the feed has no slot that fits."""
    out: Allocation = {}
    inventory.use_catalogue(config.catalogue)
    for s in scenarios:  # sorted by id: deterministic, independent of --workers
        if skip_reason(s, config, transport) is not None:
            out[s.id] = None
            continue
        out[s.id] = inventory.allocate(requirements(s, config), key=s.id) if s.slots else {}
    return out
