"""What the read and update judges need of the example's judge, as a protocol.

:mod:`harness.explore.judge` drives them and implements this; they depend on the protocol only, so the
judge's modules form no import cycle (``tests/test_import_cycles.py``)."""

from __future__ import annotations

from typing import Protocol

from harness.explore import ops as o
from harness.explore.expect import Judged
from harness.explore.model import Booked, ModelState
from harness.explore.world import World
from harness.target_base import Reply


class JudgeState(Protocol):
    """The model and world of one example, its step counter, and two judging helpers."""

    m: ModelState
    w: World
    step: int

    def move_target(self, op: o.Reschedule | o.PartySize, b: Booked) -> int | None: ...

    def expect_refusal(
        self, rule: str, causes: list[str], reply: Reply, out: Judged, *, strict: bool
    ) -> None: ...


__all__ = ["JudgeState"]
