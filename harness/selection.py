"""Which scenarios a run allocates slots for and runs, why one is skipped, and which slots each one gets.

Slots are always allocated for the whole suite, in scenario-id order, from the seed: a run filtered with
``only`` (or one pytest-xdist worker) gets exactly the slots of the full run, whatever ``--workers`` is.
"""

from __future__ import annotations

import fnmatch

from booking_protocol.feed import FeedSlot
from harness.config import RunConfig
from harness.inventory import Inventory
from harness.scenario import Scenario, load_scenarios


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
    return None


#: slots by name for each scenario id; None when the scenario is skipped anyway; the reason when the feed
#: has no slot that fits
Allocation = dict[str, dict[str, FeedSlot] | str | None]


def allocate(
    scenarios: list[Scenario], inventory: Inventory, config: RunConfig, transport: str
) -> Allocation:
    """Slots by name for each scenario id; None for a scenario that is skipped anyway, or the reason (a
    string) when the feed has no slot that fits."""
    out: Allocation = {}
    for s in scenarios:  # sorted by id: deterministic, independent of --workers
        if skip_reason(s, config, transport) is not None:
            out[s.id] = None
            continue
        out[s.id] = inventory.allocate(s.slots, key=s.id) if s.slots else {}
    return out
