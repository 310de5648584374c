"""When a run could judge too little (spec §11 D29): the INCONCLUSIVE verdict and its reason.

A scenario can be left out for two kinds of reasons. Capability skips (a method the target profile does not
claim, a transport the scenario does not apply to, no credentials for a scenario that needs them) say nothing
about the run's worth and never count. *Data* skips (the feed has no usable slot for the scenario: all past,
all full, filtered out by ``--merchant``/``--service``, taken on the target, or simply too few) mean the
scenario's rules went unjudged for want of data. The run is INCONCLUSIVE, exit 4, when

* more than :data:`MAX_DATA_SKIP_SHARE` of the scenarios it could have run were skipped for want of data, or
* it selected scenarios that book slots and none of them could run,

unless it found deviations that fail it (a real finding stays a FAIL). The reason names the counts and what
the feed offered, e.g. "30 of 37 scenarios could not run for want of usable slots: 0 of 850 feed slots usable
(850 past)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.scenario import Scenario

#: share of runnable scenarios that may be skipped for want of data before the run is INCONCLUSIVE
MAX_DATA_SKIP_SHARE = 0.25


def inconclusive_reason(
    selected: Sequence[Scenario],
    data_skips: Mapping[str, str],
    capability_skips: Mapping[str, str],
    pool: str,
) -> str | None:
    """None when the run judged enough; else one line saying why not. ``data_skips`` and
    ``capability_skips`` map scenario ids to their skip reasons; ``pool`` describes the usable slots."""
    runnable = [s for s in selected if s.id not in capability_skips]
    starved = [s for s in runnable if s.id in data_skips]
    if not runnable or not starved:
        return None
    booking = [s for s in runnable if s.slots]
    none_booked = bool(booking) and all(s.id in data_skips for s in booking)
    if not none_booked and len(starved) <= MAX_DATA_SKIP_SHARE * len(runnable):
        return None
    example = data_skips[starved[0].id]
    return (
        f"{len(starved)} of {len(runnable)} scenarios could not run for want of usable slots. {pool}. "
        f"For example {starved[0].id}: {example}"
    )


__all__ = ["MAX_DATA_SKIP_SHARE", "inconclusive_reason"]
